package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3FS is the ObjectFS of S3 and S3-compatible stores (MinIO, Cloudflare
// R2, moto). Names are URLs s3://bucket/key; folders are key prefixes.
//
//   - Writes: CreateExcl buffers PartSize bytes; a file that stays smaller
//     is one PutObject when closed, a larger one a multipart upload
//     (aborted on failure). Both carry If-None-Match: * so an existing
//     object is never replaced. Commits and checkpoints go through
//     PutIfAbsent (one conditional PutObject).
//   - Lost answers: every upload carries a random token in its metadata.
//     When a retried conditional PUT is refused because the object exists,
//     S3FS reads the object's token: if it is its own (the first attempt
//     landed but its answer was lost, e.g. a 503 after the write), the
//     write succeeded; otherwise the name was taken by someone else
//     (fs.ErrExist). So a commit is never published twice.
//   - Reads: Open issues one HeadObject; ReadAt is one ranged GetObject,
//     pinned to the object's ETag (If-Match), which is what Parquet readers
//     need; Read reads ahead ReadAhead bytes per request.
//   - Retries, timeouts, credentials, region and endpoint are the AWS
//     SDK's (standard retry mode: 3 attempts with backoff on 5xx, 429 and
//     network errors); an answer slower than S3ResponseTimeout is a failed
//     attempt.
type S3FS struct {
	client *s3.Client
	// PartSize is the multipart part size and the single-PUT limit
	// (default 16 MiB; S3 requires at least 5 MiB).
	PartSize int
	// ReadAhead is the size of sequential Read requests (default 8 MiB).
	ReadAhead int
}

// Default S3FS sizes.
const (
	DefaultS3PartSize  = 16 << 20
	DefaultS3ReadAhead = 8 << 20
	minS3PartSize      = 5 << 20
	tokenMetaKey       = "backtest-token"
	// S3ResponseTimeout bounds the wait for an answer's headers (after the
	// request body is sent) before the attempt is retried.
	S3ResponseTimeout = 2 * time.Minute
)

var _ ObjectFS = (*S3FS)(nil)

// NewS3FS returns an S3FS over client.
func NewS3FS(client *s3.Client) *S3FS {
	return &S3FS{client: client, PartSize: DefaultS3PartSize, ReadAhead: DefaultS3ReadAhead}
}

// LoadS3FS builds an S3FS from the standard AWS configuration: the
// environment (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_PROFILE, ...), the
// shared config and credentials files, and the endpoint from
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. A custom endpoint is addressed
// path-style (http://host/bucket/key, what MinIO and moto expect) unless
// BACKTEST_S3_VIRTUAL_HOSTED=true. optFns adjust the client last.
func LoadS3FS(optFns ...func(*s3.Options)) (*S3FS, error) {
	// A store that accepts a request and never answers must not hang the
	// run: the attempt times out and the SDK retries it.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = S3ResponseTimeout
	})
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	return NewS3FS(s3.NewFromConfig(cfg, append([]func(*s3.Options){S3AddressingStyle}, optFns...)...)), nil
}

// S3AddressingStyle selects path-style addressing when the client has a
// custom endpoint (unless BACKTEST_S3_VIRTUAL_HOSTED=true), and keeps the
// SDK quiet about ranged reads having no whole-object checksum.
func S3AddressingStyle(o *s3.Options) {
	// Ranged reads come back without a whole-object checksum; the SDK
	// would log that at every read.
	o.DisableLogOutputChecksumValidationSkipped = true
	if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
		virtual, _ := strconv.ParseBool(os.Getenv("BACKTEST_S3_VIRTUAL_HOSTED"))
		o.UsePathStyle = !virtual
	}
}

// Client returns the S3 client.
func (s *S3FS) Client() *s3.Client { return s.client }

