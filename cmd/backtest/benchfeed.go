package main

// This file owns the layout of a benchmark feed on disk: one native Parquet
// file, or a folder of files of whole sessions (how vendors deliver a long
// history: by month or by year).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/optionsrisk/backtest/feeds"
)

// writeBenchFeed drains src into base+".parquet" when perFile is 0. Otherwise
// it writes a folder base+"-by"+label of files part-0000.parquet, ..., each
// of at least perFile quotes (the last may hold fewer), cut where a UTC day
// begins: every file holds whole sessions, so the files' time ranges follow
// one another and a reader streams them one at a time. The folder is built
// beside its final name and renamed into place when complete. It returns the
// path a scenario reads (the file, or the folder's glob), the files and the
// quotes written.
func writeBenchFeed(ctx context.Context, src feeds.Source, base string, perFile int64, label string) (path string, files int, n int64, err error) {
	if perFile <= 0 {
		path = base + ".parquet"
		n, err = feeds.WriteParquet(ctx, src, path)
		return path, 1, n, err
	}
	final := base + "-by" + label
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return "", 0, 0, err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	p := &partSource{Source: src, limit: perFile}
	for !p.done() {
		p.n = 0
		k, err := feeds.WriteParquet(ctx, p, filepath.Join(tmp, fmt.Sprintf("part-%04d.parquet", files)))
		if err != nil {
			return "", files, n, err
		}
		files, n = files+1, n+k
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", files, n, err
	}
	return filepath.Join(final, "*.parquet"), files, n, nil
}

// partSource is src's batches until, with at least limit quotes given, a
// new UTC day begins: then it ends (io.EOF) and keeps the quotes from that
// day's first on for the next part. A source's batch stays valid until its
// next Next, which comes only after the kept quotes were given out.
type partSource struct {
	feeds.Source
	limit, n int64
	day      int64        // the UTC day (utcDay) of the last quote given
	held     *feeds.Batch // read, not yet given: the next part's first
	eof      bool
}

// done reports whether every batch was given (no part is left to write).
func (p *partSource) done() bool { return p.eof && p.held == nil }

func (p *partSource) Next(ctx context.Context) (*feeds.Batch, error) {
	b := p.held
	p.held = nil
	if b == nil {
		if p.eof {
			return nil, io.EOF
		}
		var err error
		if b, err = p.Source.Next(ctx); err != nil {
			if errors.Is(err, io.EOF) {
				p.eof = true
			}
			return nil, err
		}
	}
	qs := b.Quotes
	if p.n > 0 && p.n >= p.limit {
		// A batch may span days: the part ends at the first quote of a
		// new day, and the rest of the batch starts the next part.
		k := 0
		for k < len(qs) && utcDay(qs[k].Time) == p.day {
			k++
		}
		switch {
		case k == 0:
			p.held = b
			return nil, io.EOF
		case k < len(qs):
			p.held = &feeds.Batch{Quotes: qs[k:]}
			b = &feeds.Batch{Quotes: qs[:k]}
			qs = b.Quotes
		}
	}
	p.n += int64(len(qs))
	p.day = utcDay(qs[len(qs)-1].Time)
	return b, nil
}

// Close leaves src open: the parts share it (the caller closes it).
func (p *partSource) Close() error { return nil }

// utcDay is the start (µs) of the UTC day holding t (µs).
func utcDay(t int64) int64 { return feeds.MicrosTime(t).Truncate(24 * time.Hour).UnixMicro() }
