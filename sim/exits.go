package sim

import "fmt"

// This file owns the exit rules other than the stops (ExitConfig): the
// first that fires names the exit.

// exitRule is the name of the first exit rule that fires for pos, whose
// net premium is bid/ask (as the stops see it), or "".
func (e *Engine) exitRule(pos *Position, bid, ask float64) (string, error) {
	x := &e.cfg.Strategy.Exit
	if x.DTEFloor > 0 && e.dte(pos.Expiry) <= x.DTEFloor {
		return "dte_floor", nil
	}
	if e.exitAt >= 0 {
		d := e.day(e.now)
		if at := d.midnight + e.exitAt; e.now >= at && pos.OpenedAt < at {
			return "time_of_day", nil
		}
	}
	if x.MaxHold > 0 && e.now-pos.OpenedAt >= x.MaxHold.Microseconds() {
		return "max_hold", nil
	}
	p := pos.EntryPremium
	if x.ProfitTargetPct > 0 && p > 0 {
		if pos.Long && bid >= p*(1+x.ProfitTargetPct/100)-1e-12 || !pos.Long && ask <= p*(1-x.ProfitTargetPct/100)+1e-12 {
			return "profit_target", nil
		}
	}
	if x.LossLimit > 0 && p > 0 {
		if pos.Long && bid <= p*(1-x.LossLimit)+1e-12 || !pos.Long && ask >= p*(1+x.LossLimit)-1e-12 {
			return "loss_limit", nil
		}
	}
	if e.cond != nil && e.cond.exit != nil {
		ok, err := e.evalCond(e.cond.exit, pos)
		if err != nil {
			return "", fmt.Errorf("sim: strategy.exit.when: %w", err)
		}
		if ok {
			return "condition", nil
		}
	}
	return "", nil
}
