package reports_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The browser test opens report.html in headless Chromium (Debian's
// `chromium` package). It loads a copy of the report with two probes added:
// one at the top of <head> records errors (uncaught exceptions, failed
// resource loads, console.error/warn), one on `load` writes a verdict into
// the DOM (each chart's drawn size, every resource fetched, the errors),
// which --dump-dom prints. Chromium's own log (--enable-logging=stderr)
// must show no console message at all: the report has no script of its own.

const probeHead = `<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__errors.push(t && t !== window && (t.src || t.href) ? 'failed to load ' + (t.src || t.href) : 'uncaught ' + e.message);
}, true);
window.addEventListener('unhandledrejection', function (e) { window.__errors.push('unhandled rejection ' + e.reason); });
['error', 'warn'].forEach(function (k) {
  var f = console[k];
  console[k] = function () { window.__errors.push('console.' + k + ' ' + Array.prototype.join.call(arguments, ' ')); f.apply(console, arguments); };
});
</script>
`

const probeBody = `<script>
window.addEventListener('load', function () {
  var lines = [];
  document.querySelectorAll('figure.chart').forEach(function (f) {
    var svg = f.querySelector('svg');
    if (!svg) { lines.push('chart ' + f.id + ' no-svg'); return; }
    var b = svg.getBBox(), r = svg.getBoundingClientRect();
    var paths = svg.querySelectorAll('path').length, texts = svg.querySelectorAll('text').length;
    var ok = b.width > 0 && b.height > 0 && r.width > 200 && r.height > 50 && paths > 0 && texts > 0;
    lines.push('chart ' + f.id + ' ' + (ok ? 'drawn' : 'blank') + ' ' + Math.round(r.width) + 'x' + Math.round(r.height) + ' paths=' + paths);
  });
  performance.getEntriesByType('resource').forEach(function (e) { lines.push('resource ' + e.name); });
  window.__errors.forEach(function (e) { lines.push('error ' + e); });
  var pre = document.createElement('pre');
  pre.id = 'browser-verdict';
  pre.textContent = lines.join('\n');
  document.body.appendChild(pre);
});
</script>
`

// chromium finds the browser: skipped when absent, unless CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true): apt-get install -y chromium, or set CHROMIUM")
	}
	t.Skip("chromium not found; set CI=true to make this a failure")
	return ""
}

// chromiumArgs are the flags of every run: headless, no sandbox (CI runs as
// root in a container), nothing that phones home, a throwaway profile.
func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + profile,
	}, extra...)
}

type browserResult struct {
	verdict  []string // lines of #browser-verdict
	console  []string // Chromium's CONSOLE log lines
	dom, log string
}

// openInChromium loads the HTML file with the probes added and returns
// what the probes and Chromium's log saw.
func openInChromium(t *testing.T, bin, htmlPath string) browserResult {
	t.Helper()
	b, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, "<head>") || !strings.Contains(page, "</body>") {
		t.Fatal("report has no <head> or </body>")
	}
	page = strings.Replace(page, "<head>", "<head>\n"+probeHead, 1)
	page = strings.Replace(page, "</body>", probeBody+"</body>", 1)
	dir := t.TempDir()
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, chromiumArgs(filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--window-size=1280,2000", "--dump-dom", "file://"+probed)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, tail(stderr.String(), 3000))
	}
	res := browserResult{dom: stdout.String(), log: stderr.String()}
	m := regexp.MustCompile(`(?s)<pre id="browser-verdict">(.*?)</pre>`).FindStringSubmatch(res.dom)
	if m == nil {
		t.Fatalf("no verdict in the DOM (did the page load?)\nDOM tail: %s\nlog: %s", tail(res.dom, 1000), tail(res.log, 3000))
	}
	if v := strings.TrimSpace(m[1]); v != "" {
		res.verdict = strings.Split(v, "\n")
	}
	for _, l := range strings.Split(res.log, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			res.console = append(res.console, l)
		}
	}
	return res
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func TestReportInBrowser(t *testing.T) {
	bin := chromium(t)
	r, s := fixtureRun(t, "browser")
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, renderHTML(t, r, s), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("report", func(t *testing.T) {
		t.Parallel()
		res := openInChromium(t, bin, path)
		for _, l := range res.console {
			t.Errorf("console: %s", l)
		}
		drawn := map[string]bool{}
		for _, l := range res.verdict {
			f := strings.Fields(l)
			switch {
			case f[0] == "chart" && f[2] == "drawn":
				drawn[f[1]] = true
			case f[0] == "chart":
				t.Errorf("chart did not draw: %s", l)
			case f[0] == "resource" && !strings.HasPrefix(f[1], "data:"):
				t.Errorf("the report fetched %s", f[1])
			case f[0] == "error":
				t.Errorf("page error: %s", l)
			}
		}
		for _, id := range chartIDs {
			if !drawn[id] {
				t.Errorf("chart %s not drawn; verdict:\n%s", id, strings.Join(res.verdict, "\n"))
			}
		}
		if shot := os.Getenv("REPORT_SCREENSHOT"); shot != "" {
			// A picture to look at: REPORT_SCREENSHOT=/tmp/report.png.
			cmd := exec.Command(bin, chromiumArgs(filepath.Join(t.TempDir(), "profile"),
				"--screenshot="+shot, "--window-size=1280,4000", "file://"+path)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("screenshot: %v\n%s", err, tail(string(out), 2000))
			}
		}
	})

	// The probes catch what they claim to: a page with a broken script, a
	// missing image, an external stylesheet and a blank chart fails every
	// check.
	t.Run("probes-catch-errors", func(t *testing.T) {
		t.Parallel()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		page := strings.Replace(string(b), "</main>", `<figure class="chart" id="chart-blank"><svg width="10" height="10"></svg></figure>
<img src="missing.png"><script>noSuchFunction();</script></main>`, 1)
		page = strings.Replace(page, "</head>", `<link rel="stylesheet" href="extra.css"></head>`, 1)
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.html")
		if err := os.WriteFile(bad, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "extra.css"), []byte("p { color: black }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		res := openInChromium(t, bin, bad)
		v := strings.Join(res.verdict, "\n")
		for _, want := range []string{"chart chart-blank blank", "error failed to load file://", "error uncaught", "error failed to load file://", "extra.css"} {
			if !strings.Contains(v, want) {
				t.Errorf("probe missed %q; verdict:\n%s", want, v)
			}
		}
		if !slicesContainsSubstr(res.console, "noSuchFunction") {
			t.Errorf("Chromium's log has no console line for the uncaught error; console lines: %q", res.console)
		}
	})
}

func slicesContainsSubstr(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
