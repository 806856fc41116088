package feeds

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// nativeRowGroupRows is the row group size WriteParquet uses. DuckDB keeps a file's whole
// footer while it reads the file, ~17 KB per row group of the 16 native columns (a file of 1,049
// row groups of 1,000 rows scanned with 18 MiB more RSS than the same rows in 8): a 100 M-quote
// file holds 95 row groups of this size (1.6 MiB of footer) instead of 760 of 131,072 rows
// (13 MiB), and reads no slower. nativeBatchRows is the rows the writer builds in Arrow before
// adding them to the row group being buffered (its encoded pages stay in memory until the row
// group is complete: ~30 MB).
const (
	nativeRowGroupRows = 1 << 20
	nativeBatchRows    = 1 << 16
)

// NativeSchema is the Parquet layout of the "native" preset, the one WriteParquet writes. One
// row per quote, in non-decreasing time:
//
//	time              timestamp[µs, UTC]  quote time
//	contract          uint32              index into the footer's contract table (below)
//	underlying        string              e.g. SPY
//	symbol            string              OCC symbol, no padding
//	expiry            timestamp[µs, UTC]  16:00 America/New_York of the expiry day
//	strike            double
//	right             string              "C" or "P"
//	multiplier        double
//	bid, ask, underlying_price, iv, delta, gamma, vega, theta   double (Quote units)
//
// The footer's key-value metadata holds, under NativeContractsKey, the contract table as a JSON
// array indexed by the contract column (NativeContract), gzip-compressed and base64-encoded
// (every reader of the file, DuckDB too, parses the whole footer, and a table of 30,000
// contracts is 3.7 MB of JSON, 0.24 MB so encoded). Readers of this package use it to skip
// the string columns (what makes reading fast); other tools read the string columns. Files
// written before hold the plain JSON under nativeContractsKeyV1, which is still read.
func NativeSchema() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	f64 := arrow.PrimitiveTypes.Float64
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		{Name: "time", Type: ts},
		{Name: "contract", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "underlying", Type: str},
		{Name: "symbol", Type: str},
		{Name: "expiry", Type: ts},
		{Name: "strike", Type: f64},
		{Name: "right", Type: str},
		{Name: "multiplier", Type: f64},
		{Name: "bid", Type: f64},
		{Name: "ask", Type: f64},
		{Name: "underlying_price", Type: f64},
		{Name: "iv", Type: f64},
		{Name: "delta", Type: f64},
		{Name: "gamma", Type: f64},
		{Name: "vega", Type: f64},
		{Name: "theta", Type: f64},
	}, nil)
}

// WriteParquet drains src into a Parquet file in the native layout (snappy, dictionary-encoded
// strings, INT64 µs UTC timestamps) and returns the number of quotes written. The file is
// written beside path and renamed into place only when complete; on error nothing is left at
// path. Reading the file back with preset "native" gives the same quotes and contract IDs.
func WriteParquet(ctx context.Context, src Source, path string) (n int64, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	props := nativeProps(true, nativeRowGroupRows)
	schema := NativeSchema()
	fw, err := pqarrow.NewFileWriter(schema, tmp, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		return 0, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	w := &nativeWriter{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, schema)}
	defer w.rb.Release()
	var last int64
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fw.Close()
			return n, fmt.Errorf("feeds: write %s: %w", path, err)
		}
		cs := src.Contracts()
		for i := range b.Quotes {
			if n > 0 && b.Quotes[i].Time < last {
				fw.Close()
				return n, fmt.Errorf("feeds: write %s: quote %d is earlier than the one before: the source is not in time order", path, n+1)
			}
			last = b.Quotes[i].Time
			w.append(&b.Quotes[i], cs.Get(b.Quotes[i].Contract))
			n++
			if w.rows == nativeBatchRows {
				if err := w.flush(); err != nil {
					fw.Close()
					return n, fmt.Errorf("feeds: write %s: %w", path, err)
				}
			}
		}
	}
	if err := w.flush(); err != nil {
		fw.Close()
		return n, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	table, err := encodeContractTable(w.table)
	if err == nil {
		err = fw.AppendKeyValueMetadata(NativeContractsKey, table)
	}
	if err != nil {
		fw.Close()
		return n, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	if err := fw.Close(); err != nil { // closes tmp too
		return n, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, fmt.Errorf("feeds: write %s: %w", path, err)
	}
	return n, nil
}

// nativeProps are a native file's writer settings. declareSorted: every
// row group declares its rows sorted by time (column 0), so a reader needs
// no scan to know the file's order (footer.go); WriteParquet refuses a
// source that is not in time order. rowGroup: rows per row group.
func nativeProps(declareSorted bool, rowGroup int64) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("contract", true),
		parquet.WithDictionaryFor("underlying", true),
		parquet.WithDictionaryFor("symbol", true),
		parquet.WithDictionaryFor("right", true),
		parquet.WithDictionaryFor("expiry", true),
		parquet.WithDictionaryFor("strike", true),
		parquet.WithDictionaryFor("multiplier", true),
		parquet.WithMaxRowGroupLength(rowGroup),
		parquet.WithCreatedBy("github.com/optionsrisk/backtest/feeds"),
	}
	if declareSorted {
		opts = append(opts, parquet.WithSortingColumns([]parquet.SortingColumn{{ColumnIdx: 0}}))
	}
	return parquet.NewWriterProperties(opts...)
}

