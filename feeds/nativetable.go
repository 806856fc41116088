package feeds

import "fmt"

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
	sym := t.symbols[start:r.symEnd]
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

// symOf is the symMeta of symbol code of the current file: the fast path's
// list, or for a native file the one built on the code's first slow row
// (kept while the code has no ID or a bad verdict).
func (s *fileSource) symOf(cur *fileCursor, code uint32) *symMeta {
	if cur.syms != nil {
		return &cur.syms[code]
	}
	if sm := cur.lazy[code]; sm != nil {
		return sm
	}
	sm := s.nativeSym(cur.native, int(code))
	sm.id = cur.ids[code]
	if cur.lazy == nil {
		cur.lazy = map[uint32]*symMeta{}
	}
	cur.lazy[code] = &sm
	return &sm
}

// acceptCode is acceptSlow for a row of symbol code; it records the code's ID
// for the fast path.
func (s *fileSource) acceptCode(cur *fileCursor, code uint32, q *Quote) error {
	sm := s.symOf(cur, code)
	err := s.acceptSlow(cur, sm, q)
	cur.ids[code] = sm.id
	if cur.syms == nil && sm.id != noContract && sm.bad.kind == "" {
		delete(cur.lazy, code)
	}
	return err
}
