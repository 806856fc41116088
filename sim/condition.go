package sim

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// This file owns conditions: strategy.entry.when and strategy.exit.when,
// expressions (github.com/expr-lang/expr) over the market and the book,
// compiled once per run and evaluated without allocation.

// Env is the variables a condition reads. Entry and exit conditions see
// the same market and book; the pos_ variables are the position's own in
// an exit condition and 0 in an entry condition.
//
//	variable        type    meaning
//	price           float   latest price of the underlying (strategy.entry.underlying, else the first quoted)
//	ret_1d, ret_5d  float   price / the close 1 (5) trading days before − 1; NaN (every comparison false) until that history exists
//	vix             float   the chain's ATM implied vol × 100: the IV of the put whose |delta| is closest to 0.50 in the
//	                        nearest expiry at least 7 days out (the feeds carry no VIX quote; the synthetic feed derives its
//	                        IVs from the scenario's VIX, so this tracks it); NaN without a quoted put
//	iv_rank(n)      float   (vix − min) / (max − min) over today's vix and the n − 1 previous daily closing values, in [0, 1]
//	iv_percentile(n) float  fraction of the n previous daily closing vix values below today's, in [0, 1]
//	minute          int     minutes since local midnight in the session's zone (09:30 = 570)
//	weekday         int     0 Sunday … 6 Saturday
//	dte_next        int     days to the next listed expiry of the underlying
//	delta, gamma    float   portfolio delta and gamma, share equivalents
//	exposure        float   Σ position values on the limits' basis (max loss or margin-like notional), dollars
//	open_positions  int     open positions plus entries in flight
//	day_pnl         float   realized P&L of the local day so far, dollars
//	pos_pnl         float   exit only: the position's P&L at its mark, dollars, costs included
//	pos_pnl_pct     float   exit only: pos_pnl as % of the entry premium (50 = half the credit kept or the debit gained)
//	pos_premium     float   exit only: the structure's net mark per share
//	pos_dte         int     exit only: days to the position's first expiry
//	pos_days        float   exit only: days since the position opened
//
// n in iv_rank and iv_percentile is an integer literal in [2, 252]; a
// condition holds at most 8 distinct windows. Comparisons and logic over
// these variables evaluate without allocating; arithmetic on them (vix *
// 2) boxes each intermediate float.
type Env struct {
	Price         float64             `expr:"price"`
	Ret1D         float64             `expr:"ret_1d"`
	Ret5D         float64             `expr:"ret_5d"`
	VIX           float64             `expr:"vix"`
	Minute        int                 `expr:"minute"`
	Weekday       int                 `expr:"weekday"`
	DTENext       int                 `expr:"dte_next"`
	Delta         float64             `expr:"delta"`
	Gamma         float64             `expr:"gamma"`
	Exposure      float64             `expr:"exposure"`
	OpenPositions int                 `expr:"open_positions"`
	DayPnL        float64             `expr:"day_pnl"`
	PosPnL        float64             `expr:"pos_pnl"`
	PosPnLPct     float64             `expr:"pos_pnl_pct"`
	PosPremium    float64             `expr:"pos_premium"`
	PosDTE        int                 `expr:"pos_dte"`
	PosDays       float64             `expr:"pos_days"`
	Windows       [maxWindows]float64 `expr:"windows__"` // iv_rank / iv_percentile calls, rewritten at compile time
}

const maxWindows = 8

// window is one iv_rank(n) or iv_percentile(n) call of a condition.
type window struct {
	pct bool
	n   int
}

// Condition is a compiled condition.
type Condition struct {
	Source  string
	prog    *vm.Program
	windows []window
	machine vm.VM
	box     any  // an Env value boxed once; p points into it
	p       *Env // written in place before each evaluation
}

// ExprError is a condition that does not compile: Col is the 0-based
// column of the problem in the expression's line Line (1-based).
type ExprError struct {
	Line, Col int
	Msg       string
}

func (e *ExprError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col+1, e.Msg) }

