package lake

import (
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// This file owns how data files' pages are zstd-compressed. arrow-go's zstd
// codec takes its encoders from a sync.Pool with zstd's default 8 MiB
// window: each encoder holds an 8 MiB history buffer, and the pool drops
// its encoders at garbage collections, so tables that flush at the same
// time hold 8 MiB each and flushes keep allocating (and clearing) new ones.
// The codec registered here compresses with long-lived encoders, one per
// level, each with GOMAXPROCS states, and a 1 MiB window: a data page is at
// most 1 MiB (arrow-go's default page size), so every match a page can
// have is still found and the bytes are the same as arrow-go's codec gives
// (zstd_test.go); a larger page is still valid zstd. Decoding is
// arrow-go's.

// zstdWindow is the encoders' window: arrow-go's data page size.
const zstdWindow = 1 << 20

func init() {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	base, ok := codec.(zstdBase)
	if err != nil || !ok {
		return // arrow-go's codec changed shape: keep it
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{zstdBase: base})
}

// zstdBase is arrow-go's codec: it decodes, streams and bounds.
type zstdBase interface {
	compress.ErrorCodec
	compress.StreamingCodec
}

type zstdCodec struct {
	zstdBase
	mu   sync.Mutex
	encs map[zstd.EncoderLevel]*zstd.Encoder
}

// encoder is the level's encoder (created on first use, kept).
func (c *zstdCodec) encoder(level zstd.EncoderLevel) *zstd.Encoder {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.encs[level]; e != nil {
		return e
	}
	// arrow-go's options (zero frames, entropy-coded literals) but the window.
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level),
		zstd.WithAllLitEntropyCompression(true), zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
	if err != nil {
		panic("lake: zstd encoder: " + err.Error()) // constant, valid options
	}
	if c.encs == nil {
		c.encs = map[zstd.EncoderLevel]*zstd.Encoder{}
	}
	c.encs[level] = e
	return e
}

func (c *zstdCodec) Encode(dst, src []byte) []byte {
	return c.encoder(zstd.SpeedDefault).EncodeAll(src, dst[:0])
}

func (c *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	return c.encoder(l).EncodeAll(src, dst[:0])
}

// ReleaseEncoders drops the long-lived encoders and their history buffers
// (~4 MiB on 2 cores); the next data file written creates them again. A run
// calls it once its writers have closed, so that its reports do not hold
// them. An encode in flight keeps the encoder it took.
func ReleaseEncoders() {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if c, ok := codec.(*zstdCodec); err == nil && ok {
		c.mu.Lock()
		c.encs = nil
		c.mu.Unlock()
	}
}
