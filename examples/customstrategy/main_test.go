package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The example runs, trades both of its structures, closes by its own exit
// reasons, and prints the same lines twice.
func TestExampleOutput(t *testing.T) {
	var a, b bytes.Buffer
	if err := run(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := a.String()
	t.Log("\n" + out)
	if out != b.String() {
		t.Fatalf("two runs printed different output:\n%s\n---\n%s", out, b.String())
	}
	m := regexp.MustCompile(`(?m)^trades (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no trades line in\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Fatalf("no trades:\n%s", out)
	}
	for _, want := range []string{"vertical ", "iron_condor ", "half_credit", "declined by the strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
