package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Rewriting a run's reports gives the same bytes; a page that cannot be put
// in place fails the call, leaves no half-written file behind, and leaves
// the page that was there.
func TestWriteReportsInPlace(t *testing.T) {
	out := t.TempDir()
	res, err := runOnce(t, Options{OutDir: out, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	dir := res.RunDir
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	md, html := read("report.md"), read("report.html")
	if len(md) == 0 || !bytes.Contains(html, []byte("<svg")) {
		t.Fatalf("report.md %d bytes, report.html without a chart", len(md))
	}
	if err := WriteReports(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read("report.md"), md) || !bytes.Equal(read("report.html"), html) {
		t.Fatal("rewritten reports differ")
	}
	// report.html's name taken by a folder: its rename fails.
	if err := os.Remove(filepath.Join(dir, "report.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "report.html"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteReports(context.Background(), dir); err == nil {
		t.Fatal("no error when report.html cannot be put in place")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("left %s behind", e.Name())
		}
	}
	if !bytes.Equal(read("report.md"), md) {
		t.Fatal("report.md changed")
	}
}
