package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBoundedParsing(t *testing.T) {
	base, err := os.ReadFile("spy_crash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bomb := func(depth int) string {
		var b strings.Builder
		b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i <= depth; i++ {
			fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
		}
		return b.String()
	}
	for _, c := range []struct {
		name, doc, want string
	}{
		{"alias bomb depth 10", string(base) + bomb(10), "aliases expand too much"},
		{"alias bomb depth 4", string(base) + bomb(4), "aliases expand too much"},
		{"empty", "", "the file is empty"},
		{"blank", "  \n\n", "the file is empty"},
		{"comments only", "# x\n", "the file is empty"},
		{"too much structure", string(base) + "x: [" + strings.Repeat("1,", 200_000) + "1]\n", "too much YAML structure"},
		{"two documents", string(base) + "---\nname: other\n", "more than one YAML document"},
	} {
		start := time.Now()
		_, err := Parse(c.name, []byte(c.doc), nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %s", c.name, d)
		}
	}
	// Anchors used normally (a shared block, a merge key) are fine.
	ok := strings.Replace(string(base), "risk:", "x-defaults: &d {failure_threshold: 3}\nrisk:", 1)
	if _, err := Parse("anchors", []byte(ok), nil); err == nil || !strings.Contains(err.Error(), "x-defaults") {
		t.Fatalf("an unknown key with an anchor should fail as an unknown key, not as a bomb: %v", err)
	}
	if _, err := Parse("small bomb", []byte(string(base)+bomb(2)), nil); err == nil || strings.Contains(err.Error(), "aliases") {
		t.Fatalf("100 nodes of aliases are within budget: %v", err)
	}
}

func TestReadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "p.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	big := filepath.Join(dir, "big.yaml")
	f, _ := os.Create(big)
	f.Truncate(maxScenarioBytes + 1)
	f.Close()
	for path, want := range map[string]string{
		fifo: "a named pipe", "/dev/zero": "a device", big: "at most 16777216",
	} {
		done := make(chan error, 1)
		go func() { _, _, err := Read(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", path, err, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Read blocked", path)
		}
	}
}
