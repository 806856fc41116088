package reports

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// hourlyCounts is seeded random risk event counts over hours with events:
// one session of 7 hours a day, some hours empty, some components absent.
func hourlyCounts(seed uint64, hours int) ([]hourEvents, []EquityPoint) {
	rng := rand.New(rand.NewPCG(seed, 1))
	comps := []string{"circuit_breaker", "trailing_stop", "portfolio_limits", "strategy"}
	start := time.Date(2024, 1, 2, 14, 0, 0, 0, time.UTC)
	var out []hourEvents
	var pts []EquityPoint
	for d, h := 0, 0; h < hours; d++ {
		for k := 0; k < 7 && h < hours; k++ {
			at := start.AddDate(0, 0, d).Add(time.Duration(k) * time.Hour)
			pts = append(pts, EquityPoint{Time: at}, EquityPoint{Time: at.Add(30 * time.Minute)})
			if rng.IntN(5) == 0 {
				continue // an hour without events
			}
			any := false
			for _, c := range comps {
				if rng.IntN(3) == 0 {
					continue
				}
				out = append(out, hourEvents{Hour: at, Component: c, N: int64(1 + rng.IntN(40))})
				any = true
			}
			if any {
				h++
			}
		}
	}
	return out, pts
}

// The events chart draws every hour with events up to maxEventBars; past
// it, each bar is the busiest hour of a group of consecutive hours, the
// bars stay within the bound, and the legend still counts every event.
func TestEventBars(t *testing.T) {
	for _, tc := range []struct {
		hours, per int
	}{
		{hours: 10, per: 1},
		{hours: maxEventBars, per: 1},
		{hours: maxEventBars + 1, per: 2},
		{hours: 5 * maxEventBars, per: 5},
		{hours: 5*maxEventBars + 3, per: 6},
	} {
		counts, pts := hourlyCounts(uint64(tc.hours), tc.hours)
		ax := newTimeAxis(time.UTC, pts)
		x0, x1, stacks, per := eventBars(ax, counts)
		if per != tc.per {
			t.Fatalf("%d hours: %d hours a bar, want %d", tc.hours, per, tc.per)
		}
		// every hour with events, in order, with its counts by component
		var hours []time.Time
		byHour := map[time.Time]map[string]float64{}
		totals := map[string]int64{}
		for _, c := range counts {
			if len(hours) == 0 || !hours[len(hours)-1].Equal(c.Hour) {
				hours = append(hours, c.Hour)
				byHour[c.Hour] = map[string]float64{}
			}
			byHour[c.Hour][c.Component] += float64(c.N)
			totals[c.Component] += c.N
		}
		if len(hours) != tc.hours {
			t.Fatalf("test data: %d hours with events, want %d", len(hours), tc.hours)
		}
		bars := (len(hours) + per - 1) / per
		if len(x0) != bars || len(x1) != bars || bars > maxEventBars {
			t.Fatalf("%d hours: %d bars (%d ends), want %d, at most %d", tc.hours, len(x0), len(x1), bars, maxEventBars)
		}
		var names []string
		for _, st := range stacks {
			names = append(names, st.component)
			if st.total != totals[st.component] {
				t.Errorf("%s: legend total %d, want %d", st.component, st.total, totals[st.component])
			}
		}
		if want := []string{"circuit_breaker", "trailing_stop", "portfolio_limits", "strategy"}; !slices.Equal(names, want) {
			t.Fatalf("stacks %v, want %v", names, want)
		}
		for b := range bars {
			group := hours[b*per : min((b+1)*per, len(hours))]
			if x0[b] != ax.x(group[0]) || x1[b] != ax.x(group[len(group)-1].Add(time.Hour)) {
				t.Fatalf("bar %d spans [%v, %v], want its group's hours", b, x0[b], x1[b])
			}
			if b > 0 && x0[b] < x1[b-1] {
				t.Fatalf("bar %d starts at %v, before bar %d ends (%v)", b, x0[b], b-1, x1[b-1])
			}
			// the bar's stack is the counts of the group's first busiest hour
			drawn := map[string]float64{}
			for i, st := range stacks {
				if i > 0 && st.base[b] != stacks[i-1].top[b] {
					t.Fatalf("bar %d: %s does not sit on the stack below", b, st.component)
				}
				drawn[st.component] = st.top[b] - st.base[b]
			}
			busiest, most := time.Time{}, -1.0
			for _, h := range group {
				var sum float64
				for _, v := range byHour[h] {
					sum += v
				}
				if sum > most {
					busiest, most = h, sum
				}
			}
			for _, st := range stacks {
				if drawn[st.component] != byHour[busiest][st.component] {
					t.Fatalf("bar %d: %s drawn %v, want the busiest hour's %v", b, st.component, drawn[st.component], byHour[busiest][st.component])
				}
			}
		}
	}
}
