package runner

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// currentLimit is Go's soft memory limit, unchanged.
func currentLimit() int64 { return debug.SetMemoryLimit(-1) }

// withLimit sets the soft memory limit for the test and restores it after.
func withLimit(t *testing.T, limit int64) {
	t.Helper()
	prev := debug.SetMemoryLimit(limit)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

// Runs of a process share the governor: the limit is the floor and GOGC
// is off while any run is governed, and the limit and GOGC from before the
// first come back after the last (a stop called twice counts once).
func TestGovernMemoryFloorAndRestore(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	const before = 3 << 30
	withLimit(t, before)
	defer debug.SetGCPercent(debug.SetGCPercent(70))
	// governed: the floor, or 1.7 × live if a collection ran meanwhile
	// and this test binary's live heap is above the floor's share.
	governed := func(when string) {
		t.Helper()
		if got := currentLimit(); got == before || got < goMemFloor || got > 2*goMemFloor {
			t.Fatalf("limit %s = %d, want the floor %d", when, got, goMemFloor)
		}
		if g := gcPercent(); g >= 0 {
			t.Fatalf("GOGC %s = %d, want off", when, g)
		}
	}
	stop1 := governMemory()
	governed("while governed")
	stop2 := governMemory()
	stop1()
	stop1()
	governed("with one run still governed")
	stop2()
	if got := currentLimit(); got != before {
		t.Fatalf("limit after the last run = %d, want %d back", got, before)
	}
	if g := gcPercent(); g != 70 {
		t.Fatalf("GOGC after the last run = %d, want 70 back", g)
	}
}

// A GOMEMLIMIT in the environment wins: the governor leaves the limit.
func TestGovernMemoryEnvironmentWins(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	withLimit(t, 1<<30)
	stop := governMemory()
	defer stop()
	if got := currentLimit(); got != 1<<30 {
		t.Fatalf("limit = %d, want the environment's %d", got, 1<<30)
	}
}

// A live heap above the floor raises the limit, after a collection, to the
// heap GOGC allows over it: the collector is not made to run without end.
func TestGovernMemoryFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	withLimit(t, math.MaxInt64)
	for _, gogc := range []int64{50, 100} {
		prev := debug.SetGCPercent(int(gogc))
		stop := governMemory()
		const held = 4 * goMemFloor
		ballast := make([]byte, held)
		for i := range ballast {
			ballast[i] = byte(i)
		}
		want := int64(held) * (100 + gogc) / 100
		// Finalizers run on their own goroutine after the collection that
		// found the sentinel: a few collections let the chain catch up.
		got := currentLimit()
		for i := 0; i < 50 && got < want; i++ {
			runtime.GC()
			time.Sleep(time.Millisecond)
			got = currentLimit()
		}
		runtime.KeepAlive(ballast)
		stop()
		debug.SetGCPercent(prev)
		if got < want || got > want+held/4 {
			t.Fatalf("GOGC=%d, %d B live: limit %d, want about %d", gogc, held, got, want)
		}
	}
}

// GOGC=off: the memory limit is the collector's only trigger, so the
// governor leaves it alone.
func TestGovernMemoryGCOff(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	withLimit(t, 2<<30)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	stop := governMemory()
	defer stop()
	if got := currentLimit(); got != 2<<30 {
		t.Fatalf("limit with GOGC=off = %d, want %d left alone", got, 2<<30)
	}
}

