package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/scenarios"
)

// This file owns one decode per sweep: runs whose scenarios read the same
// feed share one decoded stream (feeds.Tee), each run on its own goroutine
// with its own engine, risk manager and writers. A run is identical, byte
// for byte, to the same run done alone.

// MaxShared bounds the runs fed by one decode (their engines and writers
// run at once).
const MaxShared = 32

// FeedKey identifies a run's quote stream: the resolved feed section, the
// period, and for a synthetic feed the seed. Runs with equal keys can share
// one decode. Call Prepare first (it resolves the feed's path).
func FeedKey(l *scenarios.Loaded) (string, error) {
	k := struct {
		Feed   scenarios.Feed
		Period scenarios.Period
		Seed   uint64
	}{Feed: l.Feed, Period: l.Period}
	if l.Feed.Synthetic != nil {
		k.Seed = l.Seed
	}
	b, err := json.Marshal(k)
	return string(b), err
}

// RunShared runs every o in opts on one decode of their common feed (their
// FeedKeys must be equal) and returns each run's outcome and error, in the
// order of opts. The runs go at once, one goroutine each: a decode is
// shared only by runs that read it side by side.
func RunShared(ctx context.Context, opts []Options) ([]*Outcome, []error) {
	outs := make([]*Outcome, len(opts))
	errs := make([]error, len(opts))
	if len(opts) == 0 {
		return outs, errs
	}
	key := ""
	for i := range opts {
		l := opts[i].Scenario
		if opts[i].Seed != nil {
			l.Seed = *opts[i].Seed
		}
		if err := Prepare(ctx, l); err != nil {
			errs[i] = err
			continue
		}
		k, err := FeedKey(l)
		if err != nil {
			errs[i] = err
			continue
		}
		if key == "" {
			key = k
		} else if k != key {
			errs[i] = fmt.Errorf("runner: %s reads another feed than the runs it is shared with", l.Name)
		}
	}
	var live []int
	for i := range opts {
		if errs[i] == nil {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return outs, errs
	}
	first := opts[live[0]]
	staging := filepath.Join(orDefault(first.OutDir), StagingDir)
	tmp := ""
	err := os.MkdirAll(staging, 0o755)
	if err == nil {
		// DuckDB's spill folder for the shared decode.
		tmp, err = os.MkdirTemp(staging, stagePrefix("shared-feed")) // cleanStale removes it after a crash
	}
	if err != nil {
		for _, i := range live {
			errs[i] = fmt.Errorf("runner: %w", err)
		}
		return outs, errs
	}
	defer os.RemoveAll(tmp)
	src, err := openFeedIn(ctx, first.Scenario, tmp)
	if err != nil {
		for _, i := range live {
			errs[i] = err
		}
		return outs, errs
	}
	readers := feeds.Tee(src, len(live))
	var wg sync.WaitGroup
	for j, i := range live {
		o := opts[i]
		o.feed = readers[j]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer o.feed.Close()
			outs[i], errs[i] = Run(ctx, o)
		}()
	}
	wg.Wait()
	return outs, errs
}

func orDefault(out string) string {
	if out == "" {
		return "runs"
	}
	return out
}
