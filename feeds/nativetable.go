package feeds

import (
	"fmt"
	"strings"
)

// This file owns a native file's contract table as the reader keeps it: a
// file of several years lists tens of thousands of contracts, so the table
// is compact (all symbols in one string, numbers in a flat array, about 60
// bytes a contract) and a contract is built (symMeta) only when its first
// row comes.

// nativeTable is the footer's contract table (NativeContract), compact.
type nativeTable struct {
	symbols string // every symbol, one after another
	rows    []nativeRow
	unds    []string          // distinct underlyings
	rights  map[int32]string  // a right other than C or P, by contract
	undIdx  map[string]uint32 // building only
}

type nativeRow struct {
	symEnd uint32 // end of the symbol in symbols
	und    uint32 // index in unds
	expiry int64  // µs
	strike float64
	mult   float64
	right  Right // 0: rights holds what the footer says
}

// newNativeTable reads a footer's contract table (eachContract).
func newNativeTable(raw string, v1 bool) (*nativeTable, error) {
	t := &nativeTable{undIdx: map[string]uint32{}}
	var syms []byte
	err := eachContract(raw, v1, func(nc *NativeContract) {
		u, ok := t.undIdx[nc.Underlying]
		if !ok {
			u = uint32(len(t.unds))
			t.unds = append(t.unds, nc.Underlying)
			t.undIdx[nc.Underlying] = u
		}
		syms = append(syms, nc.Symbol...)
		r := nativeRow{symEnd: uint32(len(syms)), und: u, expiry: nc.ExpiryUS, strike: nc.Strike, mult: nc.Multiplier}
		switch nc.Right {
		case "C":
			r.right = Call
		case "P":
			r.right = Put
		default:
			if t.rights == nil {
				t.rights = map[int32]string{}
			}
			t.rights[int32(len(t.rows))] = nc.Right
		}
		t.rows = append(t.rows, r)
	})
	t.symbols, t.undIdx = string(syms), nil
	t.rows = t.rows[:len(t.rows):len(t.rows)]
	return t, err
}

func (t *nativeTable) len() int { return len(t.rows) }

// sym builds contract i's symMeta (id noContract), with its verdict when the
// footer defines it badly.
func (s *fileSource) nativeSym(t *nativeTable, i int) symMeta {
	r := &t.rows[i]
	start := uint32(0)
	if i > 0 {
		start = t.rows[i-1].symEnd
	}
	sm := symMeta{id: noContract}
	// Its own string: a slice of the table's (the symbol, the root that
	// ParseOCC cuts from it) would keep every symbol of the file alive in
	// the tables that keep this contract.
	sym := strings.Clone(t.symbols[start:r.symEnd])
	sm.c = Contract{Symbol: sym, Underlying: t.unds[r.und], Expiry: MicrosTime(r.expiry), Strike: r.strike, Multiplier: r.mult, Right: r.right}
	root := sm.c.Underlying
	if occ, err := ParseOCC(sym); err == nil {
		sm.c.Root, root = occ.Root, occ.Root
	}
	sm.c.Settlement = s.roots.settlement(root, sm.c.Expiry)
	if r.right == 0 {
		sm.out, sm.bad = outRight, badField{kind: KindMalformed, field: ColRight, msg: fmt.Sprintf("footer contract %d: want C or P, found %q", i, t.rights[int32(i)])}
	}
	if sym == "" {
		sm.out, sm.bad = outSymbol, badField{kind: KindMalformed, field: ColSymbol, msg: fmt.Sprintf("footer contract %d has no symbol", i)}
	}
	if !(r.mult > 0) {
		sm.out, sm.bad = outMultiplier, badField{kind: KindNonpositive, field: ColMultiplier, msg: fmt.Sprintf("footer contract %d: want multiplier > 0, found %v", i, r.mult)}
	}
	return sm
}

// acceptCode is acceptSlow for a row of symbol code (a row the fast path
// cannot take: a bad quote, a code without an ID yet, or every row of a
// file read with computed greeks); it records the code's ID for the fast
// path.
func (s *fileSource) acceptCode(cur *fileCursor, code uint32, q *Quote) error {
	if cur.syms != nil {
		sm := &cur.syms[code]
		err := s.acceptSlow(cur, sm, q)
		cur.ids[code] = sm.id
		return err
	}
	// A native file: the code's symMeta is built from the compact table
	// on its first row, and kept (cur.lazy) only while the code has no ID
	// or a bad verdict; a code with an ID takes its contract from the table.
	if sm := cur.lazy[code]; sm != nil {
		err := s.acceptSlow(cur, sm, q)
		if cur.ids[code] = sm.id; sm.id != noContract && sm.bad.kind == "" {
			delete(cur.lazy, code)
		}
		return err
	}
	if id := cur.ids[code]; id != noContract {
		cur.scratch = symMeta{id: id, c: *s.contracts.Get(id)} // forget keeps ids live
		return s.acceptSlow(cur, &cur.scratch, q)
	}
	sm := s.nativeSym(cur.native, int(code))
	err := s.acceptSlow(cur, &sm, q)
	if cur.ids[code] = sm.id; sm.id == noContract || sm.bad.kind != "" {
		if cur.lazy == nil {
			cur.lazy = map[uint32]*symMeta{}
		}
		cur.lazy[code] = &sm
	}
	return err
}
