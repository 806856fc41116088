// Package runner executes one scenario run end to end: load, feed, risk
// manager, simulation, Delta tables, run.json, and the atomic publish of the
// run folder. The CLI's run, sweep and check commands share it.
package runner

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// ErrBadInput wraps every error caused by the user's input (scenario,
// flags, feed files), so the CLI can exit 2.
var ErrBadInput = errors.New("bad input")

// StagingDir is the folder under the output folder where runs are built.
// Readers of a runs folder ignore it (it starts with a dot).
const StagingDir = ".staging"

// Options is one run request.
type Options struct {
	Scenario *scenarios.Loaded
	OutDir   string // the runs folder; default "runs"
	RunID    string // default: NAME-HASH8 (from the resolved scenario), made unique in OutDir
	Seed     *uint64
	// Now is the wall clock, for run.json only. Required.
	Now func() time.Time
	// Progress, if set, is called as the simulation advances.
	Progress func(simTime time.Time, quotes int64)
	// NoCatalog leaves the run out of OutDir/_catalog.
	NoCatalog bool
	// WaitForRunID: when another process is writing RunID, wait for it to
	// finish instead of failing with ErrRunIDBusy (sweep: the other
	// process's run is the same run).
	WaitForRunID bool
	// CatalogOptions are lake options for the catalog commit, and
	// TableOptions for the run's own tables (fault injection in tests).
	CatalogOptions, TableOptions []lake.Option
	// Hook, if set, is called before the publish steps "rename" and
	// "catalog"; an error fails that step (fault injection in tests).
	Hook func(step string) error
	// BatchSize is the rows per Parquet file of each table (default 16384:
	// it bounds the writers' memory, about 2 × BatchSize rows per table).
	BatchSize int
	// feed, if set, is read instead of opening the scenario's feed (a
	// reader of a shared decode: fanout.go). Run closes it.
	feed feeds.Source
}

// Outcome is a published run.
type Outcome struct {
	RunID   string
	RunDir  string
	Result  sim.Result
	Events  EventCounts
	Quality feeds.QualityCounts
	Signals *reports.SignalCounts // what became of every entry signal
	Elapsed time.Duration
	// CatalogErr is set when the run was published but its catalog row
	// could not be written (it wraps ErrCatalogPending). The run needs no
	// retry: the next command on the runs folder adds the row.
	CatalogErr error
}

// ErrCatalogPending marks a published run whose catalog row is pending.
var ErrCatalogPending = errors.New("catalog row pending")

func (o *Options) hook(step string) error {
	if o.Hook == nil {
		return nil
	}
	return o.Hook(step)
}

// EventCounts counts risk events by component then type.
type EventCounts map[string]map[string]int64

