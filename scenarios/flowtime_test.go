package scenarios

import (
	"testing"
	"time"
)

func TestQuoteFlowTimestamps(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"entry: {times: [2018-01-29T21:00:00Z]}\n", "entry: {times: [\"2018-01-29T21:00:00Z\"]}\n"},
		{"e: {times: [2018-01-29T21:00:00Z, 2018-01-30 21:00:00.5 -05:00 ]}", "e: {times: [\"2018-01-29T21:00:00Z\", \"2018-01-30 21:00:00.5 -05:00\" ]}"},
		{"e: {at: 2018-01-29T21:00:00Z}", "e: {at: \"2018-01-29T21:00:00Z\"}"},
		// Block style, quoted values, comments and plain text are left alone.
		{"times:\n  - 2018-01-29T21:00:00Z\n", "times:\n  - 2018-01-29T21:00:00Z\n"},
		{"e: {t: [\"2018-01-29T21:00:00Z\"]}", "e: {t: [\"2018-01-29T21:00:00Z\"]}"},
		{"d: 'it''s [2018-01-29T21:00:00Z]'\n", "d: 'it''s [2018-01-29T21:00:00Z]'\n"},
		{"# [2018-01-29T21:00:00Z]\nx: 1\n", "# [2018-01-29T21:00:00Z]\nx: 1\n"},
		{"d: at 2018-01-29T21:00:00Z, ok\n", "d: at 2018-01-29T21:00:00Z, ok\n"},
		{"e: {d: [2018-01-29]}", "e: {d: [2018-01-29]}"},
	} {
		if got := string(quoteFlowTimestamps([]byte(c.in))); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// Flow style decodes like block style.
func TestFlowTimestampsDecode(t *testing.T) {
	base := "name: x\nperiod: {start: 2018-01-29, end: 2018-02-02}\nfeed: {synthetic: {underlying: SPY, days: [{date: 2018-01-29, open: 1, high: 1, low: 1, close: 1, vix: 1}]}}\nstrategy:\n"
	flow := base + "  entry: {right: put, times: [2018-01-29T21:00:00Z, 2018-01-30T15:00:00-05:00]}\n"
	block := base + "  entry:\n    right: put\n    times:\n      - 2018-01-29T21:00:00Z\n      - 2018-01-30T15:00:00-05:00\n"
	var got [2][]time.Time
	for i, src := range []string{flow, block} {
		l, err := Parse("x.yaml", []byte(src), nil)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got[i] = l.Strategy.Entry.Times
	}
	want := []time.Time{time.Date(2018, 1, 29, 21, 0, 0, 0, time.UTC), time.Date(2018, 1, 30, 20, 0, 0, 0, time.UTC)}
	for i := range got {
		if len(got[i]) != 2 || !got[i][0].Equal(want[0]) || !got[i][1].Equal(want[1]) {
			t.Errorf("style %d: %v, want %v", i, got[i], want)
		}
	}
}