// NativeContractsKey is the footer metadata key of the contract table of a native file:
// base64(gzip(JSON array of NativeContract)).
const NativeContractsKey = "feeds.contracts.v2"

// nativeContractsKeyV1 is the key of the plain JSON table of files written before v2.
const nativeContractsKeyV1 = "feeds.contracts.v1"

// encodeContractTable is the footer value of a contract table (NativeContractsKey).
func encodeContractTable(table []NativeContract) (string, error) {
	if table == nil {
		table = []NativeContract{} // [], not null
	}
	var b strings.Builder
	b64 := base64.NewEncoder(base64.StdEncoding, &b)
	gz, _ := gzip.NewWriterLevel(b64, gzip.DefaultCompression) // a valid level: no error
	if err := json.NewEncoder(gz).Encode(table); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	if err := b64.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// decodeContractTable reads a footer's contract table, v2 (encodeContractTable) or v1
// (plain JSON).
func decodeContractTable(raw string, v1 bool) ([]NativeContract, error) {
	var table []NativeContract
	err := eachContract(raw, v1, func(nc *NativeContract) { table = append(table, *nc) })
	return table, err
}

// eachContract calls f with each entry of a footer's contract table, in
// order, without holding the whole table.
func eachContract(raw string, v1 bool, f func(*NativeContract)) error {
	var r io.Reader = strings.NewReader(raw)
	if !v1 {
		gz, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, r))
		if err != nil {
			return err
		}
		r = gz
	}
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err == nil && tok == nil { // null: a file without rows written before v2
		if _, err := dec.Token(); err != io.EOF {
			return errors.New("data after the table")
		}
		return nil
	}
	if err != nil || tok != json.Delim('[') {
		return fmt.Errorf("want a JSON array (%v)", err)
	}
	for dec.More() {
		var nc NativeContract
		if err := dec.Decode(&nc); err != nil {
			return err
		}
		f(&nc)
	}
	if _, err := dec.Token(); err != nil { // ]
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the table")
	}
	return nil
}

// NativeContract is one entry of the footer's contract table.
type NativeContract struct {
	Symbol     string  `json:"symbol"`
	Underlying string  `json:"underlying"`
	ExpiryUS   int64   `json:"expiry_us"`
	Strike     float64 `json:"strike"`
	Right      string  `json:"right"`
	Multiplier float64 `json:"multiplier"`
}

type nativeWriter struct {
	fw    *pqarrow.FileWriter
	rb    *array.RecordBuilder
	rows  int
	local []ContractID // source ID → file index (noContract = not yet)
	table []NativeContract
}

func (w *nativeWriter) append(q *Quote, c *Contract) {
	if c == nil {
		panic("feeds: source returned a quote for a contract it has not interned")
	}
	f := w.rb.Fields()
	for int(q.Contract) >= len(w.local) {
		w.local = append(w.local, noContract)
	}
	li := w.local[q.Contract]
	if li == noContract {
		li = ContractID(len(w.table))
		w.local[q.Contract] = li
		w.table = append(w.table, NativeContract{Symbol: c.Symbol, Underlying: c.Underlying, ExpiryUS: c.Expiry.UnixMicro(),
			Strike: c.Strike, Right: c.Right.String(), Multiplier: c.Multiplier})
	}
	f[0].(*array.TimestampBuilder).Append(arrow.Timestamp(q.Time))
	f[1].(*array.Uint32Builder).Append(uint32(li))
	f[2].(*array.StringBuilder).Append(c.Underlying)
	f[3].(*array.StringBuilder).Append(c.Symbol)
	f[4].(*array.TimestampBuilder).Append(arrow.Timestamp(c.Expiry.UnixMicro()))
	f[5].(*array.Float64Builder).Append(c.Strike)
	f[6].(*array.StringBuilder).Append(c.Right.String())
	f[7].(*array.Float64Builder).Append(c.Multiplier)
	for j, v := range [...]float64{q.Bid, q.Ask, q.UnderlyingPrice, q.IV, q.Delta, q.Gamma, q.Vega, q.Theta} {
		f[8+j].(*array.Float64Builder).Append(v)
	}
	w.rows++
}

func (w *nativeWriter) flush() error {
	if w.rows == 0 {
		return nil
	}
	rec := w.rb.NewRecordBatch()
	defer rec.Release()
	w.rows = 0
	return w.fw.WriteBuffered(rec)
}
