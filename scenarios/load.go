package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/sim"
)

//go:embed *.yaml
var builtin embed.FS

// maxScenarioBytes bounds what Load reads: a scenario is a config file, not
// a data set.
const maxScenarioBytes = 16 << 20

// Builtin is one embedded scenario.
type Builtin struct {
	Name, Description string
}

// Builtins lists the embedded scenarios, sorted by name.
func Builtins() []Builtin {
	names, _ := fs.Glob(builtin, "*.yaml")
	slices.Sort(names)
	var out []Builtin
	for _, n := range names {
		b, _ := builtin.ReadFile(n)
		var head struct {
			Description string `yaml:"description"`
		}
		_ = yaml.Unmarshal(b, &head)
		out = append(out, Builtin{Name: strings.TrimSuffix(n, ".yaml"), Description: head.Description})
	}
	return out
}

// Loaded is a scenario with where it came from.
type Loaded struct {
	Scenario
	File string   // the path given, or "builtin:NAME"
	Sets []string // the --set overrides applied, in order
	src  []byte
}

// Read returns the bytes of a scenario named by path or built-in name: an
// existing file wins; otherwise "spy_crash", "spy_crash.yaml" and
// "scenarios/spy_crash.yaml" name the built-in.
func Read(arg string) (name string, b []byte, err error) {
	if st, serr := os.Stat(arg); serr == nil && !st.IsDir() {
		b, err = readScenarioFile(arg)
		return arg, b, err
	}
	base := strings.TrimSuffix(filepath.Base(arg), ".yaml")
	if b, err := builtin.ReadFile(base + ".yaml"); err == nil && (arg == base || arg == base+".yaml" || filepath.Dir(arg) == "scenarios") {
		return "builtin:" + base, b, nil
	}
	var names []string
	for _, bi := range Builtins() {
		names = append(names, bi.Name)
	}
	return arg, nil, &Error{File: arg, Msg: fmt.Sprintf("no such file, and not a built-in scenario (built-ins: %s)", strings.Join(names, ", "))}
}

// Load reads, decodes strictly, applies the overrides and validates a
// scenario. Every problem is an *Error wrapping ErrInvalid.
func Load(arg string, sets []string) (*Loaded, error) {
	name, b, err := Read(arg)
	if err != nil {
		return nil, err
	}
	return Parse(name, b, sets)
}

// Parse is Load on bytes already read; name labels errors.
func Parse(name string, b []byte, sets []string) (*Loaded, error) {
	l := &Loaded{File: name, src: b}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, &Error{File: name, Msg: errEmpty}
	}
	if err := checkTokens(b); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	file, err := parser.ParseBytes(quoteFlowTimestamps(b), 0)
	if err != nil {
		return nil, yamlError(name, nil, err)
	}
	if err := checkExpansion(file); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if err := decodeFile(file, &l.Scenario); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: errEmpty + " (no YAML document, only comments or blank lines)"}
		}
		return nil, yamlError(name, file, err)
	}
	for _, kv := range sets {
		if err := Set(&l.Scenario, kv); err != nil {
			var se *Error
			if errors.As(err, &se) {
				se.File = name
			}
			return nil, err
		}
		l.Sets = append(l.Sets, kv)
	}
	if err := l.Scenario.Validate(); err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = name
			if kv := l.setFor(se.Field); kv != "" {
				se.Set = kv
				if se.exprLine > 0 {
					se.Msg += fmt.Sprintf(" (at line %d, column %d of the expression)", se.exprLine, se.exprCol+1)
				}
			} else if line, col, ok := position(file, se.Field); ok {
				se.Line, se.Col = line, col
				if se.exprLine > 0 {
					se.Line, se.Col = exprPosition(file, se.Field, se.exprLine, se.exprCol, line, col)
				}
			}
		}
		return nil, err
	}
	return l, nil
}

// decodeStrict decodes YAML into v, unknown keys being errors. go-yaml
// panics on some malformed documents (found by FuzzParse); that is bad
// input, not a crash.
func decodeStrict(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML the decoder cannot read (%v)", r)
		}
	}()
	b = quoteFlowTimestamps(b)
	if _, err := parseBounded(b); err != nil {
		return err
	}
	return yaml.NewDecoder(bytes.NewReader(b), yaml.Strict()).Decode(v)
}

