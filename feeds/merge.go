package feeds

import (
	"context"
	"errors"
	"io"
	"slices"
)

// mergeBatchQuotes bounds a merged batch.
const mergeBatchQuotes = 8192

// Merge interleaves sources into one stream in non-decreasing time. Ties (equal times) go to
// the source listed first; within a source, rows keep their order. The merged source has its
// own contract table: a contract is interned (by OCC symbol) at its first quote in the merged
// stream, so the same symbol in two sources is one contract (the first source's definition
// wins). Quality sums the sources' counts. Close closes every source.
func Merge(srcs ...Source) Source {
	m := &merged{srcs: slices.Clone(srcs), contracts: NewContracts()}
	m.heads = make([]mergeHead, len(srcs))
	m.remap = make([][]ContractID, len(srcs))
	return m
}

type mergeHead struct {
	b    *Batch
	pos  int
	done bool
}

type merged struct {
	srcs      []Source
	heads     []mergeHead
	remap     [][]ContractID // per source: source ID → merged ID (noContract = not yet)
	contracts *Contracts
	batch     Batch
	closed    bool
}

func (m *merged) Contracts() *Contracts { return m.contracts }

func (m *merged) Quality() QualityCounts {
	out := QualityCounts{}
	for _, s := range m.srcs {
		for k, v := range s.Quality() {
			out[k] += v
		}
	}
	return out
}

func (m *merged) Close() error {
	m.closed = true
	var errs []error
	for _, s := range m.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// fill makes sure head i has an unread quote unless the source is exhausted.
func (m *merged) fill(ctx context.Context, i int) error {
	h := &m.heads[i]
	for !h.done && (h.b == nil || h.pos >= len(h.b.Quotes)) {
		b, err := m.srcs[i].Next(ctx)
		if err == io.EOF {
			h.done, h.b = true, nil
			return nil
		}
		if err != nil {
			return err
		}
		h.b, h.pos = b, 0
	}
	return nil
}

func (m *merged) Next(ctx context.Context) (*Batch, error) {
	if m.closed {
		return nil, errClosed
	}
	m.batch.Quotes = m.batch.Quotes[:0]
	for len(m.batch.Quotes) < mergeBatchQuotes {
		best := -1
		var bestT int64
		for i := range m.heads {
			if err := m.fill(ctx, i); err != nil {
				return nil, err
			}
			h := &m.heads[i]
			if h.done {
				continue
			}
			if t := h.b.Quotes[h.pos].Time; best < 0 || t < bestT {
				best, bestT = i, t
			}
		}
		if best < 0 {
			break
		}
		// Take the run of the best source's quotes that stay strictly before every other
		// head (or equal to a later source's head: ties go to the lower index).
		var limit int64
		limitIncl, haveLimit := false, false
		for i := range m.heads {
			h := &m.heads[i]
			if i == best || h.done {
				continue
			}
			t := h.b.Quotes[h.pos].Time
			incl := i > best
			if !haveLimit || t < limit || (t == limit && !incl) {
				limit, limitIncl, haveLimit = t, incl, true
			}
		}
		h := &m.heads[best]
		for h.pos < len(h.b.Quotes) && len(m.batch.Quotes) < mergeBatchQuotes {
			q := h.b.Quotes[h.pos]
			if haveLimit && (q.Time > limit || (q.Time == limit && !limitIncl)) {
				break
			}
			q.Contract = m.mapID(best, q.Contract)
			m.batch.Quotes = append(m.batch.Quotes, q)
			h.pos++
		}
	}
	if len(m.batch.Quotes) == 0 {
		return nil, io.EOF
	}
	return &m.batch, nil
}

func (m *merged) mapID(src int, id ContractID) ContractID {
	r := m.remap[src]
	for int(id) >= len(r) {
		r = append(r, noContract)
	}
	m.remap[src] = r
	if r[id] == noContract {
		c := m.srcs[src].Contracts().Get(id)
		if c == nil {
			panic("feeds: source returned a quote for a contract it has not interned")
		}
		r[id] = m.contracts.Intern(*c)
	}
	return r[id]
}
