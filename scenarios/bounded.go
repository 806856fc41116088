package scenarios

// Bounded reading of scenario files, which arrive from pull requests and
// other untrusted places. A scenario is read only from a regular file,
// opened without blocking (a FIFO never stalls the open) and checked with
// fstat before a byte is read; at most maxScenarioBytes are read whatever
// the file claims (io.LimitReader: /dev/zero and files growing under us
// stop there). YAML aliases are expanded by the decoder, so a few KB of
// nested aliases (a "billion laughs") would expand to billions of nodes:
// before decoding, the parsed document's size after alias expansion is
// counted, each anchor once, and refused above maxExpansion times the
// document's own node count (with a floor for tiny documents).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

const (
	// maxScenarioTokens bounds the YAML structure of a scenario, counted
	// as the bytes that delimit nodes (newlines and ,:[]{}-) before
	// parsing: go-yaml parses about 10^5 nodes a second, so a 16 MiB file
	// of small nodes would take minutes. Large trade logs belong in
	// strategy.replay.path (a CSV, Parquet or Delta file), not inline.
	maxScenarioTokens = 100_000
	// maxExpansion bounds nodes after alias expansion per node written.
	maxExpansion = 16
	// minExpansionBudget lets small documents use anchors freely.
	minExpansionBudget = 10_000
)

// errEmpty is the message for a scenario with no content.
const errEmpty = "the file is empty"

// readScenarioFile reads a scenario file under the bounds above.
func readScenarioFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: name, Msg: fmt.Sprintf("not a regular file (%s); a scenario is a YAML file", kindOf(st.Mode()))}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxScenarioBytes+1))
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if len(b) > maxScenarioBytes {
		return nil, &Error{File: name, Msg: fmt.Sprintf("more than %d bytes; a scenario is at most %d (16 MiB)", maxScenarioBytes, maxScenarioBytes)}
	}
	if len(b) == 0 {
		return nil, &Error{File: name, Msg: errEmpty}
	}
	return b, nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0, m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return "mode " + m.String()
}

// errAliasBomb: the document's aliases expand beyond the budget.
var errAliasBomb = errors.New("YAML aliases expand too much")

// checkExpansion counts the nodes of the parsed file with every alias
// expanded and refuses it above the budget. It never expands anything:
// each anchor's expanded size is computed once and reused.
func checkExpansion(file *ast.File) error {
	var written int64
	for _, d := range file.Docs {
		ast.Walk(visitFunc(func(ast.Node) { written++ }), d)
	}
	budget := max(minExpansionBudget, maxExpansion*written)
	anchors := map[string]int64{}
	var size func(n ast.Node) int64
	size = func(n ast.Node) int64 {
		switch v := n.(type) {
		case nil:
			return 0
		case *ast.AliasNode:
			if v.Value == nil {
				return 1
			}
			if s, ok := anchors[v.Value.String()]; ok {
				return s
			}
			return 1
		case *ast.AnchorNode:
			s := 1 + size(v.Value)
			if v.Name != nil {
				anchors[v.Name.String()] = s
			}
			return s
		case *ast.DocumentNode:
			return 1 + size(v.Body)
		case *ast.MappingNode:
			s := int64(1)
			for _, mv := range v.Values {
				s = satAdd(s, size(mv))
			}
			return s
		case *ast.MappingValueNode:
			return satAdd(1+size(v.Key), size(v.Value))
		case *ast.MappingKeyNode:
			return 1 + size(v.Value)
		case *ast.SequenceNode:
			s := int64(1)
			for _, x := range v.Values {
				s = satAdd(s, size(x))
			}
			return s
		case *ast.TagNode:
			return 1 + size(v.Value)
		}
		return 1
	}
	var total int64
	for _, d := range file.Docs {
		total = satAdd(total, size(d))
		if total > budget {
			break
		}
	}
	if total > budget {
		return fmt.Errorf("%w: %d nodes written would decode to more than %d (at most %d times the document)", errAliasBomb, written, budget, maxExpansion)
	}
	return nil
}

func satAdd(a, b int64) int64 {
	if a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	f(n)
	return f
}

// checkTokens refuses a document with more structure than
// maxScenarioTokens, without parsing it.
func checkTokens(b []byte) error {
	n := 0
	for _, c := range b {
		switch c {
		case '\n', ',', ':', '[', ']', '{', '}', '-':
			n++
		}
	}
	if n > maxScenarioTokens {
		return fmt.Errorf("too much YAML structure (%d delimiters, at most %d): a scenario is settings; put long trade logs in strategy.replay.path", n, maxScenarioTokens)
	}
	return nil
}

// parseBounded parses b and checks its alias expansion.
func parseBounded(b []byte) (*ast.File, error) {
	if err := checkTokens(b); err != nil {
		return nil, err
	}
	file, err := parser.ParseBytes(b, 0)
	if err != nil {
		return nil, err
	}
	return file, checkExpansion(file)
}
