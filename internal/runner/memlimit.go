package runner

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The Go heap of a run is kept near a fixed budget instead of growing with
// the run's length.
//
// The collector lets the heap grow GOGC % over the live heap of the last
// collection (50 % for every command but sweep: cmd/backtest's gcPolicy).
// The live heap of a long run has short peaks (a Delta data file being
// encoded holds ~10-20 MB for a moment) that a short run may never hit, and
// Go keeps the pages it grew into: a 100 M-quote run held ~25 MiB more than a
// 10 M-quote run of the same scenario. The governor sets Go's soft memory
// limit (debug.SetMemoryLimit) to goMemFloor, so those peaks make the
// collector run sooner rather than the heap grow. A run whose live heap
// outgrows the floor is not starved: after each collection the limit
// becomes at least the heap GOGC allows over the smaller live heap of that
// collection and the one before (nextLimit), so a live heap that stays above
// the floor's share gets GOGC's headroom, and a one-collection peak does not
// lift the limit.
//
// While it governs, the limit is the collector's only trigger (GOGC is
// turned off, as GOGC=off with GOMEMLIMIT): below the limit, GOGC's own
// goal (live × 1.5 at GOGC=50) would collect a small live heap every few
// megabytes, most often at a run's start, when the heap is smallest (a
// 10 M-quote run collected 60 times, against 14 with the limit alone). The
// headroom rule above still uses the GOGC from before, and that GOGC comes
// back with the limit.
//
// A GOMEMLIMIT set in the environment, or GOGC=off, wins: the governor does
// nothing. Runs of a process share one governor (a sweep without a shared
// decode runs several at once).

// goMemFloor is the Go memory the governor allows before the collector runs
// early (the runtime's whole footprint: heap, stacks, metadata).
const goMemFloor = 40 << 20

// gcPercent is the collector's current GOGC; negative when off.
func gcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int64(s[0].Value.Uint64())
}

// goMemLive is the heap GOGC allows over a live heap: live × (1 + GOGC/100),
// at most MaxInt64.
func goMemLive(live uint64, gogc int64) int64 {
	g := uint64(gogc)
	extra := live/100*g + live%100*g/100
	if extra > math.MaxInt64-min(live, math.MaxInt64) {
		return math.MaxInt64
	}
	return int64(live + extra)
}

// nextLimit is the limit after a collection that found live bytes live,
// the one before it prev (0: none): the floor, or the heap GOGC allows over
// the smaller of the two (half of that headroom while reports are written:
// see reportsMemory).
func nextLimit(prev, live uint64, gogc int64, reporting bool) int64 {
	held := live
	if prev > 0 {
		held = min(prev, live)
	}
	if reporting {
		gogc /= 2
	}
	return max(goMemFloor, goMemLive(held, gogc))
}

var governor struct {
	mu    sync.Mutex
	runs  int    // runs governed now
	prev  int64  // the limit before the first of them
	gogc  int64  // GOGC before the first of them (the headroom rule's)
	cycle int    // bumped at each start: a stale finalizer chain stops
	live  uint64 // the live heap of the collection before the last one
	// reports counts the governed runs writing their reports now.
	reports int
}

// governMemory starts governing the Go heap for one run and returns its
// stop.
func governMemory() (stop func()) {
	governor.mu.Lock()
	defer governor.mu.Unlock()
	// While runs are governed GOGC is off (the governor's own doing).
	if governor.runs == 0 && (os.Getenv("GOMEMLIMIT") != "" || gcPercent() < 0) {
		return func() {}
	}
	governor.runs++
	if governor.runs == 1 {
		governor.prev = debug.SetMemoryLimit(goMemFloor)
		governor.gogc = int64(debug.SetGCPercent(-1))
		governor.cycle++
		governor.live = 0
		armGovernor(governor.cycle)
	}
	return lockedOnce(func() {
		governor.runs--
		if governor.runs == 0 {
			debug.SetGCPercent(int(governor.gogc))
			debug.SetMemoryLimit(governor.prev)
			governor.cycle++
		}
	})
}

// lockedOnce is a stop or done function: f under the governor's lock, the
// first time it is called only.
func lockedOnce(f func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			governor.mu.Lock()
			defer governor.mu.Unlock()
			f()
		})
	}
}

// reportsMemory halves the governor's headroom over a live heap above the
// floor while a run writes its reports, until done is called. A long run's
// reports hold every row of its equity curve, fills and attribution (a
// live heap of ~35 MB at 100 M quotes against ~20 in the replay), so with
// GOGC's headroom they, not the replay, set the process's peak; collecting
// more often during that last second costs little. A run that is not
// governed (a sweep's run on a shared decode) gets a no-op.
func reportsMemory() (done func()) {
	governor.mu.Lock()
	defer governor.mu.Unlock()
	if governor.runs == 0 {
		return func() {}
	}
	governor.reports++
	return lockedOnce(func() { governor.reports-- })
}

// armGovernor re-sets the limit after the next collection, from the smaller
// live heap of that collection and the one before (a peak that one
// collection saw does not lift the limit; a live heap that stays up does),
// and re-arms itself until its cycle ends. The runtime runs the finalizer of
// an unreachable object after the collection that found it.
func armGovernor(cycle int) {
	runtime.SetFinalizer(new([16]byte), func(*[16]byte) {
		governor.mu.Lock()
		defer governor.mu.Unlock()
		if governor.cycle != cycle {
			return
		}
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			live := s[0].Value.Uint64()
			debug.SetMemoryLimit(nextLimit(governor.live, live, governor.gogc, governor.reports > 0))
			governor.live = live
		}
		armGovernor(cycle)
	})
}
