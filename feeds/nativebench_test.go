package feeds

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A native file read with computed greeks: every row takes the slow path,
// which for a contract already accepted takes it from the table (no symMeta
// built per row).
func BenchmarkNativeComputeGreeks(b *testing.B) {
	cfg := smallSynth()
	cfg.Days = flatSessions(20)
	cfg.Every = 5 * time.Minute
	src, err := NewSynthetic(cfg, 3)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "f.parquet")
	n, err := WriteParquet(context.Background(), src, path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s, err := OpenFile(context.Background(), FileConfig{Path: path, Preset: PresetNative, Greeks: GreeksCompute}, Skip, nil)
		if err != nil {
			b.Fatal(err)
		}
		m := int64(0)
		for {
			bt, err := s.Next(context.Background())
			if err != nil {
				break
			}
			m += int64(len(bt.Quotes))
		}
		s.Close()
		if b.N == 1 {
			b.Logf("%d rows, %d accepted", n, m)
		}
	}
	b.ReportMetric(float64(n), "rows")
}
