package feeds

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const sharedData = "../../shared/data"

// drain reads a source to the end, copying quotes.
func drain(t testing.TB, src Source) []Quote {
	t.Helper()
	var out []Quote
	ctx := context.Background()
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if len(b.Quotes) == 0 {
			t.Fatalf("empty batch")
		}
		out = append(out, b.Quotes...)
	}
}

// realBars joins SPY daily bars with VIX closes in [from, to] from ../../shared/data, or
// skips the test when the data is absent.
func realBars(t testing.TB, from, to string) []DayBar {
	t.Helper()
	spy := readDaily(t, filepath.Join(sharedData, "spy-daily.csv"))
	vix := readDaily(t, filepath.Join(sharedData, "vix-daily.csv"))
	var out []DayBar
	for _, d := range spy {
		if d.Date < from || d.Date > to {
			continue
		}
		v, ok := vixClose(vix, d.Date)
		if !ok {
			t.Fatalf("no VIX close on %s", d.Date)
		}
		d.VIX = v
		out = append(out, d)
	}
	if len(out) == 0 {
		t.Fatalf("no bars in [%s, %s]", from, to)
	}
	return out
}

func vixClose(v []DayBar, date string) (float64, bool) {
	lo, hi := 0, len(v)
	for lo < hi {
		m := (lo + hi) / 2
		if v[m].Date < date {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(v) && v[lo].Date == date {
		return v[lo].Close, true
	}
	return 0, false
}

func readDaily(t testing.TB, path string) []DayBar {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("reference data absent: %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var out []DayBar
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(p) < 5 {
			continue
		}
		var v [4]float64
		for i := range v {
			v[i], err = strconv.ParseFloat(p[i+1], 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		out = append(out, DayBar{Date: p[0], Open: v[0], High: v[1], Low: v[2], Close: v[3]})
	}
	return out
}

// smallSynth is a fixed two-week configuration that needs no reference data.
func smallSynth() SyntheticConfig {
	return SyntheticConfig{
		Underlying: "SPY",
		Days: []DayBar{
			{Date: "2020-03-09", Open: 275.30, High: 284.19, Low: 273.45, Close: 274.23, VIX: 54.46},
			{Date: "2020-03-10", Open: 284.64, High: 288.52, Low: 273.50, Close: 288.42, VIX: 47.30},
			{Date: "2020-03-11", Open: 280.70, High: 281.94, Low: 270.89, Close: 274.36, VIX: 53.90},
			{Date: "2020-03-12", Open: 255.94, High: 266.66, Low: 247.68, Close: 248.11, VIX: 75.47},
			{Date: "2020-03-13", Open: 263.09, High: 271.48, Low: 248.52, Close: 269.32, VIX: 57.83},
			{Date: "2020-03-16", Open: 241.18, High: 256.90, Low: 237.36, Close: 239.85, VIX: 82.69},
		},
		Every:    15 * time.Minute,
		Strikes:  StrikeConfig{AroundSpotPct: 15, Step: 5},
		Expiries: ExpiryConfig{Weekly: 3, Monthly: 2},
		Rate:     0.015, DividendYield: 0.018, Skew: 1.0, TermSlope: 0.1,
	}
}
