package lake

import "time"

// Option configures a Table (Create, Open, Snapshot, writers).
type Option func(*options)

type options struct {
	fs                 FS
	fsSet              bool // WithFS was given: no resolution by location
	clock              func() time.Time
	maxRetries         int
	checkpointInterval int64
	rowGroupRows       int64
	zstdLevel          int
	engineInfo         string
}

// Defaults. A zero or negative value passed to an option keeps the default.
const (
	// DefaultMaxRetries bounds how often a commit that lost the race for
	// its version is retried at the next one.
	DefaultMaxRetries = 1000
	// DefaultCheckpointInterval: a checkpoint every 10 versions.
	DefaultCheckpointInterval = 10
	// DefaultRowGroupRows: rows per Parquet row group (~ tens of MB
	// uncompressed for the run tables; good for DuckDB and Polars scans).
	DefaultRowGroupRows = 1 << 20
	// DefaultZstdLevel: zstd level 1 keeps the writer above 1M rows/s on
	// two cores; higher levels trade speed for smaller files.
	DefaultZstdLevel = 1
	// EngineInfo is written to every commitInfo.
	EngineInfo = "optionsrisk-backtest-lake/1"
)

func buildOptions(opts []Option) options {
	o := options{
		fs:                 OSFS{},
		clock:              time.Now,
		maxRetries:         DefaultMaxRetries,
		checkpointInterval: DefaultCheckpointInterval,
		rowGroupRows:       DefaultRowGroupRows,
		zstdLevel:          DefaultZstdLevel,
		engineInfo:         EngineInfo,
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// forLocation picks the FS of location (FSFor) unless WithFS chose one.
func (o *options) forLocation(location string) error {
	if o.fsSet {
		return nil
	}
	fsys, err := FSFor(location)
	if err != nil {
		return err
	}
	o.fs = fsys
	return nil
}

// WithFS routes all file access through fsys (fault injection in tests).
// Without it, s3:// locations use the process's object store (FSFor) and
// other paths the operating system.
func WithFS(fsys FS) Option {
	return func(o *options) {
		if fsys != nil {
			o.fs = fsys
			o.fsSet = true
		}
	}
}

// WithClock sets the wall clock used for commit timestamps and file
// modification times (run metadata, never row data).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.clock = now
		}
	}
}

// WithMaxRetries bounds commit retries after losing a version race.
func WithMaxRetries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxRetries = n
		}
	}
}

// WithCheckpointInterval writes a checkpoint every n versions.
func WithCheckpointInterval(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.checkpointInterval = n
		}
	}
}

// WithRowGroupRows sets the Parquet row group length.
func WithRowGroupRows(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.rowGroupRows = n
		}
	}
}

// WithZstdLevel sets the zstd compression level of data files.
func WithZstdLevel(level int) Option {
	return func(o *options) {
		if level > 0 {
			o.zstdLevel = level
		}
	}
}
