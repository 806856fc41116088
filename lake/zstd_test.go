package lake

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// arrowZstd encodes as arrow-go's codec does (its pooled encoder options).
func arrowZstd(t testing.TB, level zstd.EncoderLevel, src []byte) []byte {
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		t.Fatal(err)
	}
	return e.EncodeAll(src, nil)
}

// pages are data like a table's pages: repetitive strings, numbers, noise,
// of sizes from empty to arrow-go's 1 MiB page.
func pages() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for _, n := range []int{0, 1, 100, 4096, 128 << 10, 128<<10 + 1, 700 << 10, zstdWindow} {
		var b bytes.Buffer
		for b.Len() < n {
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "trailing_stop|update|exec-%06d|", rng.IntN(3000))
			case 1:
				fmt.Fprintf(&b, "%.4f", rng.NormFloat64()*100)
			default:
				b.WriteByte(byte(rng.Uint32()))
			}
		}
		out = append(out, b.Bytes()[:n])
	}
	return out
}

// The registered codec writes the bytes arrow-go's codec writes, for every
// page up to the page size, at the lake's level and the default, and they
// decode back.
func TestZstdCodecSameBytes(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(*zstdCodec); !ok {
		t.Fatalf("registered zstd codec is %T, want the lake's", codec)
	}
	for _, p := range pages() {
		for _, level := range []int{DefaultZstdLevel, compress.DefaultCompressionLevel} {
			got := codec.EncodeLevel(nil, p, level)
			zl := zstd.EncoderLevelFromZstd(level)
			if level == compress.DefaultCompressionLevel {
				zl = zstd.SpeedDefault
			}
			if want := arrowZstd(t, zl, p); !bytes.Equal(got, want) {
				t.Fatalf("page of %d bytes, level %d: %d bytes, arrow-go's codec %d", len(p), level, len(got), len(want))
			}
			back, err := compress.Decode(codec, make([]byte, len(p)), got)
			if err != nil || !bytes.Equal(back, p) {
				t.Fatalf("page of %d bytes: round trip %v", len(p), err)
			}
		}
	}
}

// Its encoders are kept and small: encoding a page after collections
// allocates no new 8 MiB history, as arrow-go's pooled encoders do.
func TestZstdCodecMemory(t *testing.T) {
	codec, _ := compress.GetCodec(compress.Codecs.Zstd)
	p := pages()[6]
	codec.EncodeLevel(nil, p, DefaultZstdLevel) // the encoder exists
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	codec.EncodeLevel(nil, p, DefaultZstdLevel)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Fatalf("an encode after two collections allocated %d bytes, want under 2 MiB", got)
	}
}

// ReleaseEncoders drops the codec's encoders; the next page makes them
// again and compresses to the same bytes.
func TestZstdReleaseEncoders(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	c := codec.(*zstdCodec)
	p := pages()[5]
	before := codec.EncodeLevel(nil, p, DefaultZstdLevel)
	c.mu.Lock()
	held := len(c.encs)
	c.mu.Unlock()
	if held == 0 {
		t.Fatal("no encoder held after an encode")
	}
	ReleaseEncoders()
	c.mu.Lock()
	held = len(c.encs)
	c.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d encoders held after ReleaseEncoders", held)
	}
	if after := codec.EncodeLevel(nil, p, DefaultZstdLevel); !bytes.Equal(after, before) {
		t.Fatal("a page compressed after ReleaseEncoders differs")
	}
}