func (s *S3FS) split(op, name string) (bucket, key string, err error) {
	if !IsObjectPath(name) {
		return "", "", &fs.PathError{Op: op, Path: name, Err: errors.New("not an s3:// URL")}
	}
	bucket, key = splitObjectPath(name)
	if bucket == "" {
		return "", "", &fs.PathError{Op: op, Path: name, Err: errors.New("no bucket")}
	}
	return bucket, key, nil
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// s3Err maps S3 answers to fs errors: a missing key is fs.ErrNotExist, a
// refused conditional write fs.ErrExist.
func s3Err(op, name string, err error) error {
	if err == nil {
		return nil
	}
	switch code := errorCode(err); {
	case code == "NoSuchKey" || code == "NotFound":
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	case code == "PreconditionFailed" || code == "ConditionalRequestConflict",
		code == "" && httpStatus(err) == http.StatusPreconditionFailed:
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func ctxBG() context.Context { return context.Background() }

// ownedBy reports whether the object at bucket/key carries token: a
// refused conditional write whose earlier attempt landed.
func (s *S3FS) ownedBy(bucket, key, token string) bool {
	h, err := s.client.HeadObject(ctxBG(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	return err == nil && h.Metadata[tokenMetaKey] == token
}

// putObject is one (conditional) PutObject of body.
func (s *S3FS) putObject(op, name, bucket, key string, body []byte, ifAbsent bool) error {
	token := newUUID()
	in := &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		Metadata:      map[string]string{tokenMetaKey: token},
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.client.PutObject(ctxBG(), in)
	err = s3Err(op, name, err)
	if errors.Is(err, fs.ErrExist) && s.ownedBy(bucket, key, token) {
		return nil
	}
	return err
}

// PutIfAbsent implements ObjectFS.
func (s *S3FS) PutIfAbsent(name string, body []byte) error {
	bucket, key, err := s.split("put", name)
	if err != nil {
		return err
	}
	return s.putObject("put", name, bucket, key, body, true)
}

// Put implements ObjectFS.
func (s *S3FS) Put(name string, body []byte) error {
	bucket, key, err := s.split("put", name)
	if err != nil {
		return err
	}
	return s.putObject("put", name, bucket, key, body, false)
}

// CreateExcl implements FS. The object appears when Close succeeds;
// if the name exists by then, Close fails with fs.ErrExist.
func (s *S3FS) CreateExcl(name string) (File, error) {
	bucket, key, err := s.split("create", name)
	if err != nil {
		return nil, err
	}
	part := max(s.PartSize, minS3PartSize)
	return &s3Writer{fs: s, name: name, bucket: bucket, key: key, part: part, token: newUUID()}, nil
}

// s3Writer buffers up to one part; see S3FS.
type s3Writer struct {
	fs                *S3FS
	name, bucket, key string
	part              int
	token             string
	buf               []byte
	uploadID          *string
	parts             []types.CompletedPart
	err               error
	closed            bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, &fs.PathError{Op: "write", Path: w.name, Err: fs.ErrClosed}
	}
	n := len(p)
	for len(p) > 0 {
		room := w.part - len(w.buf)
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) >= w.part {
			if err := w.uploadPart(); err != nil {
				w.err = err
				w.abort()
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *s3Writer) uploadPart() error {
	ctx := ctxBG()
	if w.uploadID == nil {
		out, err := w.fs.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: &w.bucket, Key: &w.key, Metadata: map[string]string{tokenMetaKey: w.token},
		})
		if err != nil {
			return s3Err("write", w.name, err)
		}
		w.uploadID = out.UploadId
	}
	num := int32(len(w.parts) + 1)
	out, err := w.fs.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &w.bucket, Key: &w.key, UploadId: w.uploadID, PartNumber: &num,
		Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf))),
	})
	if err != nil {
		return s3Err("write", w.name, err)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: &num})
	w.buf = w.buf[:0]
	return nil
}

func (w *s3Writer) abort() {
	if w.uploadID == nil {
		return
	}
	_, _ = w.fs.client.AbortMultipartUpload(ctxBG(), &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: w.uploadID})
	w.uploadID = nil
}

// Sync implements File: nothing is durable before Close uploads it.
func (w *s3Writer) Sync() error { return w.err }

