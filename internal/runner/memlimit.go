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
// With the default GOGC=100 the heap may grow to twice the live heap of the
// last collection, and the live heap of a long run has short peaks (a Delta
// data file being encoded, ~10-20 MB for a moment) that a short run may never
// hit. Go keeps the pages it grew into, so a 100 M-quote run held ~25 MiB
// more than a 10 M-quote run of the same scenario. The governor sets Go's soft
// memory limit (debug.SetMemoryLimit) to goMemFloor, so those peaks make the
// collector run sooner rather than the heap grow. A run whose live heap
// outgrows the floor is not starved: after each collection the limit becomes
// at least 1.5 × the live heap (the collector then runs at about GOGC=50).
//
// A GOMEMLIMIT set in the environment wins: the governor does nothing.
// Runs of a process share one governor (sweeps run several at once).

// goMemFloor is the Go memory the governor allows before the collector runs
// early (the runtime's whole footprint: heap, stacks, metadata).
const goMemFloor = 40 << 20

// goMemLive is the limit for a live heap: 1.5 × live.
func goMemLive(live uint64) int64 {
	return int64(min(live+live/2, math.MaxInt64))
}

var governor struct {
	mu    sync.Mutex
	runs  int   // runs governed now
	prev  int64 // the limit before the first of them
	cycle int   // bumped at each start: a stale finalizer chain stops
}

// governMemory starts governing the Go heap for one run and returns its
// stop.
func governMemory() (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	governor.mu.Lock()
	defer governor.mu.Unlock()
	governor.runs++
	if governor.runs == 1 {
		governor.prev = debug.SetMemoryLimit(goMemFloor)
		governor.cycle++
		armGovernor(governor.cycle)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			governor.mu.Lock()
			defer governor.mu.Unlock()
			governor.runs--
			if governor.runs == 0 {
				debug.SetMemoryLimit(governor.prev)
				governor.cycle++
			}
		})
	}
}

// armGovernor re-sets the limit after the next collection, from its live
// heap, and re-arms itself until its cycle ends. The runtime runs the
// finalizer of an unreachable object after the collection that found it.
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
			debug.SetMemoryLimit(max(goMemFloor, goMemLive(s[0].Value.Uint64())))
		}
		armGovernor(cycle)
	})
}