// ConfigHash is the SHA-256 of the resolved scenario and the seed, hex.
func ConfigHash(l *scenarios.Loaded) (string, error) {
	b, err := l.Resolved()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// Run executes the scenario and publishes OutDir/RunID only on success.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	if o.Now == nil {
		return nil, errors.New("runner: Options.Now is required")
	}
	started := o.Now()
	l := o.Scenario
	if o.Seed != nil {
		l.Seed = *o.Seed
	}
	if o.OutDir == "" {
		o.OutDir = "runs"
	}
	// The log is read into the scenario first, so that the resolved copy in
	// the run folder is self-contained and the config hash covers the trades.
	if err := Prepare(ctx, l); err != nil {
		return nil, err
	}
	resolved, err := l.Resolved()
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	hash, _ := ConfigHash(l)
	// An s3:// runs folder: runs are built in the local staging area and
	// published by upload, run.json last (PublishObject), not by rename;
	// the publishing claim reserves the id on the store.
	fsys, err := lake.FSFor(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	object := lake.IsObjectFS(fsys)
	stagingRoot := filepath.Join(o.OutDir, StagingDir)
	if object {
		stagingRoot = LocalStagingRoot()
	}
	if err := os.MkdirAll(stagingRoot, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	var res *reservation
	switch {
	case object:
		res, err = reserveObject(ctx, fsys, l, o)
	case o.RunID != "":
		res, err = reserveID(ctx, o.OutDir, o.RunID, o.WaitForRunID)
	default:
		base, derr := DefaultRunID(l)
		if derr != nil {
			return nil, derr
		}
		res, err = reserveDefault(ctx, o.OutDir, base)
	}
	if err != nil {
		return nil, err
	}
	defer res.release()
	id, final := res.id, res.final
	cfg, err := l.SimConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	// src is let go once the replay ended (below): the reports then do not
	// share the process with the reading pipeline's tables and buffers.
	src := o.feed
	fanned := src != nil // one of a sweep's runs on a shared decode
	o.feed = nil
	closeSrc := func() {
		if src != nil {
			src.Close()
		}
	}
	if fanned {
		defer closeSrc()
	} else {
		defer governMemory()()
	}

	cleanStale(stagingRoot)
	stage, err := os.MkdirTemp(stagingRoot, stagePrefix(id))
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	isPublished := false
	defer func() {
		if !isPublished {
			os.RemoveAll(stage)
		}
	}()
	if src == nil {
		// DuckDB spills (a sort of a feed not in time order) inside the
		// staging folder; the folder goes before publishing.
		tmp := filepath.Join(stage, ".duckdb-tmp")
		if src, err = openFeedIn(ctx, l, tmp); err != nil {
			return nil, err
		}
		src = feeds.DecodeAhead(src) // decoding on its own core, ahead of the engine
		defer os.RemoveAll(tmp)      // after the source is closed (defers run last first)
		defer closeSrc()
	}

	out := &Outcome{RunID: id, RunDir: final, Events: EventCounts{}}
	simRes, err := simulate(ctx, o, l, cfg, src, stage, id, out)
	if err != nil {
		return nil, err
	}
	src.Close()
	os.RemoveAll(filepath.Join(stage, ".duckdb-tmp"))
	out.Result = simRes
	out.Signals = signalCounts(simRes.Signals)
	out.Quality = src.Quality()
	src = nil
	out.Elapsed = o.Now().Sub(started)
	if !fanned {
		// The replay's memory (its pipeline, engine and garbage) goes back
		// to the OS before the reports allocate theirs, so their peak does
		// not stack on it (~15 MiB of the 100 M-quote bench run's peak). A
		// sweep's runs skip it: each would force a collection of the
		// whole sweep's heap. The Delta writers' zstd encoders go too
		// (~4 MiB of history): the reports write no data file.
		lake.ReleaseEncoders()
		defer reportsMemory()()
		debug.FreeOSMemory()
	}

	if err := os.WriteFile(filepath.Join(stage, "scenario.yaml"), resolved, 0o644); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	meta := reports.RunMeta{
		RunID: id, Scenario: l.Name, ScenarioFile: l.File, ConfigHash: hash, Seed: l.Seed,
		Overrides: slices.Clone(l.Sets), Version: Version(), Started: started.UTC().Format(time.RFC3339Nano),
		Finished: o.Now().UTC().Format(time.RFC3339Nano), Status: "succeeded", Quotes: simRes.Quotes,
		QuotesPerSecond: float64(simRes.Quotes) / max(out.Elapsed.Seconds(), 1e-9),
		DataQuality:     map[string]int64{}, Signals: out.Signals,
	}
	for k, v := range out.Quality {
		meta.DataQuality[string(k)] = v
	}
	b, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(stage, "run.json"), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	if err := WriteReports(ctx, stage); err != nil {
		return nil, err
	}
	if err := os.Chmod(stage, 0o755); err != nil { // MkdirTemp made it 0700
		return nil, fmt.Errorf("runner: %w", err)
	}
	if err := o.hook("rename"); err != nil {
		return nil, fmt.Errorf("runner: publishing %s: %w", final, err)
	}
	if object {
		return publishObjectRun(ctx, o, fsys, stage, final, id, out)
	}
	// Publish. The reservation keeps other processes of this version off
	// the id; a directory rename never replaces a non-empty directory, so
	// anything else (another host, an older version) loses cleanly too.
	if err := os.Rename(stage, final); err != nil {
		if published(o.OutDir, id) {
			return nil, fmt.Errorf("%w: run id %s %w (%s)", ErrBadInput, id, ErrRunIDPublished, final)
		}
		return nil, fmt.Errorf("runner: publishing %s: %w", final, err)
	}
	isPublished = true
	catalogPublished(ctx, o, out, id, final)
	return out, nil
}

// catalogPublished adds a just-published run to the catalog. The
// bookkeeping finishes even when the run is being interrupted: it is short,
// and a run left out of the catalog is only repaired by the next command on
// this folder. A failure is not the run's: it lands in out.CatalogErr.
func catalogPublished(ctx context.Context, o Options, out *Outcome, id, final string) {
	if o.NoCatalog {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := o.hook("catalog")
	if err == nil {
		err = CatalogRuns(cctx, o.OutDir, []string{id}, o.CatalogOptions...)
	}
	if err != nil {
		out.CatalogErr = fmt.Errorf("%w: run %s is published at %s and needs no retry; the next backtest command on %s adds it to the catalog (%v)",
			ErrCatalogPending, id, final, o.OutDir, err)
	}
}

// simulate runs the event loop with the Delta writers attached.
func simulate(ctx context.Context, o Options, l *scenarios.Loaded, cfg sim.Config, src feeds.Source, stage, id string, out *Outcome) (sim.Result, error) {
	wopts := lake.WriterOptions{BatchSize: o.BatchSize, Table: o.TableOptions}
	if wopts.BatchSize == 0 {
		wopts.BatchSize = 16384
	}
	// The five tables are created side by side: each creation writes and
	// fsyncs the table's first commit, ~30 ms of a run's start one after
	// the other. closers[i] is nil where opening failed.
	var (
		events *lake.EventWriter
		fills  *lake.Writer[lake.FillRow]
		equity *lake.Writer[lake.EquityRow]
		trades *lake.Writer[lake.TradeRow]
		attrib *lake.Writer[lake.AttributionRow]
	)
	opens := []func() (func() error, error){
		opener(&events, func() (*lake.EventWriter, error) {
			return lake.NewEventWriter(filepath.Join(stage, "risk_events"), id, wopts)
		}),
		opener(&fills, func() (*lake.Writer[lake.FillRow], error) {
			return lake.NewFillWriter(filepath.Join(stage, "fills"), wopts)
		}),
		opener(&equity, func() (*lake.Writer[lake.EquityRow], error) {
			return lake.NewEquityWriter(filepath.Join(stage, "equity"), wopts)
		}),
		opener(&trades, func() (*lake.Writer[lake.TradeRow], error) {
			return lake.NewTradeWriter(filepath.Join(stage, lake.TradesTable), wopts)
		}),
		opener(&attrib, func() (*lake.Writer[lake.AttributionRow], error) {
			return lake.NewAttributionWriter(filepath.Join(stage, lake.AttributionTable), wopts)
		}),
	}
	closers := make([]func() error, len(opens))
	errs := make([]error, len(opens))
	var wg sync.WaitGroup
	for i, open := range opens {
		wg.Go(func() { closers[i], errs[i] = open() })
	}
	wg.Wait()
	// closeAll closes the writers side by side too: each writes its last
	// file and commits (two fsyncs). Errors are joined in the tables' order.
	closeAll := func() error {
		errs := make([]error, len(closers))
		var wg sync.WaitGroup
		for i, c := range closers {
			if c != nil {
				wg.Go(func() { errs[i] = c() })
			}
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := errors.Join(errs...); err != nil {
		closeAll()
		return sim.Result{}, fmt.Errorf("runner: %w", err)
	}
	counter := &countingSink{next: events, counts: out.Events}
	rm, err := risk.NewManager(l.Risk, counter)
	if err != nil {
		closeAll()
		return sim.Result{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	rec := &recorder{runID: id, fills: fills, equity: equity, events: events}
	rng := rand.New(rand.NewPCG(l.Seed, 0x9e3779b97f4a7c15))
	eng, err := sim.New(cfg, src, rm, rec, rng)
	if err != nil {
		closeAll()
		return sim.Result{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	eng.Progress = o.Progress
	eng.EventSeq = events.Seq
	eng.OnDecision = attributionWriter(attrib, id)
	eng.OnTrade = tradeWriter(trades, id)
	res, runErr := eng.Run(ctx)
	if runErr == nil && res.Quotes == 0 {
		runErr = fmt.Errorf("%w: %s: the feed has no quotes between %s and %s", ErrBadInput, l.File,
			l.Period.Start.Format("2006-01-02"), l.Period.End.Format("2006-01-02"))
	}
	if err := errors.Join(runErr, closeAll()); err != nil {
		var re *feeds.RowError
		if errors.As(err, &re) || (errors.Is(err, sim.ErrFeed) && ctx.Err() == nil) {
			return res, fmt.Errorf("%w: %s: %w", ErrBadInput, l.File, err)
		}
		return res, err
	}
	return res, nil
}

// opener returns a function that makes a writer with mk, stores it in dst
// and returns its Close.
func opener[W interface{ Close() error }](dst *W, mk func() (W, error)) func() (func() error, error) {
	return func() (func() error, error) {
		w, err := mk()
		if err != nil {
			return nil, err
		}
		*dst = w
		return w.Close, nil
	}
}

// OpenFeed opens the scenario's quote source.
func OpenFeed(ctx context.Context, l *scenarios.Loaded) (feeds.Source, error) {
	return openFeedIn(ctx, l, "")
}

// openFeedIn opens the scenario's quote source with DuckDB's spill folder
// in tmp ("" = a temporary folder of its own).
func openFeedIn(ctx context.Context, l *scenarios.Loaded, tmp string) (feeds.Source, error) {
	f := l.Feed
	if f.Synthetic != nil {
		sc := *f.Synthetic
		if sc.Session == "" {
			sc.Session = l.Period.Session
		}
		src, err := feeds.NewSynthetic(sc, l.Seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: feed.synthetic: %w", ErrBadInput, l.File, err)
		}
		return src, nil
	}
	fc, err := localFeed(ctx, *f.File) // s3:// feeds: through the local cache
	if err != nil {
		return nil, fmt.Errorf("%w: %s: feed.file: %w", ErrBadInput, l.File, err)
	}
	src, err := feeds.OpenFileWith(ctx, fc, f.DataQuality, deltaLister(&fc), feeds.ReadOptions{TempDir: tmp})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: feed.file: %w", ErrBadInput, l.File, err)
	}
	return src, nil
}

// deltaLister lists a Delta table's active files for the feed, sorted by
// the time column's minimum from their add actions' statistics (files
// without one keep path order, after the others). The file reader orders
// the rows itself (files whose times overlap are read together, sorted:
// feeds/plan.go); this order only makes its plan cheaper to read.
func deltaLister(cfg *feeds.FileConfig) feeds.FileLister {
	timeCol := "time"
	if c := cfg.Columns["time"]; c != "" {
		timeCol = c
	}
	return func(dir string) ([]string, error) {
		s, err := lake.Snapshot(dir, -1)
		if err != nil {
			return nil, err
		}
		if pc := s.Metadata.PartitionColumns; len(pc) > 0 {
			// The feed reads data files as they are, and partition
			// columns are not in them (only in the log).
			return nil, fmt.Errorf("%w: the Delta table %s is partitioned by %v: a feed or replay table must be unpartitioned (rewrite it without partition_by)",
				lake.ErrUnsupported, dir, pc)
		}
		paths := s.Paths()
		type file struct {
			path string
			min  time.Time
			ok   bool
		}
		files := make([]file, len(paths))
		for i, a := range s.Files {
			files[i] = file{path: paths[i]}
			var st struct {
				MinValues map[string]any `json:"minValues"`
			}
			if json.Unmarshal([]byte(a.Stats), &st) == nil {
				if v, ok := st.MinValues[timeCol].(string); ok {
					files[i].min, err = time.Parse(time.RFC3339Nano, v)
					files[i].ok = err == nil
				}
			}
		}
		slices.SortStableFunc(files, func(a, b file) int {
			switch {
			case a.ok && b.ok:
				return a.min.Compare(b.min)
			case a.ok:
				return -1
			case b.ok:
				return 1
			}
			return 0
		})
		for i := range files {
			paths[i] = files[i].path
		}
		return paths, nil
	}
}

// Version is the module version of the binary, or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// WriteReports writes summary.json, report.md and report.html into a run
// folder from its tables.
func WriteReports(ctx context.Context, dir string) error {
	r, err := reports.Load(ctx, dir)
	if err != nil {
		return err
	}
	defer r.Close()
	sum, err := reports.Summarize(ctx, r)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), sum.JSON(), 0o644); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	// The pages go straight to files (a long run's HTML is megabytes of
	// chart points: a buffer of it doubled the reports' peak memory), each
	// beside its final name, renamed into place once both are complete.
	md, err := newReportFile(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	defer md.abandon()
	html, err := newReportFile(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	defer html.abandon()
	if err := reports.WriteRunReports(ctx, md.w, html.w, r, sum); err != nil {
		return err
	}
	if err := md.commit(); err != nil {
		return err
	}
	return html.commit()
}

// reportFile is a page being written beside its final name.
type reportFile struct {
	final string
	f     *os.File
	w     *bufio.Writer
	done  bool
}

func newReportFile(final string) (*reportFile, error) {
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	return &reportFile{final: final, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// commit flushes the page and renames it into place (0644, as before).
func (p *reportFile) commit() error {
	err := p.w.Flush()
	if err == nil {
		err = p.f.Chmod(0o644)
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.final)
	}
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	p.done = true
	return nil
}

// abandon removes a page that was not committed.
func (p *reportFile) abandon() {
	if !p.done {
		p.f.Close()
		os.Remove(p.f.Name())
	}
}

// Staging folders are named RUNID.HOST.PID.RANDOM so that a later run can
// tell one whose process died (SIGKILL, power loss) from one still being
// built by another process, and remove it. Folders of other hosts (a runs
// folder shared between machines) are left alone.
var stageName = regexp.MustCompile(`\.([A-Za-z0-9-]+)\.(\d+)\.\d+$`)

func stagePrefix(id string) string { return fmt.Sprintf("%s.%s.%d.", id, hostTag(), os.Getpid()) }

func hostTag() string {
	h, _ := os.Hostname()
	h = regexp.MustCompile(`[^A-Za-z0-9-]`).ReplaceAllString(h, "-")
	if h == "" {
		h = "host"
	}
	return h
}

// cleanStale removes staging folders of this host whose process is gone.
// Best effort: a folder it cannot judge is kept.
func cleanStale(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	host := hostTag()
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".lock"); ok && !e.IsDir() && CheckRunID(id) == nil {
			// A lock file whose owner died: the lock is free; take it
			// and drop the file (a live owner keeps it).
			if l, err := tryLock(filepath.Join(dir, e.Name())); err == nil {
				l.unlock()
			}
			continue
		}
		m := stageName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != host {
			continue
		}
		pid, err := strconv.Atoi(m[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		p, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		if err := p.Signal(syscall.Signal(0)); errors.Is(err, os.ErrProcessDone) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
