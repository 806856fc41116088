// Package lake stores a run's tables as Delta Lake tables: Parquet data files
// plus a _delta_log of JSON commits and Parquet checkpoints, following the
// Delta protocol (reader 1 / writer 2) so that delta-rs, Polars, DuckDB and
// Spark read them.
//
// The package has three layers:
//   - Table (table.go, commit.go, checkpoint.go): create, append and commit
//     with put-if-absent publication and optimistic-concurrency retry.
//   - Snapshot (snapshot.go, log.go): replay the log at a version, refuse
//     protocol features it does not implement, and read rows through DuckDB
//     or as Arrow.
//   - Writer (writer.go, events.go, fills.go, equity.go): batching row writers
//     that work on their own goroutine behind a bounded queue, including the
//     risk.Sink that persists risk events.
//
// All file-system access goes through the FS seam (fs.go) so that tests can
// fail or tear each write step.
package lake