// decodeFile decodes the parsed (and expansion-checked) document strictly,
// without parsing it again: go-yaml's parser is the slow part of loading a
// large scenario.
func decodeFile(file *ast.File, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML the decoder cannot read (%v)", r)
		}
	}()
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return io.EOF
	}
	if len(file.Docs) > 1 {
		return errors.New("more than one YAML document (---): a scenario is one")
	}
	return yaml.NodeToValue(file.Docs[0].Body, v, yaml.Strict())
}

// setFor returns the last --set override that wrote field, a parent or a
// child of it, or "".
func (l *Loaded) setFor(field string) string {
	for _, kv := range slices.Backward(l.Sets) {
		k, _, _ := strings.Cut(kv, "=")
		if field == k || strings.HasPrefix(field, k+".") || strings.HasPrefix(k, field+".") {
			return kv
		}
	}
	return ""
}

// Resolved is the scenario as it ran, defaults left as zero values and every
// override applied, as YAML.
func (l *Loaded) Resolved() ([]byte, error) {
	return yaml.MarshalWithOptions(&l.Scenario, yaml.IndentSequence(true))
}

var (
	goField     = regexp.MustCompile(`Go struct field ([\w.]+) of type`)
	quotedValue = regexp.MustCompile(`got "([^"]+)"`)
)

// yamlError turns a go-yaml error into an *Error with line, column and, when
// it can be found, the field's YAML path.
func yamlError(name string, file *ast.File, err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		e := &Error{File: name, Msg: err.Error()}
		// A value's own UnmarshalText error carries no position: find the
		// scalar it quotes.
		if m := quotedValue.FindStringSubmatch(e.Msg); m != nil && file != nil {
			e.Line, e.Col, e.Field = scalarAt(file, m[1])
		}
		return e
	}
	e := &Error{File: name, Msg: ye.GetMessage()}
	if tk := ye.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Col = tk.Position.Line, tk.Position.Column
		if file != nil {
			e.Field = pathAt(file, e.Line, e.Col)
		}
	}
	// "cannot unmarshal X into Go struct field Scenario.Risk... of type int":
	// the Go path helps nobody; say what was expected.
	if m := goField.FindStringSubmatchIndex(e.Msg); m != nil {
		typ := strings.TrimSpace(e.Msg[m[1]:])
		e.Msg = strings.TrimSpace(e.Msg[:m[0]]) + " field of type " + typ
	}
	return e
}

// pathAt finds the dotted YAML path of the node at line:col.
func pathAt(file *ast.File, line, col int) string {
	var best string
	var walk func(n ast.Node, path string)
	walk = func(n ast.Node, path string) {
		if n == nil {
			return
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line == line && tk.Position.Column == col && best == "" {
			best = path
		}
		switch v := n.(type) {
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walk(mv, path)
			}
		case *ast.MappingValueNode:
			key := strings.Trim(v.Key.String(), `"'`)
			p := key
			if path != "" {
				p = path + "." + key
			}
			if tk := v.Key.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line == line && tk.Position.Column == col && best == "" {
				best = p
			}
			walk(v.Value, p)
		case *ast.SequenceNode:
			for i, x := range v.Values {
				walk(x, fmt.Sprintf("%s[%d]", path, i))
			}
		case *ast.TagNode:
			walk(v.Value, path)
		case *ast.AnchorNode:
			walk(v.Value, path)
		}
	}
	for _, d := range file.Docs {
		walk(d.Body, "")
	}
	return best
}

// scalarAt finds the first scalar whose text is value: its line, column
// and dotted path (zeros when absent).
func scalarAt(file *ast.File, value string) (line, col int, path string) {
	var walk func(n ast.Node, p string) bool
	walk = func(n ast.Node, p string) bool {
		switch v := n.(type) {
		case nil:
			return false
		case *ast.MappingNode:
			for _, mv := range v.Values {
				if walk(mv, p) {
					return true
				}
			}
		case *ast.MappingValueNode:
			key := strings.Trim(v.Key.String(), `"'`)
			if p != "" {
				key = p + "." + key
			}
			return walk(v.Value, key)
		case *ast.SequenceNode:
			for i, x := range v.Values {
				if walk(x, fmt.Sprintf("%s[%d]", p, i)) {
					return true
				}
			}
		default:
			if tk := n.GetToken(); tk != nil && tk.Position != nil && strings.Trim(n.String(), `"'`) == value {
				line, col, path = tk.Position.Line, tk.Position.Column, p
				return true
			}
		}
		return false
	}
	for _, d := range file.Docs {
		if walk(d.Body, "") {
			break
		}
	}
	return line, col, path
}

