//go:build linux && cgo

package main

// #include <malloc.h>
import "C"

// One glibc malloc arena for the process. Part of DuckDB's reading
// allocates through glibc malloc from whichever OS thread runs the goroutine
// that calls it, and glibc gives threads arenas of their own that keep what
// they freed: a query that ran on one thread (the plan's) left its memory
// resident while the stream ran on others. Go's own heap does not use
// malloc, and DuckDB runs one thread, so one arena costs no contention.
func init() {
	C.mallopt(C.M_ARENA_MAX, 1)
}
