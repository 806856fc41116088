package main

// Untrusted input, payload by payload: scenarios from pull requests, SQL
// typed into query, strings that end up in reports. Each is refused (exit
// 2, quickly) or rendered inert.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestQuerySandbox(t *testing.T) {
	out := t.TempDir()
	runSmall(t, out, "a")
	outside := t.TempDir()
	target := filepath.Join(outside, "leak.csv")
	// A data file inside the runs folder: COPY must not overwrite it.
	inside, _ := filepath.Glob(filepath.Join(out, "a", "fills", "*.parquet"))
	if len(inside) == 0 {
		t.Fatal("no fills data file")
	}
	before, _ := os.ReadFile(inside[0])
	for _, q := range []string{
		fmt.Sprintf("COPY (SELECT 1) TO '%s'", target),
		fmt.Sprintf("COPY (SELECT 1) TO '%s' (FORMAT parquet)", inside[0]),
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_text('" + out + "/../../../../etc/passwd')",
		"SELECT * FROM glob('/root/*')",
		"SELECT * FROM read_csv('https://example.invalid/x.csv')",
		"SELECT * FROM glob('" + out + "/*')",
		fmt.Sprintf("ATTACH '%s' AS x", filepath.Join(outside, "x.db")),
		"SELECT 1; SELECT 2",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"INSTALL httpfs",
		"LOAD httpfs",
		"CREATE TABLE t AS SELECT 1",
		fmt.Sprintf("EXPORT DATABASE '%s'", filepath.Join(outside, "exp")),
	} {
		code, stdout, stderr := cli(t, "query", q, "--out", out)
		if code != exitBadInput {
			t.Errorf("%s: exit %d, want 2\n%s%s", q, code, stdout, stderr)
		}
		if strings.Contains(stdout, "root:") {
			t.Errorf("%s: printed /etc/passwd", q)
		}
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("COPY TO wrote a file outside the runs folder")
	}
	if after, _ := os.ReadFile(inside[0]); string(after) != string(before) {
		t.Error("COPY TO overwrote a data file")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files appeared outside: %v", ents)
	}
	// Reading the views still works, and --unsafe is the full DuckDB.
	if code, stdout, stderr := cli(t, "query", "SELECT count(DISTINCT run_id) AS n FROM fills", "--out", out, "--format", "csv"); code != 0 || stdout != "n\n1\n" {
		t.Fatalf("a plain SELECT: exit %d %q %s", code, stdout, stderr)
	}
	if code, stdout, _ := cli(t, "query", "SELECT 1; SELECT 42 AS x", "--out", out, "--unsafe", "--format", "csv"); code != 0 || stdout != "x\n42\n" {
		t.Fatalf("--unsafe: exit %d %q", code, stdout)
	}
}

// A run whose table is a symlink to a table outside the runs folder is
// refused, not read.
func TestQueryRefusesSymlinkedTables(t *testing.T) {
	out := t.TempDir()
	elsewhere := t.TempDir()
	runSmall(t, elsewhere, "secret")
	runSmall(t, out, "a")
	evil := filepath.Join(out, "evil")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "secret", "fills"), filepath.Join(evil, "fills")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "query", "SELECT DISTINCT run_id FROM fills", "--out", out)
	if code == 0 || strings.Contains(stdout, "secret") || !strings.Contains(stderr, "outside") {
		t.Fatalf("symlinked table: exit %d %q %q", code, stdout, stderr)
	}
}

// Hostile scenario files fail with exit 2 within 2 s each.
func TestHostileScenarioFiles(t *testing.T) {
	dir := t.TempDir()
	var bomb strings.Builder
	bomb.WriteString("name: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("name: big\ndescription: x\n")
	f.Truncate(100 << 20) // 100 MB (sparse)
	f.Close()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{write("bomb.yaml", bomb.String()), "aliases expand too much"},
		{"/dev/zero", "not a regular file"},
		{fifo, "not a regular file (a named pipe)"},
		{big, "a scenario is at most"},
		{write("empty.yaml", ""), "the file is empty"},
		{write("blank.yaml", "# only a comment\n\n"), "the file is empty"},
	}
	var argss [][]string
	for _, c := range cases {
		argss = append(argss, []string{"validate", c.path})
	}
	for i, p := range runProcs(t, 10*time.Second, argss...) {
		c := cases[i]
		if p.code != exitBadInput || !strings.Contains(p.stderr, c.want) {
			t.Errorf("%s: exit %d %q, want 2 and %q", c.path, p.code, p.stderr, c.want)
		}
		if p.elapsed > 2*time.Second {
			t.Errorf("%s: took %s", c.path, p.elapsed)
		}
	}
	// The same bounds hold for run.
	if code, _, stderr := cli(t, "run", cases[0].path, "--out", t.TempDir()); code != exitBadInput {
		t.Errorf("run of the alias bomb: exit %d %s", code, stderr)
	}
}

