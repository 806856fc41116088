package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// This file owns the canonical order of a quote stream: time, then contract
// symbol. Quotes with the same time reach the simulator in symbol order and
// contract IDs are assigned in that order, so a run does not depend on how
// the rows of one instant were stored (a vendor's file sorted by contract, a
// Delta table rewritten by optimize, a folder partitioned by right).

// Canonical wraps src (whose batches are in non-decreasing time) so that the
// quotes of each instant come out sorted by OCC symbol, with contract IDs
// interned in the order of first appearance in that order. It buffers one
// instant's quotes at most (plus one batch). Quality and Close are src's.
func Canonical(src Source) Source {
	if c, ok := src.(*canonical); ok {
		return c
	}
	return &canonical{src: src, contracts: NewContracts()}
}

type canonical struct {
	src       Source
	contracts *Contracts
	remap     []ContractID // src ID → canonical ID (noContract = not yet)
	// srcSym is each src ID's symbol (in chunks of ContractChunk IDs), pend
	// its contract until mapped, both copied as the batch that interned it
	// arrives: the source may retire its contracts (retire.go) while their
	// quotes still come. A chunk the source retired is dropped (nil): no
	// quote names its IDs again (dropRetired).
	srcSym [][]string
	pend   map[ContractID]Contract
	known  int     // src IDs below it are copied
	retire retirer // of contracts, driven by the Tee that copies them
	buf    []Quote // the held-back instant, then the batch read
	out    Batch
	eof    bool
	err    error
	// The previous instant's source IDs in arrival order and the order that
	// sorts them: most instants list the same contracts in the same order.
	prevSeq  []ContractID
	prevPerm []int32
	perm     []int32
}

func (c *canonical) Contracts() *Contracts  { return c.contracts }
func (c *canonical) Quality() QualityCounts { return c.src.Quality() }
func (c *canonical) Close() error           { return c.src.Close() }

func (c *canonical) Next(ctx context.Context) (*Batch, error) {
	if c.err != nil {
		return nil, c.err
	}
	c.out.Quotes = c.out.Quotes[:0]
	for len(c.out.Quotes) == 0 {
		if c.eof {
			if len(c.buf) == 0 {
				return nil, io.EOF
			}
			c.emit(c.buf)
			c.buf = c.buf[:0]
			break
		}
		b, err := c.src.Next(ctx)
		if errors.Is(err, io.EOF) {
			c.eof = true
			continue
		}
		if err != nil {
			c.err = err
			return nil, err
		}
		c.copyNew()
		c.buf = append(c.buf, b.Quotes...)
		// Emit every complete instant; hold back the last one, which the
		// next batch may continue.
		last := len(c.buf) - 1
		t := c.buf[last].Time
		start := last
		for start > 0 && c.buf[start-1].Time == t {
			start--
		}
		for i := 0; i < start; {
			j := i + 1
			for j < start && c.buf[j].Time == c.buf[i].Time {
				j++
			}
			c.emit(c.buf[i:j])
			i = j
		}
		c.buf = append(c.buf[:0], c.buf[start:]...)
	}
	return &c.out, nil
}

// emit appends one instant's quotes in symbol order.
func (c *canonical) emit(g []Quote) {
	if len(g) == 1 {
		q := g[0]
		q.Contract = c.mapID(q.Contract)
		c.out.Quotes = append(c.out.Quotes, q)
		return
	}
	perm := c.prevPerm
	same := len(g) == len(c.prevSeq)
	for i := 0; same && i < len(g); i++ {
		same = g[i].Contract == c.prevSeq[i]
	}
	if !same {
		c.prevSeq = c.prevSeq[:0]
		c.perm = c.perm[:0]
		for i := range g {
			c.prevSeq = append(c.prevSeq, g[i].Contract)
			c.perm = append(c.perm, int32(i))
		}
		slices.SortStableFunc(c.perm, func(a, b int32) int {
			return strings.Compare(c.sym(g[a].Contract), c.sym(g[b].Contract))
		})
		c.prevPerm, c.perm = c.perm, c.prevPerm
		perm = c.prevPerm
	}
	for _, i := range perm {
		q := g[i]
		q.Contract = c.mapID(q.Contract)
		c.out.Quotes = append(c.out.Quotes, q)
	}
}

func (c *canonical) mapID(id ContractID) ContractID {
	for int(id) >= len(c.remap) {
		c.remap = append(c.remap, noContract)
	}
	if c.remap[id] == noContract {
		k, ok := c.pend[id]
		if !ok {
			panic("feeds: source returned a quote for a contract it has not interned")
		}
		delete(c.pend, id)
		c.remap[id] = c.contracts.Intern(k)
	}
	return c.remap[id]
}

// copyNew copies the contracts the source interned since the last batch.
func (c *canonical) copyNew() {
	tab := c.src.Contracts()
	for id := c.known; id < tab.Len(); id++ {
		k := tab.Get(ContractID(id))
		if k == nil {
			continue // retired before any quote of it came (not by a file source)
		}
		ch := id / ContractChunk
		for ch >= len(c.srcSym) {
			c.srcSym = append(c.srcSym, make([]string, ContractChunk))
		}
		c.srcSym[ch][id%ContractChunk] = k.Symbol
		if c.pend == nil {
			c.pend = make(map[ContractID]Contract)
		}
		c.pend[ContractID(id)] = *k
	}
	c.known = tab.Len()
}

// retireBefore lets the Tee that copied every contract of the canonical
// table retire it (retire.go): nothing else reads it. The symbols of the
// source's retired chunks go at the same looks.
func (c *canonical) retireBefore(now int64) {
	if c.retire.due(now) {
		c.contracts.Retire(now-RetireAfter, nil)
		c.dropRetired()
	}
}

// sym is src ID id's symbol.
func (c *canonical) sym(id ContractID) string {
	ch := c.srcSym[id/ContractChunk]
	if ch == nil {
		panic(fmt.Sprintf("feeds: source returned a quote for contract %d after retiring it", id))
	}
	return ch[id%ContractChunk]
}

// dropRetired drops the symbols of the chunks of src IDs the source
// retired (Contracts.Retire retires whole chunks: Get is nil for the first
// ID of a full chunk only when the chunk went): the source interns a symbol
// again under a new ID, so no quote names a retired ID after its batch (a
// contract is retired a week after its last quote), and the strings would
// otherwise stay for the run.
func (c *canonical) dropRetired() {
	tab := c.src.Contracts()
	for ch, syms := range c.srcSym {
		first := ch * ContractChunk
		if syms != nil && first+ContractChunk <= c.known && tab.Get(ContractID(first)) == nil {
			c.srcSym[ch] = nil
		}
	}
}
