package sim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
)

// TestByID: entries are made chunk by chunk on their first store, keep
// their values across chunks, and a freed chunk reads as absent and is not
// made again, while its neighbours keep theirs.
func TestByID(t *testing.T) {
	const n = feeds.ContractChunk
	var tab byID[int64]
	if tab.get(0) != nil || tab.get(5*n) != nil || tab.held() != 0 {
		t.Fatal("an empty table has entries")
	}
	ids := []feeds.ContractID{0, 1, n - 1, n, 3*n + 7} // chunk 2 never stored
	for _, id := range ids {
		*tab.at(id) = int64(id) + 100
	}
	if tab.held() != 3 {
		t.Fatalf("held %d chunks, want 3 (0, 1 and 3)", tab.held())
	}
	for _, id := range ids {
		if p := tab.get(id); p == nil || *p != int64(id)+100 {
			t.Fatalf("get(%d) = %v, want %d", id, p, int64(id)+100)
		}
	}
	if p := tab.get(2 * n); p != nil {
		t.Fatalf("get(%d) of a chunk never stored = %d, want nil", 2*n, *p)
	}
	if p := tab.get(n + 5); p == nil || *p != 0 {
		t.Fatal("an entry never stored in a made chunk is not zero")
	}
	tab.free(n)
	tab.free(6 * n) // beyond the table: gone before it is ever made
	if tab.get(n) != nil || tab.get(2*n-1) != nil || tab.at(n+3) != nil || tab.at(6*n+1) != nil {
		t.Fatal("a freed chunk still has entries or was made again")
	}
	if tab.held() != 2 || *tab.get(n - 1) != n-1+100 || *tab.get(3*n + 7) != 3*n+7+100 {
		t.Fatal("freeing a chunk changed its neighbours")
	}
	if tab.at(2*n) == nil || tab.held() != 3 {
		t.Fatal("a chunk never stored nor freed is not made")
	}
	if !tab.retired(n+9) || !tab.retired(6*n) || tab.retired(0) || tab.retired(2*n) || tab.retired(40*n) {
		t.Fatal("retired does not tell the freed chunks")
	}
}

// Reading a retired contract's quote is a bug of retiring: it panics
// instead of reading as never quoted; a contract never quoted reads so.
func TestQuoteOfRetiredPanics(t *testing.T) {
	p := newPortfolio(feeds.NewContracts(), 1)
	if q := p.quote(5); q.Time != 0 {
		t.Fatal("a contract never quoted has a quote")
	}
	p.marks.free(0)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "retired") {
			t.Fatalf("quote of a retired contract: recovered %v, want a panic naming it retired", r)
		}
	}()
	p.quote(5)
}
