package feeds

import (
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// toParquet writes csvPath's rows to a Parquet file: typed (DuckDB's detected types) or every
// column as text.
func toParquet(t *testing.T, csvPath, pqPath string, typed bool) {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	opt := ", all_varchar=true"
	if typed {
		opt = ""
	}
	q := fmt.Sprintf("COPY (SELECT * FROM read_csv('%s', header=true%s)) TO '%s' (FORMAT parquet)", csvPath, opt, pqPath)
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, cfg FileConfig, dq DataQuality) Source {
	t.Helper()
	src, err := OpenFile(context.Background(), cfg, dq, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

const dnHeader = "underlying,underlying_last, exchange,optionroot,optionext,type,expiration,quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,optionalias\n"

// dnSample is a DeltaNeutral end-of-day sample priced by Black-Scholes (r = q = 0): its
// greeks in the vendor's units (vega per 1.00 of vol, theta per year).
type dnRow struct {
	root, right, exp, date string
	S, K, sigma            float64
}

func (r dnRow) T() float64 {
	e, _ := time.Parse("01/02/2006", r.exp)
	d, _ := time.Parse("01/02/2006", r.date)
	// Both stamped 16:00 New York: across a DST change the span is an hour off whole days.
	return ExpiryAt(e.Date()).Sub(ExpiryAt(d.Date())).Hours() / 24 / 365
}

func (r dnRow) greeks() Greeks {
	p := BlackScholes(r.S, r.K, 0, 0, r.sigma, r.T())
	if r.right == "put" {
		return p.Put
	}
	return p.Call
}

func (r dnRow) line() string {
	g := r.greeks()
	return fmt.Sprintf("SPX,%v,*,%s,,%s,%s,%s,%v,%.4f,%.6f,%.6f,10,100,%v,%.6f,%.8f,%.6f,%.6f,x\n",
		r.S, r.root, r.right, r.exp, r.date, r.K, g.Price, g.Price-0.05, g.Price+0.05, r.sigma, g.Delta, g.Gamma, g.Theta, g.Vega)
}

var dnRows = []dnRow{
	{"SPXW", "put", "03/20/2020", "03/06/2020", 2972.37, 2800, 0.45}, // before the DST change
	{"SPXW", "call", "03/20/2020", "03/06/2020", 2972.37, 3100, 0.35},
	{"SPX", "put", "03/20/2020", "03/09/2020", 2746.56, 2700, 0.60}, // after; third Friday: AM
	{"SPXW", "put", "03/20/2020", "03/09/2020", 2746.56, 2700, 0.60},
	{"SPX", "call", "04/14/2022", "04/08/2022", 4488.28, 4500, 0.20}, // Good Friday 04/15: Thursday monthly, AM
	{"SPX", "call", "04/13/2022", "04/08/2022", 4488.28, 4500, 0.20}, // a Wednesday SPX: PM
}

// deltaneutral: CSV and Parquet (text and typed columns) give the same quotes; times are
// 16:00 New York across the DST change; units are converted; roots map to SPX; SPX
// third-Friday options (and the Thursday before Good Friday) settle AM.
func TestPresetDeltaNeutral(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(dnHeader)
	for _, r := range dnRows {
		b.WriteString(r.line())
	}
	csvPath := writeFile(t, filepath.Join(dir, "dn.csv"), b.String())
	toParquet(t, csvPath, filepath.Join(dir, "dn_text.parquet"), false)
	toParquet(t, csvPath, filepath.Join(dir, "dn_typed.parquet"), true)
	wantTimes := []time.Time{
		time.Date(2020, 3, 6, 21, 0, 0, 0, time.UTC), time.Date(2020, 3, 6, 21, 0, 0, 0, time.UTC), // EST
		time.Date(2020, 3, 9, 20, 0, 0, 0, time.UTC), time.Date(2020, 3, 9, 20, 0, 0, 0, time.UTC), // EDT
		time.Date(2022, 4, 8, 20, 0, 0, 0, time.UTC), time.Date(2022, 4, 8, 20, 0, 0, 0, time.UTC),
	}
	wantSettle := []Settlement{SettlePM, SettlePM, SettleAM, SettlePM, SettleAM, SettlePM}
	wantRoot := []string{"SPXW", "SPXW", "SPX", "SPXW", "SPX", "SPX"}
	// Quotes come in canonical order (Canonical: time, then symbol): the row of each quote.
	rowOf := []int{1, 0, 2, 3, 5, 4}
	for _, name := range []string{"dn.csv", "dn_text.parquet", "dn_typed.parquet"} {
		t.Run(name, func(t *testing.T) {
			src := open(t, FileConfig{Path: filepath.Join(dir, name), Preset: PresetDeltaNeutral}, Reject)
			qs := drain(t, src)
			if len(qs) != len(dnRows) {
				t.Fatalf("%d quotes, want %d", len(qs), len(dnRows))
			}
			for k, q := range qs {
				i := rowOf[k]
				r, c := dnRows[i], src.Contracts().Get(q.Contract)
				if got := MicrosTime(q.Time); !got.Equal(wantTimes[i]) {
					t.Errorf("row %d: time %v, want %v", i, got, wantTimes[i])
				}
				if c.Underlying != "SPX" || c.Root != wantRoot[i] || c.Settlement != wantSettle[i] {
					t.Errorf("row %d: underlying %s root %s settlement %s, want SPX %s %s", i, c.Underlying, c.Root, c.Settlement, wantRoot[i], wantSettle[i])
				}
				g := r.greeks()
				near := func(name string, got, want float64) {
					if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Errorf("row %d %s: %v, want %v", i, name, got, want)
					}
				}
				near("vega per vol point", q.Vega, g.Vega/100)
				near("theta per day", q.Theta, g.Theta/365)
				near("delta", q.Delta, g.Delta)
				near("mid", q.Mid(), g.Price)
			}
		})
	}
	// Greeks computed from the mids match the vendor's, converted.
	src := open(t, FileConfig{Path: csvPath, Preset: PresetDeltaNeutral, Greeks: GreeksCompute}, Reject)
	for k, q := range drain(t, src) {
		i := rowOf[k]
		g := dnRows[i].greeks()
		if math.Abs(q.IV-dnRows[i].sigma) > 1e-4 || math.Abs(q.Delta-g.Delta) > 1e-4 || math.Abs(q.Vega-g.Vega/100) > 1e-3 || math.Abs(q.Theta-g.Theta/365) > 1e-3 {
			t.Errorf("row %d computed: iv %v delta %v vega %v theta %v; want %v %v %v %v", i, q.IV, q.Delta, q.Vega, q.Theta, dnRows[i].sigma, g.Delta, g.Vega/100, g.Theta/365)
		}
	}
	// Units overridden: the file's values are taken as they are.
	src = open(t, FileConfig{Path: csvPath, Preset: PresetDeltaNeutral, VegaUnit: "point", ThetaUnit: "day"}, Reject)
	for k, q := range drain(t, src) {
		i := rowOf[k]
		g := dnRows[i].greeks()
		if math.Abs(q.Vega-g.Vega) > 1e-4*g.Vega || math.Abs(q.Theta-g.Theta) > 1e-4*math.Abs(g.Theta) {
			t.Errorf("row %d with units as given: vega %v theta %v, want %v %v", i, q.Vega, q.Theta, g.Vega, g.Theta)
		}
	}
	// The settlement override.
	src = open(t, FileConfig{Path: csvPath, Preset: PresetDeltaNeutral, Settlement: map[string]string{"SPX": "PM"}}, Reject)
	for _, q := range drain(t, src) {
		if c := src.Contracts().Get(q.Contract); c.Settlement != SettlePM {
			t.Errorf("%s: settlement %s with the override", c.Symbol, c.Settlement)
		}
	}
}

const cboeHeader = "underlying_symbol,quote_datetime,root,expiration,strike,option_type,open,high,low,close,trade_volume,bid_size,bid,ask_size,ask,underlying_bid,underlying_ask,implied_underlying_price,active_underlying_price,implied_volatility,delta,gamma,theta,vega,rho,open_interest\n"

// cboe: New York wall clock across the DST change, ^SPX, SPXW → SPX, greeks as given; the
// plain quotes product (no greek columns, no active price) gets the underlying mid and
// computed greeks. CSV and Parquet alike.
func TestPresetCboe(t *testing.T) {
	dir := t.TempDir()
	rows := []string{
		"^SPX,2020-03-06 09:31:00,SPXW,2020-03-20,2800.000,P,1,1,1,1,0,10,40.10,10,40.90,2960.00,2961.00,2960.40,2960.50,0.4510,-0.2012,0.0007,-2.1000,1.8000,-0.3,100\n",
		"^SPX,2020-03-09 09:31:00,SPXW,2020-03-20,2800.000,P,1,1,1,1,0,10,60.10,10,60.90,2760.00,2761.00,2760.40,2760.50,0.6010,-0.3912,0.0009,-3.1000,1.9000,-0.3,100\n",
		"^SPX,2020-03-09 09:32:00,SPX,2020-03-20,2800.000,C,1,1,1,1,0,10,50.10,10,50.90,2760.00,2761.00,2760.40,2760.50,0.6010,0.4512,0.0009,-3.1000,1.9000,0.3,100\n",
	}
	csvPath := writeFile(t, filepath.Join(dir, "cboe.csv"), cboeHeader+strings.Join(rows, ""))
	toParquet(t, csvPath, filepath.Join(dir, "cboe.parquet"), true)
	wantTimes := []time.Time{time.Date(2020, 3, 6, 14, 31, 0, 0, time.UTC), time.Date(2020, 3, 9, 13, 31, 0, 0, time.UTC), time.Date(2020, 3, 9, 13, 32, 0, 0, time.UTC)}
	for _, name := range []string{"cboe.csv", "cboe.parquet"} {
		src := open(t, FileConfig{Path: filepath.Join(dir, name), Preset: PresetCboe}, Reject)
		qs := drain(t, src)
		if len(qs) != 3 {
			t.Fatalf("%s: %d quotes", name, len(qs))
		}
		for i, q := range qs {
			c := src.Contracts().Get(q.Contract)
			if !MicrosTime(q.Time).Equal(wantTimes[i]) || c.Underlying != "SPX" {
				t.Errorf("%s row %d: %v %s", name, i, MicrosTime(q.Time), c.Underlying)
			}
			if !c.Expiry.Equal(time.Date(2020, 3, 20, 20, 0, 0, 0, time.UTC)) {
				t.Errorf("%s row %d: expiry %v", name, i, c.Expiry)
			}
		}
		if qs[0].UnderlyingPrice != 2960.5 || qs[0].Vega != 1.8 || qs[0].Theta != -2.1 || qs[0].Delta != -0.2012 {
			t.Errorf("%s: first quote %+v", name, qs[0])
		}
		if c := src.Contracts().Get(qs[0].Contract); c.Symbol != "SPXW200320P02800000" || c.Settlement != SettlePM {
			t.Errorf("%s: %+v", name, c)
		}
		if c := src.Contracts().Get(qs[2].Contract); c.Symbol != "SPX200320C02800000" || c.Settlement != SettleAM {
			t.Errorf("%s: %+v", name, c)
		}
	}
	// Without the calcs columns.
	plain := "underlying_symbol,quote_datetime,root,expiration,strike,option_type,open,high,low,close,trade_volume,bid_size,bid,ask_size,ask,underlying_bid,underlying_ask\n" +
		"^SPX,2020-03-09 09:31:00,SPXW,2020-03-20,2800.000,P,1,1,1,1,0,10,60.10,10,60.90,2760.00,2761.00\n"
	p := writeFile(t, filepath.Join(dir, "plain.csv"), plain)
	src := open(t, FileConfig{Path: p, Preset: PresetCboe}, Reject)
	qs := drain(t, src)
	if len(qs) != 1 || qs[0].UnderlyingPrice != 2760.5 || !(qs[0].IV > 0.1 && qs[0].IV < 2) || !(qs[0].Delta < 0 && qs[0].Delta > -1) {
		t.Fatalf("plain quotes: %+v", qs)
	}
	c := src.Contracts().Get(qs[0].Contract)
	T := float64(c.Expiry.UnixMicro()-qs[0].Time) / 1e6 / (365 * 86400)
	g := BlackScholes(2760.5, 2800, 0, 0, qs[0].IV, T).Put
	if math.Abs(g.Price-60.5) > 1e-6 || math.Abs(qs[0].Delta-g.Delta) > 1e-9 || math.Abs(qs[0].Vega-g.Vega/100) > 1e-9 {
		t.Errorf("computed greeks %+v vs Black-Scholes %+v", qs[0], g)
	}
}

// occ-quotes: O:-prefixed tickers, nanosecond and ISO times, the underlying from a price file
// (intraday) or daily bars.
func TestPresetOCCQuotes(t *testing.T) {
	dir := t.TempDir()
	ns := func(tm time.Time) string { return fmt.Sprint(tm.UnixNano()) }
	t1 := time.Date(2020, 2, 3, 14, 31, 0, 0, time.UTC)
	t2 := time.Date(2020, 2, 3, 15, 0, 0, 0, time.UTC)
	body := "ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,sequence_number,sip_timestamp\n" +
		"O:SPY200221P00300000,1,2.45,10,1,2.40,12,1," + ns(t1) + "\n" +
		"SPY200221C00330000,1,3.10,10,1,3.00,12,2," + ns(t2) + "\n"
	p := writeFile(t, filepath.Join(dir, "q.csv"), body)
	und := writeFile(t, filepath.Join(dir, "spy.csv"), "time,price\n2020-02-03 09:30:00,323.00\n2020-02-03 09:45:00,324.10\n2020-02-03T10:00:00-05:00,324.50\n")
	if _, err := OpenFile(context.Background(), FileConfig{Path: p, Preset: PresetOCCQuotes}, Reject, nil); err == nil || !strings.Contains(err.Error(), "underlying_prices") {
		t.Fatalf("occ-quotes without an underlying: %v", err)
	}
	src := open(t, FileConfig{Path: p, Preset: PresetOCCQuotes, UnderlyingPrices: &UnderlyingPrices{Path: und}}, Reject)
	qs := drain(t, src)
	if len(qs) != 2 || !MicrosTime(qs[0].Time).Equal(t1) || !MicrosTime(qs[1].Time).Equal(t2) {
		t.Fatalf("quotes %+v", qs)
	}
	if qs[0].UnderlyingPrice != 323.00 || qs[1].UnderlyingPrice != 324.50 {
		t.Errorf("underlying %v %v, want 323 (09:31) and 324.5 (10:00)", qs[0].UnderlyingPrice, qs[1].UnderlyingPrice)
	}
	if c := src.Contracts().Get(qs[0].Contract); c.Symbol != "SPY200221P00300000" || c.Underlying != "SPY" || c.Strike != 300 {
		t.Errorf("contract %+v", c)
	}
	if qs[0].IV <= 0 || qs[0].Delta >= 0 || qs[1].Delta <= 0 {
		t.Errorf("computed greeks missing: %+v", qs)
	}
	// The same as Parquet, the nanosecond time typed BIGINT.
	pq := filepath.Join(dir, "q.parquet")
	toParquet(t, p, pq, true)
	src = open(t, FileConfig{Path: pq, Preset: PresetOCCQuotes, UnderlyingPrices: &UnderlyingPrices{Path: und}}, Reject)
	if pqs := drain(t, src); len(pqs) != 2 || pqs[0] != qs[0] || pqs[1] != qs[1] {
		t.Errorf("Parquet: %+v, want %+v", pqs, qs)
	}
	// Daily bars: the open from 09:30, the close from 16:00 New York.
	bars := writeFile(t, filepath.Join(dir, "bars.csv"), "date,open,high,low,close,volume\n2020-01-31,327.00,328,320,321.73,1\n2020-02-03,323.35,326,323,324.12,1\n")
	src = open(t, FileConfig{Path: p, Preset: PresetOCCQuotes, UnderlyingPrices: &UnderlyingPrices{Path: bars}}, Reject)
	qs = drain(t, src)
	if len(qs) != 2 || qs[0].UnderlyingPrice != 323.35 {
		t.Errorf("bars: %+v", qs)
	}
	// ISO times and an SPXW ticker, rooted to SPX.
	body = "ticker,bid_price,ask_price,bid_size,ask_size,timestamp\nO:SPXW200221P03000000,2.40,2.45,1,1,2020-02-03T09:31:00-05:00\n"
	p2 := writeFile(t, filepath.Join(dir, "iso.csv"), body)
	und2 := writeFile(t, filepath.Join(dir, "spx.csv"), "time,price\n2020-02-03 09:30:00,3235\n")
	src = open(t, FileConfig{Path: p2, Preset: PresetOCCQuotes, UnderlyingPrices: &UnderlyingPrices{Path: und2}}, Reject)
	qs = drain(t, src)
	if len(qs) != 1 || !MicrosTime(qs[0].Time).Equal(t1) {
		t.Fatalf("iso: %+v", qs)
	}
	if c := src.Contracts().Get(qs[0].Contract); c.Underlying != "SPX" || c.Root != "SPXW" {
		t.Errorf("root: %+v", c)
	}
	// A quote before the first price is malformed, named.
	early := writeFile(t, filepath.Join(dir, "late.csv"), "time,price\n2020-02-03 09:45:00,3235\n")
	s2, err := OpenFile(context.Background(), FileConfig{Path: p2, Preset: PresetOCCQuotes, UnderlyingPrices: &UnderlyingPrices{Path: early}}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	_, err = s2.Next(context.Background())
	var re *RowError
	if !errors.As(err, &re) || re.Line != 2 || !strings.Contains(err.Error(), "no underlying price") {
		t.Errorf("got %v", err)
	}
}

// A custom mapping's date-only time column is stamped 16:00 New York, not midnight UTC; in
// CSV (ISO dates, or a date format) and in a typed Parquet DATE column.
func TestDateOnlyTimeIsTheClose(t *testing.T) {
	dir := t.TempDir()
	body := "d,sym,b,a,u\n2020-03-06,SPY200320P00240000,1,1.1,290\n2020-03-09,SPY200320P00240000,2,2.1,270\n"
	p := writeFile(t, filepath.Join(dir, "d.csv"), body)
	pq := filepath.Join(dir, "d.parquet")
	toParquet(t, p, pq, true)
	us := writeFile(t, filepath.Join(dir, "us.csv"), strings.NewReplacer("2020-03-06", "03/06/2020", "2020-03-09", "03/09/2020").Replace(body))
	cols := map[string]string{"time": "d", "symbol": "sym", "bid": "b", "ask": "a", "underlying_price": "u"}
	want := []time.Time{time.Date(2020, 3, 6, 21, 0, 0, 0, time.UTC), time.Date(2020, 3, 9, 20, 0, 0, 0, time.UTC)}
	for _, cfg := range []FileConfig{{Path: p, Columns: cols}, {Path: pq, Columns: cols}, {Path: us, Columns: cols, TimeFormat: "%m/%d/%Y"}} {
		qs := drain(t, open(t, cfg, Reject))
		if len(qs) != 2 || !MicrosTime(qs[0].Time).Equal(want[0]) || !MicrosTime(qs[1].Time).Equal(want[1]) {
			t.Errorf("%s: %v", cfg.Path, qs)
		}
	}
}

// Roots extend in the scenario: XSPW → XSP.
func TestRootsOverride(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "x.csv"), "t,s,b,a,u\n2020-03-09 14:00:00,ABCW200320P00240000,1,1.1,270\n")
	cols := map[string]string{"time": "t", "symbol": "s", "bid": "b", "ask": "a", "underlying_price": "u"}
	src := open(t, FileConfig{Path: p, Columns: cols, Roots: map[string]string{"ABCW": "ABC"}, Greeks: GreeksFile}, Reject)
	qs := drain(t, src)
	if c := src.Contracts().Get(qs[0].Contract); c.Underlying != "ABC" || c.Root != "ABCW" {
		t.Errorf("%+v", c)
	}
}

// The same quotes from one CSV, its gzip and zstd copies, a glob and a folder of daily files,
// and a Hive-partitioned Parquet folder.
func TestSameQuotesAnyFileShape(t *testing.T) {
	dir := t.TempDir()
	var all strings.Builder
	all.WriteString(dnHeader)
	days := map[string][]string{}
	var order []string
	for _, r := range dnRows {
		d := r.date
		if _, ok := days[d]; !ok {
			order = append(order, d)
		}
		days[d] = append(days[d], r.line())
		all.WriteString(r.line())
	}
	one := writeFile(t, filepath.Join(dir, "one.csv"), all.String())
	want := drain(t, open(t, FileConfig{Path: one, Preset: PresetDeltaNeutral}, Reject))
	for _, d := range order {
		tm, _ := time.Parse("01/02/2006", d)
		iso := tm.Format("2006-01-02")
		p := writeFile(t, filepath.Join(dir, "daily", iso+".csv"), dnHeader+strings.Join(days[d], ""))
		hp := filepath.Join(dir, "hive", "year="+iso[:4], "date="+iso, "part-0.parquet")
		os.MkdirAll(filepath.Dir(hp), 0o755)
		toParquet(t, p, hp, false)
	}
	// A holiday's file with a header only, in the folder.
	writeFile(t, filepath.Join(dir, "daily", "2020-03-07.csv"), dnHeader)
	gz, _ := os.Create(filepath.Join(dir, "one.csv.gz"))
	zw := gzip.NewWriter(gz)
	zw.Write([]byte(all.String()))
	zw.Close()
	gz.Close()
	for _, cfg := range []FileConfig{
		{Path: filepath.Join(dir, "one.csv.gz")},
		{Path: filepath.Join(dir, "daily", "*.csv")},
		{Path: filepath.Join(dir, "daily")},
		{Path: filepath.Join(dir, "hive")},
	} {
		cfg.Preset = PresetDeltaNeutral
		src := open(t, cfg, Reject)
		got := drain(t, src)
		if len(got) != len(want) {
			t.Fatalf("%s: %d quotes, want %d", cfg.Path, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			g.Contract, w.Contract = 0, 0
			if g != w {
				t.Errorf("%s quote %d: %+v, want %+v", cfg.Path, i, got[i], want[i])
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 14438: "14,438", 1234567: "1,234,567", -14438: "-14,438"} {
		if got := thousands(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

// A file without greeks gets them computed; a mid below intrinsic value has no volatility:
// counted as no_iv under skip, the row named under reject.
func TestNoIVCounted(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "q.csv"), "t,s,b,a,u\n"+
		"2020-03-09 14:00:00,SPY200320P00240000,1.00,1.10,250\n"+ // fits
		"2020-03-09 14:00:00,SPY200320P00300000,40.00,40.50,250\n"+ // intrinsic 50: no fit
		"2020-03-09 14:01:00,SPY200320P00240000,1.00,1.10,250\n")
	cols := map[string]string{"time": "t", "symbol": "s", "bid": "b", "ask": "a", "underlying_price": "u"}
	src := open(t, FileConfig{Path: p, Columns: cols}, Skip)
	qs := drain(t, src)
	if len(qs) != 2 || src.Quality()[KindNoIV] != 1 || src.Quality().Total() != 1 {
		t.Fatalf("%d quotes, quality %v; want 2 and no_iv=1", len(qs), src.Quality())
	}
	if !(qs[0].IV > 0 && qs[0].Delta < 0 && qs[0].Gamma > 0 && qs[0].Vega > 0 && qs[0].Theta < 0) {
		t.Errorf("computed greeks %+v", qs[0])
	}
	src = open(t, FileConfig{Path: p, Columns: cols}, Reject)
	_, err := src.Next(context.Background())
	var re *RowError
	if !errors.As(err, &re) || re.Kind != KindNoIV || re.Line != 3 || !strings.Contains(err.Error(), "below intrinsic") {
		t.Fatalf("got %v", err)
	}
	// greeks: file keeps zeros and drops nothing.
	src = open(t, FileConfig{Path: p, Columns: cols, Greeks: GreeksFile}, Skip)
	if qs := drain(t, src); len(qs) != 3 || qs[0].IV != 0 {
		t.Errorf("greeks: file: %+v", qs)
	}
}
