package lake

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The conformance and fault suites run against every storage backend:
// "local" (the OS file system) always, "s3" when an S3-compatible server
// answers at BACKTEST_TEST_S3_ENDPOINT (.ci/s3-server starts one; CI
// always does). Each test gets a fresh root: a temp dir, or a fresh
// prefix s3://<bucket>/t-<uuid>.

// backend is one storage implementation under test.
type backend struct {
	name string
	fs   FS
	skip string // why the backend is unavailable
	// newRoot returns a fresh, empty location for one test.
	newRoot func(t *testing.T) string
}

func (b backend) opts(extra ...Option) []Option { return append([]Option{WithFS(b.fs)}, extra...) }

// testS3Endpoint returns the test server's endpoint, or why there is none.
func testS3Endpoint() (string, string) {
	ep := os.Getenv("BACKTEST_TEST_S3_ENDPOINT")
	if ep == "" {
		return "", "no S3 test server: BACKTEST_TEST_S3_ENDPOINT is unset (start one with `eval \"$(.ci/s3-server)\"`)"
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return "", "BACKTEST_TEST_S3_ENDPOINT=" + ep + " is not a URL"
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return "", "no S3 test server answers at " + ep + ": " + err.Error()
	}
	c.Close()
	return ep, ""
}

func testS3Bucket() string {
	if b := os.Getenv("BACKTEST_TEST_S3_BUCKET"); b != "" {
		return b
	}
	return "backtest-test"
}

// roundTripFunc is an http.RoundTripper in a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newTestS3FS builds an S3FS on the test server whose HTTP requests pass
// through hook (nil: straight through); send forwards a request to the
// server. Retries are the SDK's standard ones (3 attempts) with a short
// fixed backoff and no retry quota, and each attempt times out after
// attemptTimeout (0: 30 s).
func newTestS3FS(t testing.TB, hook func(r *http.Request, send func() (*http.Response, error)) (*http.Response, error), attemptTimeout time.Duration) *S3FS {
	t.Helper()
	ep, why := testS3Endpoint()
	if why != "" {
		t.Skip(why)
	}
	if attemptTimeout == 0 {
		attemptTimeout = 30 * time.Second
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	var rt http.RoundTripper = base
	if hook != nil {
		rt = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return hook(r, func() (*http.Response, error) { return base.RoundTrip(r) })
		})
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
	})
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  creds,
		BaseEndpoint: aws.String(ep),
		UsePathStyle: true,
		DisableLogOutputChecksumValidationSkipped: true,
		HTTPClient: &http.Client{Transport: rt, Timeout: attemptTimeout},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 5 * time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
	bucket := testS3Bucket()
	ensureBucket.Do(func() {
		_, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket})
		if err != nil && errorCode(err) != "BucketAlreadyOwnedByYou" && errorCode(err) != "BucketAlreadyExists" {
			ensureBucketErr = err
		}
	})
	if ensureBucketErr != nil {
		t.Fatalf("create bucket %s: %v", bucket, ensureBucketErr)
	}
	return NewS3FS(client)
}

var (
	ensureBucket    sync.Once
	ensureBucketErr error
)

// newS3Root is a fresh prefix in the test bucket.
func newS3Root(t *testing.T) string {
	return "s3://" + testS3Bucket() + "/t-" + newUUID()
}

func localBackend() backend {
	return backend{name: "local", fs: OSFS{}, newRoot: func(t *testing.T) string { return t.TempDir() }}
}

func s3Backend(t *testing.T) backend {
	b := backend{name: "s3", newRoot: newS3Root}
	if _, why := testS3Endpoint(); why != "" {
		b.skip = why
		return b
	}
	b.fs = newTestS3FS(t, nil, 0)
	return b
}

// forBackends runs f once per backend, as subtests "local" and "s3".
func forBackends(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range []backend{localBackend(), s3Backend(t)} {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			f(t, b)
		})
	}
}

// writeTestFile writes body at name through fsys, replacing nothing.
func writeTestFile(t *testing.T, fsys FS, name string, body []byte) {
	t.Helper()
	if err := fsys.MkdirAll(DirPath(name)); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.CreateExcl(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// replaceTestFile replaces name's content.
func replaceTestFile(t *testing.T, fsys FS, name string, body []byte) {
	t.Helper()
	if err := fsys.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	writeTestFile(t, fsys, name, body)
}

// readAllFrom reads an open file sequentially.
func readAllFrom(t *testing.T, f ReadFile) []byte {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTestCache is a fetch cache in a temp dir.
func newTestCache(t *testing.T) *Cache {
	t.Helper()
	c, err := NewCache(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