// position finds the line and column of a dotted field path in the file,
// falling back to the nearest parent that is present.
func position(file *ast.File, field string) (line, col int, ok bool) {
	for f := field; f != ""; {
		p, err := yaml.PathString("$." + strings.ReplaceAll(f, "[", ".["))
		if err == nil {
			if n, err := p.FilterFile(file); err == nil && n != nil {
				if tk := n.GetToken(); tk != nil && tk.Position != nil {
					return tk.Position.Line, tk.Position.Column, true
				}
			}
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0, 0, false
}

// Validate checks every section and names the first bad field with its full
// dotted path.
func (s *Scenario) Validate() error {
	switch {
	case strings.TrimSpace(s.Name) == "":
		return &Error{Field: "name", Msg: "required"}
	case s.Period.Start.IsZero():
		return &Error{Field: "period.start", Msg: "required (YYYY-MM-DD)"}
	case s.Period.End.IsZero():
		return &Error{Field: "period.end", Msg: "required (YYYY-MM-DD)"}
	case s.Period.End.Before(s.Period.Start.Time):
		return &Error{Field: "period.end", Msg: fmt.Sprintf("must not be before start %s", s.Period.Start.Format("2006-01-02"))}
	case s.Capital < 0:
		return &Error{Field: "capital", Msg: fmt.Sprintf("must be > 0, found %g", s.Capital)}
	case s.Report.EquityEvery < 0:
		return &Error{Field: "report.equity_every", Msg: fmt.Sprintf("must be > 0, found %s", s.Report.EquityEvery)}
	}
	if err := s.Risk.Validate(); err != nil {
		var fe *risk.FieldError
		if errors.As(err, &fe) {
			return &Error{Field: "risk." + fe.Field, Msg: fe.Msg}
		}
		return &Error{Field: "risk", Msg: err.Error()}
	}
	f := &s.Feed
	switch {
	case f.File == nil && f.Synthetic == nil:
		return &Error{Field: "feed", Msg: "give a file or a synthetic feed"}
	case f.File != nil && f.Synthetic != nil:
		return &Error{Field: "feed", Msg: "give a file or a synthetic feed, not both"}
	}
	if err := f.DataQuality.Validate(); err != nil {
		return feedErr("feed", err)
	}
	if f.File != nil {
		if err := f.File.Validate(); err != nil {
			return feedErr("feed.file", err)
		}
	}
	if f.Synthetic != nil {
		if err := f.Synthetic.Validate(); err != nil {
			return feedErr("feed.synthetic", err)
		}
	}
	cfg, err := s.SimConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		var fe *sim.FieldError
		if errors.As(err, &fe) {
			return &Error{Field: fe.Field, Msg: fe.Msg, exprLine: fe.ExprLine, exprCol: fe.ExprCol}
		}
		return &Error{Msg: err.Error()}
	}
	return nil
}

func feedErr(prefix string, err error) error {
	var fe *feeds.FieldError
	if errors.As(err, &fe) {
		return &Error{Field: prefix + "." + fe.Field, Msg: fe.Msg}
	}
	return &Error{Field: prefix, Msg: err.Error()}
}

// exprPosition is the file position of a problem at (eline, ecol) inside
// a condition's text, the YAML scalar at field starting at line:col: past
// the opening quote of a quoted scalar, on the lines after the indicator of
// a block scalar (| or >).
func exprPosition(file *ast.File, field string, eline, ecol, line, col int) (int, int) {
	p, err := yaml.PathString("$." + strings.ReplaceAll(field, "[", ".["))
	if err != nil {
		return line, col
	}
	n, err := p.FilterFile(file)
	if err != nil || n == nil || n.GetToken() == nil {
		return line, col
	}
	tk := n.GetToken()
	switch tk.Type {
	case token.DoubleQuoteType, token.SingleQuoteType:
		if eline == 1 {
			return line, col + 1 + ecol
		}
	case token.LiteralType, token.FoldedType:
		indent := col
		if tk.Next != nil && tk.Next.Position != nil {
			indent = tk.Next.Position.Column
		}
		return line + eline, indent + ecol
	default:
		if eline == 1 {
			return line, col + ecol
		}
	}
	return line + eline - 1, col
}
