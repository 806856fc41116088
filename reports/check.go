package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Baseline is a committed expectation of a scenario's results.
type Baseline struct {
	Scenario  string    `json:"scenario"`
	Tolerance Tolerance `json:"tolerance"`
	Results   Object    `json:"results"`
}

// Tolerance says how far floats may move. Counts (integers) and strings
// must match exactly.
type Tolerance struct {
	// Relative is the default relative tolerance for money and ratios.
	Relative float64 `json:"relative"`
	// Absolute is a floor under it, for values near zero (a day's P&L that
	// nets out, a ratio of small numbers), whose last bits differ between
	// machines (FMA on one CPU, not on another) far beyond any relative
	// tolerance: floats pass when |a−b| <= max(Absolute, Relative·max(|a|,|b|)).
	Absolute float64 `json:"absolute,omitempty"`
	// Fields overrides Relative for single fields by dotted path
	// ("ratios.sharpe") or by prefix ending in a dot ("daily_pnl.").
	Fields map[string]float64 `json:"fields,omitempty"`
}

// Tolerances a new baseline gets: floats to nine significant digits, and
// nothing smaller than a millionth (of a dollar, a percent point, a ratio).
const (
	DefaultRelative = 1e-9
	DefaultAbsolute = 1e-6
)

// ParseBaseline reads a baseline file. Numbers stay exact (json.Number)
// until compared.
func ParseBaseline(b []byte) (*Baseline, error) {
	var raw struct {
		Scenario  string          `json:"scenario"`
		Tolerance Tolerance       `json:"tolerance"`
		Results   json.RawMessage `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("reports: baseline: %w", err)
	}
	res, err := decodeObject(raw.Results)
	if err != nil {
		return nil, fmt.Errorf("reports: baseline results: %w", err)
	}
	if raw.Tolerance.Relative < 0 || raw.Tolerance.Absolute < 0 {
		return nil, fmt.Errorf("reports: baseline tolerances must be >= 0, got relative %g, absolute %g", raw.Tolerance.Relative, raw.Tolerance.Absolute)
	}
	return &Baseline{Scenario: raw.Scenario, Tolerance: raw.Tolerance, Results: res}, nil
}

// decodeObject decodes JSON into an Object with int64 for integers and
// float64 for other numbers, the types Summarize produces.
func decodeObject(b []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return normalize(m).(Object), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := Object{}
		for k, e := range x {
			o[k] = normalize(e)
		}
		return o
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	}
	return v
}

// Encode writes the baseline byte-stably.
func (b *Baseline) Encode() []byte {
	tol := Object{"relative": b.Tolerance.Relative}
	if b.Tolerance.Absolute > 0 {
		tol["absolute"] = b.Tolerance.Absolute
	}
	if len(b.Tolerance.Fields) > 0 {
		f := Object{}
		for k, v := range b.Tolerance.Fields {
			f[k] = v
		}
		tol["fields"] = f
	}
	return Encode(Object{"scenario": b.Scenario, "tolerance": tol, "results": b.Results})
}

// Flatten maps every leaf of o to its dotted path.
func Flatten(o Object) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(Object); ok {
			if len(m) == 0 {
				out[prefix] = Object{}
			}
			for k, e := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
			return
		}
		out[prefix] = v
	}
	walk("", o)
	return out
}

// Drift is one field that moved.
type Drift struct {
	Field     string
	Was, Now  any // nil when absent
	Tolerance float64
}

func (d Drift) String() string {
	switch {
	case d.Was == nil:
		return fmt.Sprintf("%s: new field = %s", d.Field, show(d.Now))
	case d.Now == nil:
		return fmt.Sprintf("%s: missing (was %s)", d.Field, show(d.Was))
	}
	s := fmt.Sprintf("%s: %s → %s", d.Field, show(d.Was), show(d.Now))
	a, aok := numeric(d.Was)
	b, bok := numeric(d.Now)
	if aok && bok && !math.IsNaN(a) && !math.IsNaN(b) {
		s += fmt.Sprintf(" (%+.6g", b-a)
		if a != 0 {
			s += fmt.Sprintf(", %+.4g%%", (b-a)/math.Abs(a)*100)
		}
		s += ")"
	}
	return s
}

func show(v any) string {
	switch x := v.(type) {
	case float64:
		return FormatFloat(x)
	case string:
		return strconv.Quote(x)
	case Object:
		return "{}"
	}
	return fmt.Sprint(v)
}

func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// tolerance is the relative tolerance for a field.
func (t Tolerance) tolerance(field string) float64 {
	best, bestLen := t.Relative, -1
	for k, v := range t.Fields {
		if (k == field || (strings.HasSuffix(k, ".") && strings.HasPrefix(field, k))) && len(k) > bestLen {
			best, bestLen = v, len(k)
		}
	}
	return best
}

// Diff compares results with the baseline: integers (counts) and strings
// exactly, floats within the tolerance, where a float meets an integer too
// (an older baseline wrote whole floats as integers); null equals null.
// Drifts come sorted by field.
func (b *Baseline) Diff(results Object) []Drift {
	was, now := Flatten(b.Results), Flatten(normalizeObject(results))
	keys := map[string]bool{}
	for k := range was {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var out []Drift
	for _, k := range slices.Sorted(mapKeys(keys)) {
		w, wok := was[k]
		n, nok := now[k]
		tol := b.Tolerance.tolerance(k)
		switch {
		case !wok:
			out = append(out, Drift{Field: k, Now: n, Tolerance: tol})
		case !nok:
			out = append(out, Drift{Field: k, Was: w, Tolerance: tol})
		case !equalWithin(w, n, tol, b.Tolerance.Absolute):
			out = append(out, Drift{Field: k, Was: w, Now: n, Tolerance: tol})
		}
	}
	return out
}

// normalizeObject makes a fresh summary compare like a parsed baseline:
// NaN/Inf become nil (they encode as null).
func normalizeObject(o Object) Object {
	b := Encode(o)
	n, err := decodeObject(b)
	if err != nil {
		panic("reports: re-decoding an encoded object: " + err.Error())
	}
	return n
}

func equalWithin(a, b any, rel, abs float64) bool {
	close := func(x, y float64) bool {
		return math.Abs(x-y) <= math.Max(abs, rel*math.Max(math.Abs(x), math.Abs(y)))
	}
	switch x := a.(type) {
	case float64:
		switch y := b.(type) {
		case float64:
			return close(x, y)
		case int64: // an older baseline may hold a whole float as an integer
			return close(x, float64(y))
		}
		return false
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y // counts are exact
		case float64:
			return close(float64(x), y)
		}
		return false
	case Object:
		y, ok := b.(Object)
		return ok && len(x) == 0 && len(y) == 0
	}
	return a == b
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ReadResults reads the results part of a summary.json, and the run id.
func ReadResults(path string) (results Object, runID string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var sum struct {
		Results json.RawMessage `json:"results"`
		Run     struct {
			RunID string `json:"run_id"`
		} `json:"run"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, "", fmt.Errorf("reports: %s: %w", path, err)
	}
	if results, err = decodeObject(sum.Results); err != nil {
		return nil, "", fmt.Errorf("reports: %s: results: %w", path, err)
	}
	return results, sum.Run.RunID, nil
}