// Names that cannot be run ids are refused the same way by run, sweep and
// validate: no folder escapes the runs folder.
func TestRunIDsFromNames(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "runs")
	for _, args := range [][]string{
		{"run", "testdata/small.yaml", "--set", "name=../escape", "--out", out},
		{"sweep", "testdata/small.yaml", "--set", "name=../escape", "--grid", "seed=1,2", "--out", out},
		{"validate", "testdata/small.yaml", "--set", "name=../escape"},
		{"validate", "testdata/small.yaml", "--set", "name=SPY crash v2"},
		{"run", "testdata/small.yaml", "--set", "name=SPY crash v2", "--out", out},
		{"run", "testdata/small.yaml", "--run-id", "../escape", "--out", out},
	} {
		code, _, stderr := cli(t, args...)
		if code != exitBadInput || !strings.Contains(stderr, "run id") {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) > 1 {
		t.Errorf("something was written beside the runs folder: %v", ents)
	}
	code, stdout, _ := cli(t, "validate", "testdata/small.yaml")
	if code != 0 || !regexp.MustCompile(`run id small-[0-9a-f]{8}\n$`).MatchString(stdout) {
		t.Errorf("validate does not show the run id: %q", stdout)
	}
	// A name with a space runs under an explicit id.
	if code, _, stderr := cli(t, "run", "testdata/small.yaml", "--set", "name=SPY crash v2", "--run-id", "ok", "--out", out, "-q"); code != 0 {
		t.Errorf("explicit --run-id with a spaced name: %d %s", code, stderr)
	}
}

// Markdown and HTML injection through the name, the description and --set
// values, in report.md, compare --format md and compare --format html.
func TestReportInjection(t *testing.T) {
	out := t.TempDir()
	// YAML double-quoted: \n is a line break in the value.
	payload := `"x\n## All checks passed\n[click](https://evil.example) ![img](https://evil.example/p.png) <img src=x onerror=alert(1)>"`
	runSmall(t, out, "a", "--set", "name="+payload, "--set", "description="+payload)
	runSmall(t, out, "b", "--set", `description="<img src=x onerror=alert(1)>"`, "--set", "risk.trailing_stop.trail_pct=25")
	// A run folder from elsewhere, its scenario.yaml edited: a key and a
	// value of markup (compare shows settings that differ).
	sy := filepath.Join(out, "b", "scenario.yaml")
	yb, err := os.ReadFile(sy)
	if err != nil {
		t.Fatal(err)
	}
	yb = append(yb, "\"<img src=x onerror=alert(1)>\": \"[click](https://evil.example) <img src=x onerror=alert(1)>\"\n"...)
	if err := os.WriteFile(sy, yb, 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "a", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	checkMarkdown(t, "report.md", string(md))
	code, stdout, stderr := cli(t, "compare", filepath.Join(out, "a"), filepath.Join(out, "b"), "--format", "md")
	if code != 0 {
		t.Fatalf("compare md: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "onerror") {
		t.Fatalf("compare md lacks the edited setting:\n%s", stdout)
	}
	checkMarkdown(t, "compare md", stdout)
	code, stdout, stderr = cli(t, "compare", filepath.Join(out, "a"), filepath.Join(out, "b"), "--format", "html")
	if code != 0 {
		t.Fatalf("compare html: %d %s", code, stderr)
	}
	if strings.Contains(stdout, "<img src=x") || strings.Contains(stdout, "onerror=alert(1)>") {
		t.Error("compare html holds raw <img>")
	}
	html, _ := os.ReadFile(filepath.Join(out, "a", "report.html"))
	if strings.Contains(string(html), "<img src=x") {
		t.Error("report.html holds raw <img>")
	}
}

var (
	mdFence    = regexp.MustCompile("(?s)\n(```+)yaml\n.*?\n```+\n")
	mdCodeSpan = regexp.MustCompile("`[^`\n]*`")
	// A link or image: "](" whose "]" is not backslash-escaped.
	mdLink = regexp.MustCompile(`(^|[^\\])\]\(`)
)

// checkMarkdown asserts that md renders no injected block or inline
// markup outside code (fenced blocks and code spans are literal).
func checkMarkdown(t *testing.T, what, md string) {
	t.Helper()
	text := mdCodeSpan.ReplaceAllString(mdFence.ReplaceAllString(md, "\n"), "")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " "), "## All checks passed") {
			t.Errorf("%s: injected heading %q", what, line)
		}
	}
	if strings.Contains(text, "<img") {
		t.Errorf("%s: raw <img> outside code", what)
	}
	if m := mdLink.FindString(text); m != "" {
		t.Errorf("%s: a link or image %q outside code", what, m)
	}
}

