package lake

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// s3Answer is an S3 error answer with status and code.
func s3Answer(r *http.Request, status int, code string) *http.Response {
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>injected</Message></Error>`
	return &http.Response{
		Status: http.StatusText(status), StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/xml"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: r, ContentLength: int64(len(body)),
	}
}

// TestS3HTTPFaults: faults of the object store's HTTP answers, injected
// between the SDK and the server. Whatever happens, a table shows only
// whole commits, versions are exact (no commit published twice, no gap)
// and the next append takes the next version.
func TestS3HTTPFaults(t *testing.T) {
	if _, why := testS3Endpoint(); why != "" {
		t.Skip(why)
	}
	isData := func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".zstd.parquet")
	}
	isCommit := func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/_delta_log/") && strings.HasSuffix(r.URL.Path, ".json")
	}
	isCommitRead := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/_delta_log/") && strings.HasSuffix(r.URL.Path, ".json")
	}
	const attemptTimeout = 700 * time.Millisecond
	type fault func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error)
	refuse := func(status int, code string) fault {
		return func(r *http.Request, _ func() (*http.Response, error)) (*http.Response, error) {
			return s3Answer(r, status, code), nil
		}
	}
	// lands: the request reaches the server, its answer is replaced.
	lands := func(status int, code string) fault {
		return func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error) {
			resp, err := send()
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			return s3Answer(r, status, code), nil
		}
	}
	// stall: the request waits past the attempt timeout before it is sent
	// (so it never arrives).
	stall := func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error) {
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(5 * attemptTimeout):
			return send()
		}
	}
	// lateAnswer: the request lands, its answer comes after the attempt
	// timed out.
	lateAnswer := func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error) {
		resp, err := send()
		if err != nil {
			return nil, err
		}
		select {
		case <-r.Context().Done():
			resp.Body.Close()
			return nil, r.Context().Err()
		case <-time.After(5 * attemptTimeout):
			return resp, nil
		}
	}
	cases := []struct {
		name   string
		match  func(*http.Request) bool
		fault  fault
		times  int  // requests hit (-1: all)
		fails  bool // the append fails
		reader bool // the fault hits a reader (Snapshot) instead
	}{
		{"data PUT 500 every attempt", isData, refuse(500, "InternalError"), -1, true, false},
		{"data PUT 503 once", isData, refuse(503, "SlowDown"), 1, false, false},
		{"data lands, answer lost once", isData, lands(503, "ServiceUnavailable"), 1, false, false},
		{"commit PUT 403", isCommit, refuse(403, "AccessDenied"), -1, true, false},
		{"commit PUT 503 every attempt", isCommit, refuse(503, "SlowDown"), -1, true, false},
		{"commit PUT 503 once", isCommit, refuse(503, "SlowDown"), 1, false, false},
		{"commit lands, answer lost once", isCommit, lands(503, "ServiceUnavailable"), 1, false, false},
		{"commit lands, answer lost twice", isCommit, lands(500, "InternalError"), 2, false, false},
		{"commit PUT slow past the timeout once", isCommit, stall, 1, false, false},
		{"commit lands, answer late once", isCommit, lateAnswer, 1, false, false},
		{"commit read 503 once", isCommitRead, refuse(503, "SlowDown"), 1, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			armed, hits := false, 0
			s3fs := newTestS3FS(t, func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error) {
				mu.Lock()
				hit := armed && c.match(r) && (c.times < 0 || hits < c.times)
				if hit {
					hits++
				}
				mu.Unlock()
				if hit {
					return c.fault(r, send)
				}
				return send()
			}, attemptTimeout)
			opts := []Option{WithFS(s3fs), WithCheckpointInterval(1000)}
			dir := newS3Root(t)
			tbl, err := Create(dir, testSchema(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			appendRows(t, tbl, 0, 10)
			appendRows(t, tbl, 10, 10)
			mu.Lock()
			armed = true
			mu.Unlock()
			want := int64(2)
			if c.reader {
				snap, err := Snapshot(dir, -1, opts...)
				if err != nil || snap.Version != want {
					t.Fatalf("snapshot through the fault: %v %v", snap, err)
				}
			} else {
				rec := testBatch(20, 10)
				_, err = tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{})
				rec.Release()
				if c.fails != (err != nil) {
					t.Fatalf("Append = %v, want failure %v", err, c.fails)
				}
				if !c.fails {
					want = 3
				}
			}
			mu.Lock()
			armed = false
			if hits == 0 {
				t.Fatal("the fault never hit")
			}
			mu.Unlock()
			plain := []Option{WithFS(newTestS3FS(t, nil, 0))}
			snap := checkTable(t, dir, plain...)
			if snap.Version != want {
				t.Fatalf("version %d, want %d", snap.Version, want)
			}
			l, err := listLog(s3fs, JoinPath(dir, logDirName))
			if err != nil || len(l.commits) != int(want)+1 {
				t.Fatalf("log has %d commits, want %d (%v)", len(l.commits), want+1, err)
			}
			if n, _ := snap.NumRecords(); n != 10*want {
				t.Fatalf("%d rows, want %d", n, 10*want)
			}
			if v := appendRows(t, tbl, 100, 5); v != want+1 {
				t.Fatalf("next append: version %d, want %d", v, want+1)
			}
			checkTable(t, dir, plain...)
		})
	}
}

// TestS3LostAnswersUnderRace: three Tables race for the same versions with
// answers lost at random; each append lands exactly once.
func TestS3LostAnswersUnderRace(t *testing.T) {
	if _, why := testS3Endpoint(); why != "" {
		t.Skip(why)
	}
	var mu sync.Mutex
	n := 0
	s3fs := newTestS3FS(t, func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error) {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/_delta_log/") {
			return send()
		}
		mu.Lock()
		n++
		lose := n%3 == 0
		mu.Unlock()
		resp, err := send()
		if lose && err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return s3Answer(r, 503, "ServiceUnavailable"), nil
		}
		return resp, err
	}, 0)
	dir := newS3Root(t)
	if _, err := Create(dir, testSchema(), WithFS(s3fs)); err != nil {
		t.Fatal(err)
	}
	const writers, appends = 3, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbl, err := Open(dir, WithFS(s3fs))
			if err != nil {
				errs <- err
				return
			}
			for i := range appends {
				rec := testBatch(int64(w*1000+i*10), 10)
				_, err := tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{})
				rec.Release()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap := checkTable(t, dir, WithFS(newTestS3FS(t, nil, 0)))
	if snap.Version != writers*appends || len(snap.Files) != writers*appends {
		t.Fatalf("version %d, files %d; want %d each", snap.Version, len(snap.Files), writers*appends)
	}
}
