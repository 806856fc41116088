package reports_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/optionsrisk/backtest/reports"
)

// WriteRunReports writes the bytes of WriteMarkdown and WriteHTML.
func TestWriteRunReportsEqualsSeparateWriters(t *testing.T) {
	r, s := fixtureRun(t, "both")
	var md, html bytes.Buffer
	if err := reports.WriteRunReports(context.Background(), &md, &html, r, s); err != nil {
		t.Fatal(err)
	}
	var wantMD bytes.Buffer
	if err := reports.WriteMarkdown(&wantMD, r, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md.Bytes(), wantMD.Bytes()) {
		t.Error("report.md differs from WriteMarkdown's")
	}
	if !bytes.Equal(html.Bytes(), renderHTML(t, r, s)) {
		t.Error("report.html differs from WriteHTML's")
	}
	if md.Len() == 0 || html.Len() == 0 {
		t.Error("empty report")
	}
}