// Close uploads the object (or completes the multipart upload).
func (w *s3Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		w.abort()
		return w.err
	}
	if w.uploadID == nil {
		body := w.buf
		w.buf = nil
		token := w.token
		in := &s3.PutObjectInput{
			Bucket: &w.bucket, Key: &w.key, Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))), IfNoneMatch: aws.String("*"),
			Metadata: map[string]string{tokenMetaKey: token},
		}
		_, err := w.fs.client.PutObject(ctxBG(), in)
		err = s3Err("close", w.name, err)
		if errors.Is(err, fs.ErrExist) && w.fs.ownedBy(w.bucket, w.key, token) {
			err = nil
		}
		w.err = err
		return err
	}
	if len(w.buf) > 0 {
		if err := w.uploadPart(); err != nil {
			w.err = err
			w.abort()
			return err
		}
	}
	_, err := w.fs.client.CompleteMultipartUpload(ctxBG(), &s3.CompleteMultipartUploadInput{
		Bucket: &w.bucket, Key: &w.key, UploadId: w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
		IfNoneMatch:     aws.String("*"),
	})
	err = s3Err("close", w.name, err)
	if errors.Is(err, fs.ErrExist) && w.fs.ownedBy(w.bucket, w.key, w.token) {
		err = nil
	}
	if err != nil {
		w.abort()
	}
	w.uploadID = nil
	w.err = err
	return err
}

// Link implements FS: a conditional copy of oldname's bytes to newname.
func (s *S3FS) Link(oldname, newname string) error {
	b, err := s.ReadFile(oldname)
	if err != nil {
		return err
	}
	return s.PutIfAbsent(newname, b)
}

// Rename implements FS: copy, then delete the source. The target is
// replaced whole (object writes are atomic); the pair is not.
func (s *S3FS) Rename(oldname, newname string) error {
	b, err := s.ReadFile(oldname)
	if err != nil {
		return err
	}
	if err := s.Put(newname, b); err != nil {
		return err
	}
	return s.Remove(oldname)
}

