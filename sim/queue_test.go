package sim

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScheduleOrder: over seeded random interleavings of adds and pops,
// the schedule pops every item in (at, class, seq) order among those
// present, as a sorted list would.
func TestScheduleOrder(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var s schedule
		var ref []item
		var seq uint64
		byKey := func(a, b item) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.class, b.class), cmp.Compare(a.seq, b.seq))
		}
		for step := range 2000 {
			if rng.IntN(3) > 0 || len(ref) == 0 {
				it := item{at: int64(rng.IntN(50)), class: class(rng.IntN(8))}
				s.add(it)
				seq++
				it.seq = seq
				ref = append(ref, it)
				slices.SortFunc(ref, byKey)
				continue
			}
			if top, ok := s.peek(); !ok || top != ref[0] {
				t.Fatalf("seed %d step %d: peek %+v, want %+v", seed, step, top, ref[0])
			}
			if got := s.pop(); got != ref[0] {
				t.Fatalf("seed %d step %d: pop %+v, want %+v", seed, step, got, ref[0])
			}
			ref = ref[1:]
			if s.Len() != len(ref) {
				t.Fatalf("seed %d: %d items, want %d", seed, s.Len(), len(ref))
			}
		}
	}
}
