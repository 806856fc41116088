package reports_test

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/scenarios"
)

// benchRunDir is a run folder to report on: $BACKTEST_BENCH_RUN (any run
// folder, e.g. one of the 11.9 M-quote benchmark) or else the fixture run
// of testdata/small.yaml.
func benchRunDir(b *testing.B) string {
	if d := os.Getenv("BACKTEST_BENCH_RUN"); d != "" {
		return d
	}
	l, err := scenarios.Load("testdata/small.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	o, err := runner.Run(context.Background(), runner.Options{Scenario: l, OutDir: b.TempDir(), RunID: "bench", Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	return o.RunDir
}

// BenchmarkReports is what a run pays for its reports: load the folder,
// summarise, render report.md and report.html (the runner's WriteReports
// without the file writes).
func BenchmarkReports(b *testing.B) {
	dir := benchRunDir(b)
	ctx := context.Background()
	defer cpuPerOp(b)()
	for b.Loop() {
		r, err := reports.Load(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		s, err := reports.Summarize(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		var md, html bytes.Buffer
		if err := reports.WriteMarkdown(&md, r, s); err != nil {
			b.Fatal(err)
		}
		if err := reports.WriteHTML(ctx, &html, r, s); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// BenchmarkLoad is reports.Load and Summarize alone (the SQL side).
func BenchmarkLoad(b *testing.B) {
	dir := benchRunDir(b)
	ctx := context.Background()
	defer cpuPerOp(b)()
	for b.Loop() {
		r, err := reports.Load(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := reports.Summarize(ctx, r); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// cpuPerOp reports the process's CPU time (user + system, every thread:
// DuckDB's workers too) per operation as cpu-ms/op; call the result when
// the loop ends.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/1e6/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