// Remove implements FS. A missing object is fs.ErrNotExist, as locally.
func (s *S3FS) Remove(name string) error {
	bucket, key, err := s.split("remove", name)
	if err != nil {
		return err
	}
	if _, err := s.client.HeadObject(ctxBG(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		return s3Err("remove", name, err)
	}
	_, err = s.client.DeleteObject(ctxBG(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return s3Err("remove", name, err)
}

// RemoveAll implements ObjectFS: the object name and every object under
// name/.
func (s *S3FS) RemoveAll(name string) error {
	bucket, key, err := s.split("removeall", name)
	if err != nil {
		return err
	}
	prefix := key
	if prefix != "" {
		prefix += "/"
	}
	var keys []types.ObjectIdentifier
	if key != "" {
		keys = append(keys, types.ObjectIdentifier{Key: aws.String(key)})
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctxBG())
		if err != nil {
			return s3Err("removeall", name, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, types.ObjectIdentifier{Key: o.Key})
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		out, err := s.client.DeleteObjects(ctxBG(), &s3.DeleteObjectsInput{
			Bucket: &bucket, Delete: &types.Delete{Objects: keys[:n], Quiet: aws.Bool(true)},
		})
		if err != nil {
			return s3Err("removeall", name, err)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) != "NoSuchKey" {
				return &fs.PathError{Op: "removeall", Path: name, Err: fmt.Errorf("%s: %s %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))}
			}
		}
		keys = keys[n:]
	}
	return nil
}

// MkdirAll implements FS: object stores have no folders.
func (s *S3FS) MkdirAll(string) error { return nil }

// SyncDir implements FS: a completed upload is durable.
func (s *S3FS) SyncDir(string) error { return nil }

// ReadFile implements FS.
func (s *S3FS) ReadFile(name string) ([]byte, error) {
	bucket, key, err := s.split("read", name)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctxBG(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, s3Err("read", name, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// Open implements FS: one HeadObject, then ranged reads.
func (s *S3FS) Open(name string) (ReadFile, error) {
	bucket, key, err := s.split("open", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a bucket")}
	}
	h, err := s.client.HeadObject(ctxBG(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, s3Err("open", name, err)
	}
	return &s3Reader{fs: s, name: name, bucket: bucket, key: key, etag: h.ETag,
		info: objectInfo{name: BasePath(name), size: aws.ToInt64(h.ContentLength), mod: aws.ToTime(h.LastModified)}}, nil
}

// s3Reader reads one object version by ranges.
type s3Reader struct {
	fs                *S3FS
	name, bucket, key string
	etag              *string
	info              objectInfo
	pos               int64
	ahead             []byte // bytes [aheadOff, aheadOff+len) of the object
	aheadOff          int64
}

func (r *s3Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: r.name, Err: errors.New("negative offset")}
	}
	if off >= r.info.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := min(off+int64(len(p)), r.info.size)
	out, err := r.fs.client.GetObject(ctxBG(), &s3.GetObjectInput{
		Bucket: &r.bucket, Key: &r.key, IfMatch: r.etag,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1)),
	})
	if err != nil {
		return 0, s3Err("read", r.name, err)
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p[:end-off])
	if err != nil {
		return n, &fs.PathError{Op: "read", Path: r.name, Err: err}
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.pos >= r.info.size {
		return 0, io.EOF
	}
	if r.pos < r.aheadOff || r.pos >= r.aheadOff+int64(len(r.ahead)) {
		size := min(int64(max(r.fs.ReadAhead, len(p), 1)), r.info.size-r.pos)
		buf := make([]byte, size)
		n, err := r.ReadAt(buf, r.pos)
		if n == 0 && err != nil {
			return 0, err
		}
		r.ahead, r.aheadOff = buf[:n], r.pos
	}
	n := copy(p, r.ahead[r.pos-r.aheadOff:])
	r.pos += int64(n)
	return n, nil
}

func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.info.size + offset
	default:
		return 0, errors.New("lake: s3 seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("lake: s3 seek: negative position")
	}
	r.pos = abs
	return abs, nil
}

func (r *s3Reader) Close() error               { r.ahead = nil; return nil }
func (r *s3Reader) Stat() (fs.FileInfo, error) { return r.info, nil }

// ReadDir implements FS: the objects and common prefixes one level under
// name, sorted by name. A prefix with no objects is fs.ErrNotExist (object
// stores cannot tell a missing folder from an empty one).
func (s *S3FS) ReadDir(name string) ([]fs.DirEntry, error) {
	bucket, key, err := s.split("readdir", name)
	if err != nil {
		return nil, err
	}
	prefix := key
	if prefix != "" {
		prefix += "/"
	}
	var out []fs.DirEntry
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctxBG())
		if err != nil {
			return nil, s3Err("readdir", name, err)
		}
		for _, cp := range page.CommonPrefixes {
			n := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if n != "" {
				out = append(out, fs.FileInfoToDirEntry(objectInfo{name: n, dir: true}))
			}
		}
		for _, o := range page.Contents {
			n := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if n == "" { // a "folder marker" object
				continue
			}
			out = append(out, fs.FileInfoToDirEntry(objectInfo{name: n, size: aws.ToInt64(o.Size), mod: aws.ToTime(o.LastModified)}))
		}
		if len(out) > maxLogEntries {
			return nil, fmt.Errorf("lake: list %s: more than %d entries", name, maxLogEntries)
		}
	}
	if len(out) == 0 && key != "" {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Stat implements FS: an object, or a folder when objects exist under
// name/.
func (s *S3FS) Stat(name string) (fs.FileInfo, error) {
	bucket, key, err := s.split("stat", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		if _, err := s.client.HeadBucket(ctxBG(), &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
			return nil, s3Err("stat", name, err)
		}
		return objectInfo{name: bucket, dir: true}, nil
	}
	h, err := s.client.HeadObject(ctxBG(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return objectInfo{name: BasePath(name), size: aws.ToInt64(h.ContentLength), mod: aws.ToTime(h.LastModified)}, nil
	}
	if err := s3Err("stat", name, err); !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	out, err := s.client.ListObjectsV2(ctxBG(), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1)})
	if err != nil {
		return nil, s3Err("stat", name, err)
	}
	if len(out.Contents) == 0 {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return objectInfo{name: BasePath(name), dir: true}, nil
}

// objectInfo is the fs.FileInfo of an object or prefix.
type objectInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (o objectInfo) Name() string       { return o.name }
func (o objectInfo) Size() int64        { return o.size }
func (o objectInfo) ModTime() time.Time { return o.mod }
func (o objectInfo) IsDir() bool        { return o.dir }
func (o objectInfo) Sys() any           { return nil }
func (o objectInfo) Mode() fs.FileMode {
	if o.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
