package reports

import (
	"cmp"
	"slices"
	"strings"
)

// The equity curve, the fills and the attribution rows are read in the
// order their files store them and put in order here, not by an ORDER BY:
// DuckDB's sort holds the whole result a second time (12 MiB more in the
// reports of the 100 M-quote bench run). A run writes its tables in order,
// so this is mostly a check; a table stored in another order (rewritten by
// another engine) still loads in order. The sorts are stable, so rows equal
// on the key keep their stored order.

// inOrder sorts s by c, stably, unless it already is.
func inOrder[T any](s []T, c func(a, b T) int) {
	if !slices.IsSortedFunc(s, c) {
		slices.SortStableFunc(s, c)
	}
}

func byEquityTime(a, b EquityPoint) int { return a.Time.Compare(b.Time) }

func byFillSeq(a, b Fill) int { return cmp.Compare(a.Seq, b.Seq) }

// byAttributionSeq is seq, then execution id (bytes, as DuckDB compares
// strings).
func byAttributionSeq(a, b Attributed) int {
	return cmp.Or(cmp.Compare(a.Seq, b.Seq), strings.Compare(a.ExecutionID, b.ExecutionID))
}
