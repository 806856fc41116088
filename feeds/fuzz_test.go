package feeds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCSV: any file content through the deltaneutral preset and a custom layout, under both
// policies: errors only, no panic, and no quote that breaks the checks.
func FuzzCSV(f *testing.F) {
	seed, _ := os.ReadFile("testdata/deltaneutral_quirks.csv")
	f.Add(seed)
	f.Add([]byte("t,s,b,a,u\n2020-03-09 14:00:00,SPY200320P00250000,2.5,2.6,270\n"))
	f.Add([]byte("\xef\xbb\xbft,s,b,a,u\r\n2020-03-09,SPY,1,2,3\r\n\"x\ny\",,,,\n"))
	f.Add([]byte(""))
	// The corpus (text and generated binary files) as seeds.
	cdir, names := corpusFiles(f)
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(cdir, n)); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				panic(fmt.Sprintf("FuzzCSV: no result after 20s on %d bytes", len(data)))
			}
		}()
		p := filepath.Join(dir, "f.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cfg := range []FileConfig{
			{Path: p, Preset: PresetDeltaNeutral},
			{Path: p, Columns: map[string]string{"time": "t", "symbol": "s", "bid": "b", "ask": "a", "underlying_price": "u"}},
		} {
			for _, dq := range []DataQuality{Reject, Skip} {
				src, err := OpenFile(context.Background(), cfg, dq, nil)
				if err != nil {
					continue
				}
				checkAll(t, src)
				src.Close()
			}
		}
	})
}

func checkAll(t *testing.T, src Source) {
	var last int64 = -1 << 63
	for i := 0; i < 1000; i++ {
		b, err := src.Next(context.Background())
		if err != nil {
			return
		}
		for _, q := range b.Quotes {
			c := src.Contracts().Get(q.Contract)
			if c == nil {
				t.Fatalf("quote for unknown contract %d", q.Contract)
			}
			if _, ok := checkQuote(&q, c.Strike); !ok || q.Time < last {
				t.Fatalf("bad quote passed: %+v", q)
			}
			last = q.Time
		}
	}
}

// FuzzColumnMapping: any mapping, time format and zone over a fixed file: errors only.
func FuzzColumnMapping(f *testing.F) {
	f.Add("t", "s", "b", "a", "u", "k", "%Y-%m-%d %H:%M:%S", "UTC")
	f.Add("t", "", "b", "a", "u", "k", "", "America/New_York")
	f.Add("x\"y", "s'", "b", "b", "u", "cp", "%Q", "Bad/Zone")
	dir := f.TempDir()
	p := filepath.Join(dir, "m.csv")
	body := "t,s,b,a,u,k,cp,e\n2020-03-09 14:00:00,SPY200320P00250000,2.5,2.6,270,250,P,2020-03-20\n" +
		"2020-03-09 14:05:00,SPY200320C00300000,1.5,1.6,270,300,call,2020-03-20\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tc, sc, bc, ac, uc, kc, tf, tz string) {
		cols := map[string]string{"time": tc, "bid": bc, "ask": ac, "underlying_price": uc, "strike": kc,
			"right": "cp", "expiry": "e", "underlying": "s"}
		if sc != "" {
			cols["symbol"] = sc
		}
		src, err := OpenFile(context.Background(), FileConfig{Path: p, Columns: cols, TimeFormat: tf, Timezone: tz}, Skip, nil)
		if err != nil {
			return
		}
		defer src.Close()
		checkAll(t, src)
	})
}

// FuzzContractTable: any footer contract table value, as v2 or v1: an error
// or a table, never a panic; a table read from a value re-encodes to a
// value that reads to the same table, and builds the compact table the
// reader keeps with the same symbols.
func FuzzContractTable(f *testing.F) {
	v2, _ := encodeContractTable([]NativeContract{{Symbol: "SPY200320P00250000", Underlying: "SPY", ExpiryUS: 1584734400000000, Strike: 250, Right: "P", Multiplier: 100}, {Symbol: "X", Right: "Q"}})
	f.Add(v2, false)
	f.Add(`[{"symbol":"SPY200320C00250000","underlying":"SPY","expiry_us":1,"strike":250,"right":"C","multiplier":100}]`, true)
	f.Add("H4sIAAAA", false)
	f.Add("[] []", true)
	f.Fuzz(func(t *testing.T, raw string, v1 bool) {
		table, err := decodeContractTable(raw, v1)
		if err != nil {
			return
		}
		again, err := encodeContractTable(table)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := decodeContractTable(again, false)
		if err != nil || fmt.Sprint(back) != fmt.Sprint(table) {
			t.Fatalf("round trip: %v\n%v\n%v", err, back, table)
		}
		nt, err := newNativeTable(raw, v1)
		if err != nil || nt.len() != len(table) {
			t.Fatalf("compact table: %v, %d of %d contracts", err, nt.len(), len(table))
		}
		s := &fileSource{roots: newRootMap(FileConfig{})}
		for i := range table {
			if sm := s.nativeSym(nt, i); sm.c.Symbol != table[i].Symbol || sm.c.Strike != table[i].Strike && table[i].Strike == table[i].Strike {
				t.Fatalf("contract %d: %+v, footer %+v", i, sm.c, table[i])
			}
		}
	})
}
