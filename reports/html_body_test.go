package reports

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// renderBoth renders a page with its tables' pre-rendered bodies and with
// the template rendering the rows.
func renderBoth(t *testing.T, tables []htmlTable) (fast, slow []byte) {
	t.Helper()
	var a, b bytes.Buffer
	if err := renderPage(&a, htmlPage{Title: "t", Tables: tables}); err != nil {
		t.Fatal(err)
	}
	plain := make([]htmlTable, len(tables))
	for i, tb := range tables {
		tb.Body = ""
		plain[i] = tb
	}
	if err := renderPage(&b, htmlPage{Title: "t", Tables: plain}); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes()
}

// A table body rendered in Go is byte for byte the template's rendering,
// whatever the cells hold: HTML specials, NUL, invalid UTF-8, runes above
// U+FFFD.
func TestTableBodyEqualsTemplate(t *testing.T) {
	cells := []string{
		"", "plain", `<script>alert("x")</script>`, "a & b + c's", "\x00nul", "bad \xff\xfe utf8",
		"é ∑ 𝄞 \uFFFD \uFDD0 \uFFFF", "&amp; already", "1,234.50", "-0.00 %", "tab\tnew\nline",
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "<", ">", "&", "'", `"`, "+", "\x00", "\xff", "é", "𝄞", " ", "=", "\uFFFD", "`"}
	for range 200 {
		var b strings.Builder
		for range rnd.IntN(12) {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		cells = append(cells, b.String())
	}
	var tables []htmlTable
	for i := 0; i < len(cells); i += 7 {
		tb := reportTable{ID: "t", Title: "T", Head: []string{"a", "b", "c"}, Right: []bool{false, true}}
		for j := i; j < min(i+7, len(cells)); j++ {
			tb.Rows = append(tb.Rows, []string{cells[j], cells[(j+1)%len(cells)], cells[(j+2)%len(cells)]})
		}
		tables = append(tables, htmlTableOf(tb))
	}
	tables = append(tables, htmlTableOf(reportTable{ID: "empty", Title: "E", Head: []string{"x"}}))
	for _, tb := range tables[:len(tables)-1] {
		if tb.Body == "" {
			t.Fatal("a table without swatches has no pre-rendered body")
		}
	}
	fast, slow := renderBoth(t, tables)
	if !bytes.Equal(fast, slow) {
		t.Fatalf("pre-rendered bodies differ from the template's rows:\n%s\n----\n%s", fast, slow)
	}

	// A swatch leaves the rows to the template.
	sw := htmlTableOf(reportTable{ID: "s", Title: "S", Head: []string{"run"}, Rows: [][]string{{"a"}, {"b"}}})
	sw.Rows[1][0].Swatch = "#0072b2"
	if sw.Body = tableBody(sw.Rows); sw.Body != "" {
		t.Fatal("a table with a swatch got a pre-rendered body")
	}
	var b bytes.Buffer
	if err := renderPage(&b, htmlPage{Title: "t", Tables: []htmlTable{sw}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<td><span class="swatch" style="background: #0072b2"></span>b</td>`) {
		t.Errorf("the swatch is not drawn:\n%s", b.String())
	}
}
