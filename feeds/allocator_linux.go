//go:build linux && cgo

package feeds

/*
#include <stddef.h>
#include <stdint.h>

// DuckDB's Linux builds bundle jemalloc under the prefix duckdb_je_. Weak:
// a DuckDB library without it still links, and the calls report -1.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// 4096 is MALLCTL_ARENAS_ALL: every arena.
static int backtest_je_purge(void) {
	if (!duckdb_je_mallctl) return -1;
	return duckdb_je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

// Dirty pages (freed, still resident) of every arena; -1 when unknown.
static int64_t backtest_je_dirty(void) {
	if (!duckdb_je_mallctl) return -1;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	if (duckdb_je_mallctl("epoch", &epoch, &sz, &epoch, sz) != 0) return -1;
	size_t n = 0;
	sz = sizeof(n);
	if (duckdb_je_mallctl("stats.arenas.4096.pdirty", &n, &sz, NULL, 0) != 0) return -1;
	return (int64_t)n;
}
*/
import "C"

// purgeDuckDBMemory returns to the OS the pages DuckDB's allocator freed but
// keeps resident, and reports whether it could.
func purgeDuckDBMemory() bool { return C.backtest_je_purge() == 0 }

// duckDBDirtyPages is how many pages DuckDB's allocator freed and keeps
// resident (-1: unknown).
func duckDBDirtyPages() int64 { return int64(C.backtest_je_dirty()) }