// windowPatch rewrites iv_rank(n) and iv_percentile(n) into reads of the
// precomputed Env.Windows slots.
type windowPatch struct {
	windows []window
	err     error
}

func (w *windowPatch) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || (id.Value != "iv_rank" && id.Value != "iv_percentile") {
		return
	}
	if len(call.Arguments) != 1 {
		w.fail(call, id.Value+" takes one argument, the window in days")
		return
	}
	n, ok := call.Arguments[0].(*ast.IntegerNode)
	if !ok || n.Value < 2 || n.Value > 252 {
		w.fail(call, id.Value+"(n): n must be an integer literal in [2, 252]")
		return
	}
	win := window{pct: id.Value == "iv_percentile", n: n.Value}
	k := -1
	for i, x := range w.windows {
		if x == win {
			k = i
		}
	}
	if k < 0 {
		if len(w.windows) == maxWindows {
			w.fail(call, fmt.Sprintf("at most %d distinct iv_rank/iv_percentile windows", maxWindows))
			return
		}
		k = len(w.windows)
		w.windows = append(w.windows, win)
	}
	m := &ast.MemberNode{Node: &ast.IdentifierNode{Value: "windows__"}, Property: &ast.IntegerNode{Value: k}}
	ast.Patch(node, m)
}

func (w *windowPatch) fail(n ast.Node, msg string) {
	if w.err == nil {
		w.err = &ExprError{Line: 1, Col: n.Location().From, Msg: msg}
	}
}

// CompileCondition compiles a condition over Env. An error is an
// *ExprError with the position of the problem in src.
func CompileCondition(src string) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Line: 1, Msg: "empty condition"}
	}
	wp := &windowPatch{}
	prog, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool(), expr.Patch(wp))
	if wp.err != nil {
		ee := wp.err.(*ExprError)
		ee.Line, ee.Col = lineCol(src, ee.Col)
		return nil, ee
	}
	if err != nil {
		if fe, ok := err.(*file.Error); ok {
			return nil, &ExprError{Line: fe.Line, Col: fe.Column, Msg: fe.Message}
		}
		return nil, &ExprError{Line: 1, Msg: err.Error()}
	}
	c := &Condition{Source: src, prog: prog, windows: wp.windows, box: boxEnv(Env{})}
	// The boxed Env is never addressable through reflection, so the VM's
	// field reads return views of it instead of copies: no allocation. We
	// keep a pointer to it and write the variables in place.
	c.p = (*Env)((*[2]unsafe.Pointer)(unsafe.Pointer(&c.box))[1])
	return c, nil
}

//go:noinline
func boxEnv(v Env) any { return v }

// lineCol turns a rune offset of src into a 1-based line and 0-based column.
func lineCol(src string, off int) (line, col int) {
	line = 1
	i := 0
	for _, r := range src {
		if i == off {
			break
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
		i++
	}
	return line, col
}

// Env is the condition's variables, to be set before Eval.
func (c *Condition) Env() *Env { return c.p }

// Eval evaluates the condition on the variables in Env().
func (c *Condition) Eval() (bool, error) {
	out, err := c.machine.Run(c.prog, c.box)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", c.Source, err)
	}
	return out.(bool), nil
}

// setWindows fills the iv_rank/iv_percentile slots from today's vix and
// the daily closing series (oldest first).
func (c *Condition) setWindows(vix float64, daily []float64) {
	for k, w := range c.windows {
		c.p.Windows[k] = windowValue(w, vix, daily)
	}
}

func windowValue(w window, vix float64, daily []float64) float64 {
	if math.IsNaN(vix) {
		return math.NaN()
	}
	if w.pct {
		prev := daily[max(len(daily)-w.n, 0):]
		if len(prev) == 0 {
			return math.NaN()
		}
		below := 0
		for _, v := range prev {
			if v < vix {
				below++
			}
		}
		return float64(below) / float64(len(prev))
	}
	prev := daily[max(len(daily)-(w.n-1), 0):]
	lo, hi := vix, vix
	for _, v := range prev {
		if !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi == lo {
		return math.NaN()
	}
	return (vix - lo) / (hi - lo)
}