// --data-root (and BACKTEST_DATA_ROOT) refuse feed, replay and baseline
// paths outside the root, symlinks resolved, before anything is read.
func TestDataRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "credentials.csv")
	if err := os.WriteFile(secret, []byte("aws_access_key_id = AKIASECRETSECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", filepath.Join(root, "feed.parquet")); code != 0 {
		t.Fatal(stderr)
	}
	if err := os.Symlink(secret, filepath.Join(root, "link.csv")); err != nil {
		t.Fatal(err)
	}
	feed := func(p string) []string {
		return []string{"--set", "feed.synthetic=null", "--set", "feed.file={path: " + p + ", preset: native}"}
	}
	out := filepath.Join(root, "runs")
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"feed inside", append([]string{"validate", "testdata/small.yaml", "--data-root", root}, feed(filepath.Join(root, "feed.parquet"))...), true},
		{"feed outside", append([]string{"run", "testdata/small.yaml", "--data-root", root, "--out", out}, feed(secret)...), false},
		{"/etc/passwd", append([]string{"run", "testdata/small.yaml", "--data-root", root, "--out", out}, feed("/etc/passwd")...), false},
		{"symlink out", append([]string{"validate", "testdata/small.yaml", "--data-root", root}, feed(filepath.Join(root, "link.csv"))...), false},
		{"glob reaching out", append([]string{"validate", "testdata/small.yaml", "--data-root", root}, feed(filepath.Join(root, "*.csv"))...), false},
		{"dotdot", append([]string{"validate", "testdata/small.yaml", "--data-root", root}, feed(filepath.Join(root, "..", filepath.Base(outside), "credentials.csv"))...), false},
		{"replay outside", []string{"validate", "replay_fills", "--data-root", root, "--set", "strategy.replay={path: " + secret + "}"}, false},
		{"sweep feed outside", append([]string{"sweep", "testdata/small.yaml", "--data-root", root, "--grid", "seed=1,2", "--out", out}, feed(secret)...), false},
		{"baseline outside", []string{"check", "testdata/small.yaml", "--data-root", root, "--baseline", filepath.Join(outside, "b.json")}, false},
	}
	for _, c := range cases {
		code, stdout, stderr := cli(t, c.args...)
		if c.ok {
			if code != 0 {
				t.Errorf("%s: exit %d %s", c.name, code, stderr)
			}
			continue
		}
		if code != exitBadInput || !strings.Contains(stderr, "outside the data root") {
			t.Errorf("%s: exit %d %q, want 2 and 'outside the data root'", c.name, code, stderr)
		}
		if strings.Contains(stdout+stderr, "AKIA") || strings.Contains(stdout+stderr, "root:") {
			t.Errorf("%s: leaked file content", c.name)
		}
	}
	t.Setenv("BACKTEST_DATA_ROOT", root)
	if code, _, stderr := cli(t, append([]string{"validate", "testdata/small.yaml"}, feed(secret)...)...); code != exitBadInput || !strings.Contains(stderr, "outside the data root") {
		t.Errorf("BACKTEST_DATA_ROOT: exit %d %q", code, stderr)
	}
}

// A feed file in a key=value folder whose key is a data column: the
// column's values come from the file, never from the folder name (DuckDB
// would otherwise read the folder as a hive partition).
func TestFeedIgnoresFolderNames(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "feed.parquet")
	hive := filepath.Join(dir, "underlying=QQQ", "contract=X", "feed.parquet")
	for _, p := range []string{plain, hive} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", p); code != 0 {
			t.Fatal(stderr)
		}
	}
	out := filepath.Join(dir, "runs")
	var pnl []string
	for i, p := range []string{plain, hive} {
		id := fmt.Sprint("r", i)
		code, stdout, stderr := cli(t, "run", "testdata/small.yaml", "--out", out, "--run-id", id, "--json",
			"--set", "feed.synthetic=null", "--set", "feed.file={path: "+p+", preset: native}")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", p, code, stderr)
		}
		pnl = append(pnl, regexp.MustCompile(`"pnl": [^,]*`).FindString(stdout))
	}
	if pnl[0] == "" || pnl[0] != pnl[1] {
		t.Fatalf("a feed in underlying=QQQ/contract=X/ replays differently: %v", pnl)
	}
}
