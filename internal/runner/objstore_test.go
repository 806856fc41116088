package runner

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/optionsrisk/backtest/lake"
)

// testObjectStore returns an S3 FS on the test server and a fresh prefix,
// or skips when no server answers at BACKTEST_TEST_S3_ENDPOINT.
func testObjectStore(t *testing.T) (*lake.S3FS, string) {
	t.Helper()
	ep := os.Getenv("BACKTEST_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("no S3 test server: BACKTEST_TEST_S3_ENDPOINT is unset (eval \"$(.ci/s3-server)\")")
	}
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Skipf("no S3 test server answers at %s: %v", ep, err)
	}
	c.Close()
	bucket := os.Getenv("BACKTEST_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "backtest-test"
	}
	fsys, err := lake.LoadS3FS(func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ep)
		o.UsePathStyle = true
		o.Region = "us-east-1"
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fsys.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket})
	return fsys, "s3://" + bucket + "/runner-" + time.Now().Format("150405.000000000")
}

func stageRun(t *testing.T, id string) string {
	t.Helper()
	stage := t.TempDir()
	w, err := lake.NewFillWriter(filepath.Join(stage, "fills"), lake.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(lake.FillRow{RunID: id, Seq: 1, Symbol: "SPY", Side: "buy", Status: "filled"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"run_id": id})
	for name, body := range map[string][]byte{"run.json": b, "summary.json": []byte("{}")} {
		if err := os.WriteFile(filepath.Join(stage, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return stage
}

func TestPublishObjectStates(t *testing.T) {
	fsys, out := testObjectStore(t)
	ctx := context.Background()
	now := time.Now
	state := func(id string) RunState {
		t.Helper()
		st, _, err := StateOf(fsys, lake.JoinPath(out, id), now())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state("a"); st != StateMissing {
		t.Fatalf("before: %s", st)
	}
	if err := PublishObject(ctx, fsys, stageRun(t, "a"), lake.JoinPath(out, "a"), now); err != nil {
		t.Fatal(err)
	}
	if st := state("a"); st != StatePublished {
		t.Fatalf("after publish: %s", st)
	}
	if _, err := fsys.Stat(lake.JoinPath(out, "a", ClaimFile)); err == nil {
		t.Fatal("claim left behind")
	}
	snap, err := lake.Snapshot(lake.JoinPath(out, "a", "fills"), -1, lake.WithFS(fsys))
	if err != nil || len(snap.Files) != 1 {
		t.Fatalf("published table: %v %v", snap, err)
	}
	// Publishing again is refused.
	if err := PublishObject(ctx, fsys, stageRun(t, "a"), lake.JoinPath(out, "a"), now); err == nil {
		t.Fatal("second publish accepted")
	}

	// A live claim (this process holds it) is in progress; a claim of a
	// dead process of this host, or an old one of another host, is
	// abandoned, and so are objects without claim or marker.
	writeClaim := func(id string, c claim) {
		b, _ := json.Marshal(c)
		if err := fsys.Put(lake.JoinPath(out, id, ClaimFile), b); err != nil {
			t.Fatal(err)
		}
		if err := fsys.Put(lake.JoinPath(out, id, "fills", "part-x.parquet"), []byte("half")); err != nil {
			t.Fatal(err)
		}
	}
	heldClaims.Store("live", true)
	defer heldClaims.Delete("live")
	ts := now().UTC().Format(time.RFC3339Nano)
	writeClaim("live", claim{Host: hostTag(), PID: os.Getpid(), Started: ts, Token: "live"})
	writeClaim("dead-pid", claim{Host: hostTag(), PID: 1 << 22, Started: ts, Token: "x"})
	writeClaim("my-pid-not-held", claim{Host: hostTag(), PID: os.Getpid(), Started: ts, Token: "gone"})
	writeClaim("other-host-fresh", claim{Host: "elsewhere", PID: 7, Started: ts, Token: "y"})
	writeClaim("other-host-old", claim{Host: "elsewhere", PID: 7, Started: now().Add(-2 * ClaimStaleAfter).UTC().Format(time.RFC3339Nano), Token: "z"})
	if err := fsys.Put(lake.JoinPath(out, "no-claim", "x"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	runs, err := ListRuns(ctx, fsys, out, now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RunState{}
	for _, r := range runs {
		got[r.ID] = r.State
	}
	want := map[string]RunState{
		"a": StatePublished, "live": StateInProgress, "dead-pid": StateAbandoned, "my-pid-not-held": StateAbandoned,
		"other-host-fresh": StateInProgress, "other-host-old": StateAbandoned, "no-claim": StateAbandoned,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
	// A live claim blocks a publish of the same id; an abandoned one is
	// replaced.
	if err := PublishObject(ctx, fsys, stageRun(t, "live"), lake.JoinPath(out, "live"), now); err == nil {
		t.Fatal("published over a live claim")
	}
	if err := PublishObject(ctx, fsys, stageRun(t, "dead-pid"), lake.JoinPath(out, "dead-pid"), now); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(lake.JoinPath(out, "dead-pid", "fills", "part-x.parquet")); err == nil {
		t.Fatal("the abandoned attempt's objects survived")
	}
	removed, err := CleanAbandoned(ctx, fsys, out, now())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"my-pid-not-held", "no-claim", "other-host-old"}) {
		t.Fatalf("cleaned %v", removed)
	}
	ids, err := publishedObjectRuns(ctx, fsys, out, now())
	if err != nil || !slices.Equal(ids, []string{"a", "dead-pid"}) {
		t.Fatalf("published %v %v", ids, err)
	}
}
