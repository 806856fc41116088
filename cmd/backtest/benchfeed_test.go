package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// batchSource yields fixed batches (over contract 0 of an empty table).
type batchSource struct {
	batches [][]feeds.Quote
	i       int
	b       feeds.Batch
}

func (s *batchSource) Contracts() *feeds.Contracts  { return feeds.NewContracts() }
func (s *batchSource) Close() error                 { return nil }
func (s *batchSource) Quality() feeds.QualityCounts { return nil }
func (s *batchSource) Next(context.Context) (*feeds.Batch, error) {
	if s.i == len(s.batches) {
		return nil, io.EOF
	}
	s.b.Quotes = s.batches[s.i]
	s.i++
	return &s.b, nil
}

// Parts hold every quote once, in order; each but the last has at least the
// limit; a part ends only where a UTC day begins, even inside a batch; no
// part is empty.
func TestPartSourceCutsAtDays(t *testing.T) {
	const h = 3_600_000_000
	const dayUS = 24 * h
	day := func(d, hour int64) feeds.Quote { return feeds.Quote{Time: d*dayUS + hour*h} }
	src := &batchSource{batches: [][]feeds.Quote{
		{day(0, 14), day(0, 15), day(0, 16)},
		{day(0, 17), day(1, 14), day(1, 15)}, // spans a day boundary
		{day(1, 16)},
		{day(2, 14), day(2, 15), day(3, 14), day(3, 15), day(4, 14)},
		{day(5, 14)},
	}}
	var all []feeds.Quote
	for _, b := range src.batches {
		all = append(all, b...)
	}
	p := &partSource{Source: src, limit: 3}
	var parts [][]feeds.Quote
	for !p.done() {
		p.n = 0
		var part []feeds.Quote
		for {
			b, err := p.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			part = append(part, b.Quotes...)
		}
		parts = append(parts, part)
	}
	// days 0 | 1 | 2..4 (day 2 starts in the middle of a batch, after 3 quotes of day 1 were given) | 5
	want := []int{4, 3, 5, 1}
	if len(parts) != len(want) {
		t.Fatalf("%d parts %v, want sizes %v", len(parts), parts, want)
	}
	var got []feeds.Quote
	for i, part := range parts {
		if len(part) != want[i] {
			t.Fatalf("part %d has %d quotes, want %d", i, len(part), want[i])
		}
		if i > 0 && utcDay(part[0].Time) == utcDay(parts[i-1][len(parts[i-1])-1].Time) {
			t.Fatalf("part %d starts on the day part %d ended", i, i-1)
		}
		got = append(got, part...)
	}
	if len(got) != len(all) {
		t.Fatalf("%d quotes, want %d", len(got), len(all))
	}
	for i := range all {
		if got[i] != all[i] {
			t.Fatalf("quote %d: %+v, want %+v", i, got[i], all[i])
		}
	}
}

// A feed written as a folder of parts reads back as the same quotes, the
// same contracts, as the feed written as one file.
func TestBenchFeedFolderReadsAsOneFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(base string, perFile int64) (string, int, int64) {
		l, err := scenarios.Parse("bench_scale.yaml", []byte(benchScenario(4, "")), nil)
		if err != nil {
			t.Fatal(err)
		}
		src, err := runner.OpenFeed(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		path, files, n, err := writeBenchFeed(ctx, src, filepath.Join(dir, base), perFile, "40K")
		if err != nil {
			t.Fatal(err)
		}
		return path, files, n
	}
	one, files1, n1 := write("one", 0)
	parts, files, n := write("parts", 40_000)
	if files1 != 1 || n != n1 || files < 3 {
		t.Fatalf("one file %d (%d quotes), parts %d files (%d quotes): want 1 and at least 3 files of the same quotes", files1, n1, files, n)
	}
	if m, _ := filepath.Glob(parts); len(m) != files {
		t.Fatalf("glob %s finds %d files, want %d", parts, len(m), files)
	}
	read := func(path string) []string {
		src, err := feeds.OpenFile(ctx, feeds.FileConfig{Path: path, Preset: feeds.PresetNative}, feeds.Reject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var out []string
		for {
			b, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range b.Quotes {
				c := src.Contracts().Get(q.Contract)
				out = append(out, fmt.Sprintf("%s %+v %d %v %v %v %v %v %v %v %v", c.Symbol, *c, q.Time,
					q.Bid, q.Ask, q.UnderlyingPrice, q.IV, q.Delta, q.Gamma, q.Vega, q.Theta))
			}
		}
	}
	a, b := read(one), read(parts)
	if int64(len(a)) != n1 || len(a) != len(b) {
		t.Fatalf("read %d and %d quotes, wrote %d", len(a), len(b), n1)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("quote %d: one file %q, parts %q", i, a[i], b[i])
		}
	}
}
