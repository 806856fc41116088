package feeds

import (
	"fmt"
	"os"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// This file owns a file source's DuckDB settings: how much memory and how
// many threads DuckDB may use, where it spills, and which reader executes the
// quote queries.

// Defaults of ReadOptions.
const (
	// DefaultMemoryLimit caps DuckDB's buffer manager (the Parquet and CSV
	// readers' buffers, a sort's runs). Beyond it a sort spills to TempDir.
	DefaultMemoryLimit = "160MB"
	// DefaultThreads is DuckDB's worker threads. One: the quote query runs
	// on the prefetch goroutine's thread while the engine runs on another
	// core; a second DuckDB thread measured 40 % more CPU for the same scan
	// and 25 MiB more memory, for no gain in wall time on two cores.
	DefaultThreads = 1
)

// ReadOptions sets DuckDB's resources for a file source.
type ReadOptions struct {
	// TempDir is where DuckDB spills when a query outgrows MemoryLimit (a
	// sort of a feed not in time order). Default: a new folder under the
	// system temp folder, removed by Close. A given folder is used as is and
	// left in place (the runner passes one inside the run's staging folder).
	TempDir string
	// MemoryLimit is DuckDB's memory_limit, e.g. "160MB" (DefaultMemoryLimit).
	MemoryLimit string
	// Threads is DuckDB's threads (default DefaultThreads, at most the CPUs).
	Threads int
}

// duckState is a file source's DuckDB side beyond the database/sql handle.
type duckState struct {
	raw       bindings.Connection // the C connection, when streaming is possible
	streaming bool
	temp      string // DuckDB's temp_directory; a CSV's normalized copy goes there too
	tempOwned string // a temp folder this source made (removed by Close)
}

func (s *fileSource) setupDuckDB(o ReadOptions) error {
	temp := o.TempDir
	if temp == "" {
		d, err := os.MkdirTemp("", "backtest-duckdb-")
		if err != nil {
			return fmt.Errorf("feeds: duckdb temp folder: %w", err)
		}
		temp, s.duck.tempOwned = d, d
	}
	s.duck.temp = temp
	mem := o.MemoryLimit
	if mem == "" {
		mem = DefaultMemoryLimit
	}
	threads := o.Threads
	if threads <= 0 {
		threads = min(DefaultThreads, runtime.NumCPU())
	}
	for _, stmt := range []string{
		// Offline and host-independent: never fetch or autoload extensions.
		"SET autoinstall_known_extensions=false", "SET autoload_known_extensions=false",
		// A query without ORDER BY returns the file's rows in file order.
		"SET preserve_insertion_order=true",
		"SET memory_limit=" + sqlString(mem),
		fmt.Sprintf("SET threads=%d", threads),
		"SET temp_directory=" + sqlString(temp),
		// The cache of file blocks would hold read data up to memory_limit:
		// each block of a feed is read once.
		"SET enable_external_file_cache=false",
		// jemalloc's background threads return the pages DuckDB freed:
		// without them, what a thread's arena freed (the footer parsed by
		// the plan's DESCRIBE, on another thread than the fetches) stayed
		// resident for the whole run (measured on a 100 M-quote file:
		// native memory 81 → 57 MiB).
		"SET allocator_background_threads=true",
	} {
		if _, err := s.conn.ExecContext(s.ctx, stmt); err != nil {
			return fmt.Errorf("feeds: duckdb: %s: %w", stmt, err)
		}
	}
	s.duck.raw, s.duck.streaming = rawConnection(s.ctx, s.conn)
	return nil
}

// query starts a quote query: streamed when possible, else through
// duckdb-go's (materializing) Arrow interface.
func (s *fileSource) query(sqlText string) (array.RecordReader, error) {
	if s.duck.streaming {
		return streamQuery(s.ctx, s.duck.raw, sqlText)
	}
	return s.arrow.QueryContext(s.ctx, sqlText)
}

func (s *fileSource) removeTemp() error {
	if s.duck.tempOwned == "" {
		return nil
	}
	d := s.duck.tempOwned
	s.duck.tempOwned = ""
	return os.RemoveAll(d)
}
