package sim

import (
	"math"
	"slices"
	"sort"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns the chain index: the contracts alive at the current
// instant (quoted at least once, not yet expired) by underlying, right,
// expiry and strike, so that choosing a contract costs the size of the
// live chain, not the number of contracts the feed ever listed.

// chain is one underlying's contracts of one right, by expiry.
type chain struct {
	expiries []expiryGroup // ascending expiry; expired ones are dropped from the front
}

// expiryGroup is one expiry's contracts by ascending strike (then id).
type expiryGroup struct {
	expiry  int64 // µs
	ids     []feeds.ContractID
	strikes []float64
}

// chainIndex holds the chains by underlying index (Portfolio.unders) and right.
type chainIndex struct {
	chains [][2]*chain // [underlying][0 call, 1 put]
}

func rightSlot(r feeds.Right) int {
	if r == feeds.Call {
		return 0
	}
	return 1
}

// add indexes a contract on its first quote; u is its underlying index.
func (x *chainIndex) add(c *feeds.Contract, u int) {
	for len(x.chains) <= u {
		x.chains = append(x.chains, [2]*chain{{}, {}})
	}
	ch := x.chains[u][rightSlot(c.Right)]
	exp := c.Expiry.UnixMicro()
	i, found := slices.BinarySearchFunc(ch.expiries, exp, func(g expiryGroup, t int64) int { return cmpInt(g.expiry, t) })
	if !found {
		ch.expiries = slices.Insert(ch.expiries, i, expiryGroup{expiry: exp})
	}
	g := &ch.expiries[i]
	j := sort.Search(len(g.ids), func(k int) bool {
		return g.strikes[k] > c.Strike || g.strikes[k] == c.Strike && g.ids[k] > c.ID
	})
	g.ids = slices.Insert(g.ids, j, c.ID)
	g.strikes = slices.Insert(g.strikes, j, c.Strike)
}

// live is ch's expiry groups after now, dropping the expired ones.
func (ch *chain) live(now int64) []expiryGroup {
	k := 0
	for k < len(ch.expiries) && ch.expiries[k].expiry <= now {
		k++
	}
	if k > 0 {
		ch.expiries = slices.Delete(ch.expiries, 0, k)
	}
	return ch.expiries
}

// wing finds the contract of strike in g.
func (g *expiryGroup) wing(strike float64) (feeds.ContractID, bool) {
	i, _ := slices.BinarySearch(g.strikes, strike-1e-6)
	for ; i < len(g.strikes) && g.strikes[i] <= strike+1e-6; i++ {
		if math.Abs(g.strikes[i]-strike) < 1e-6 {
			return g.ids[i], true
		}
	}
	return 0, false
}

// candidate is a contract choice's sort key: lower is better.
type candidate struct {
	score  float64
	dte    int
	strike float64
	id     feeds.ContractID
}

// better reports whether a beats b: by score, then days to expiry, then
// strike, then contract id.
func (a candidate) better(b candidate) bool {
	switch {
	case a.score != b.score:
		return a.score < b.score
	case a.dte != b.dte:
		return a.dte < b.dte
	case a.strike != b.strike:
		return a.strike < b.strike
	}
	return a.id < b.id
}