// Run governs its replay and reports, and gives the limit back after.
func TestRunGovernsMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	const before = 5 << 30
	withLimit(t, before)
	gogc := gcPercent()
	var during, gcDuring []int64
	_, err := runOnce(t, Options{OutDir: t.TempDir(), RunID: "mem", Progress: func(time.Time, int64) {
		during = append(during, currentLimit())
		gcDuring = append(gcDuring, gcPercent())
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) == 0 {
		t.Fatal("no progress call")
	}
	for i, l := range during {
		if l == before || gcDuring[i] >= 0 {
			t.Fatalf("limit during the replay = %d and GOGC %d: the limit and GOGC from before, not governed", l, gcDuring[i])
		}
	}
	if got := currentLimit(); got != before || gcPercent() != gogc {
		t.Fatalf("limit after the run = %d and GOGC %d, want %d and %d back", got, gcPercent(), before, gogc)
	}
}

// The limit after a collection: the floor while the heap GOGC allows is
// below it; above it, that heap over the smaller of the last two live
// heaps, so one collection's peak does not lift it.
func TestNextLimit(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		prev, live uint64
		gogc       int64
		reporting  bool
		want       int64
	}{
		{prev: 0, live: 10 * mb, gogc: 50, want: goMemFloor},
		{prev: 20 * mb, live: 20 * mb, gogc: 50, want: goMemFloor},
		{prev: 0, live: 100 * mb, gogc: 50, want: 150 * mb},
		{prev: 100 * mb, live: 100 * mb, gogc: 100, want: 200 * mb},
		{prev: 20 * mb, live: 36 * mb, gogc: 50, want: goMemFloor}, // a peak
		{prev: 36 * mb, live: 20 * mb, gogc: 50, want: goMemFloor}, // after it
		{prev: 80 * mb, live: 100 * mb, gogc: 50, want: 120 * mb},  // rising: the lower
		{prev: 100 * mb, live: 80 * mb, gogc: 50, want: 120 * mb},  // falling: the lower
		{prev: 200 * mb, live: 10 * mb, gogc: 0, want: goMemFloor}, // GOGC=0
		{prev: 0, live: 1 << 62, gogc: 100, want: math.MaxInt64},   // no overflow
		{prev: 0, live: 100 * mb, gogc: 50, reporting: true, want: 125 * mb},
		{prev: 0, live: 30 * mb, gogc: 50, reporting: true, want: goMemFloor},
		{prev: 40 * mb, live: 60 * mb, gogc: 100, reporting: true, want: 60 * mb},
	} {
		got := nextLimit(c.prev, c.live, c.gogc, c.reporting)
		if got != c.want {
			t.Errorf("prev %d MiB live %d MiB GOGC %d reporting %v: %d MiB, want %d MiB", c.prev/mb, c.live/mb, c.gogc, c.reporting, got/mb, c.want/mb)
		}
	}
}

// reportsMemory counts the governed runs writing reports; outside a
// governed run it does nothing.
func TestReportsMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	withLimit(t, 3<<30)
	reporting := func() int {
		governor.mu.Lock()
		defer governor.mu.Unlock()
		return governor.reports
	}
	reportsMemory()()
	if n := reporting(); n != 0 {
		t.Fatalf("%d reporting outside a governed run, want 0", n)
	}
	stop := governMemory()
	done1, done2 := reportsMemory(), reportsMemory()
	if n := reporting(); n != 2 {
		t.Fatalf("%d reporting, want 2", n)
	}
	done1()
	done1()
	if n := reporting(); n != 1 {
		t.Fatalf("%d reporting after one is done (twice), want 1", n)
	}
	done2()
	stop()
	if n := reporting(); n != 0 {
		t.Fatalf("%d reporting after both, want 0", n)
	}
}

// A run that fails or panics after the governor started gives the limit
// and GOGC back all the same.
func TestRunGovernorRestoredOnFailure(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	const before = 6 << 30
	withLimit(t, before)
	defer debug.SetGCPercent(debug.SetGCPercent(60))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{OutDir: t.TempDir(), RunID: "cancelled", Now: time.Now, Scenario: smallScenario(t),
		Progress: func(time.Time, int64) { cancel() }}
	if _, err := Run(ctx, o); err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	if got := currentLimit(); got != before || gcPercent() != 60 {
		t.Fatalf("after a cancelled run: limit %d and GOGC %d, want %d and 60 back", got, gcPercent(), before)
	}
	func() {
		defer func() {
			if r := recover(); r != "injected" {
				t.Fatalf("recovered %v, want the injected panic", r)
			}
		}()
		o.RunID, o.Progress = "panicked", func(time.Time, int64) { panic("injected") }
		_, _ = Run(context.Background(), o)
	}()
	if got := currentLimit(); got != before || gcPercent() != 60 {
		t.Fatalf("after a panicking run: limit %d and GOGC %d, want %d and 60 back", got, gcPercent(), before)
	}
}
