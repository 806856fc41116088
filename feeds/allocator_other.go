//go:build !linux || !cgo

package feeds

func purgeDuckDBMemory() bool { return false }

func duckDBDirtyPages() int64 { return -1 }
