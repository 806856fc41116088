package reports

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/optionsrisk/backtest/lake"
)

// The reports of the runs of a process query one in-memory DuckDB
// database: opening a database costs ~15 ms and a pool of worker threads,
// which a sweep of many small runs paid once per run. Each loaded Run holds
// its own connection, and its views are TEMP views, which DuckDB keeps per
// connection: runs reported at the same time cannot see each other's
// views, and a Run's views go when its connection closes (the pool keeps
// no idle connection, so Close really disconnects).
//
// The shared database runs each query on the calling thread (threads = 1):
// a run's report tables are small, and DuckDB's worker threads cost a third
// more CPU than they saved on them; runs reported side by side (a sweep)
// still query in parallel, each on its own thread. A run whose tables hold
// more than parallelRows rows gets a database of its own with DuckDB's
// default threads, so that one big run's report keeps parallel scans.
var shared struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// parallelRows is the number of rows (risk_events, fills and equity
// together) above which a run's report gets a database of its own.
var parallelRows int64 = 1_000_000

// connect opens a connection of its own to a reports database for a run
// whose tables hold rows rows (-1: unknown). own is the database when the
// run got one of its own (the caller closes it after the connection).
func connect(ctx context.Context, rows int64) (c *sql.Conn, own *sql.DB, err error) {
	var db *sql.DB
	if rows < 0 || rows > parallelRows {
		if own, err = lake.OpenDuckDB(); err != nil {
			return nil, nil, err
		}
		db = own
	} else {
		shared.once.Do(func() {
			shared.db, shared.err = lake.OpenDuckDB()
			if shared.err == nil {
				shared.db.SetMaxIdleConns(0)
				if _, err := shared.db.ExecContext(context.Background(), "SET threads = 1"); err != nil {
					shared.db.Close()
					shared.db, shared.err = nil, fmt.Errorf("reports: duckdb: %w", err)
				}
			}
		})
		if shared.err != nil {
			return nil, nil, shared.err
		}
		db = shared.db
	}
	if c, err = db.Conn(ctx); err != nil {
		if own != nil {
			own.Close()
		}
		return nil, nil, fmt.Errorf("reports: duckdb: %w", err)
	}
	return c, own, nil
}

// createView makes view name over a table snapshot's active files, visible
// on the run's connection only.
func (r *Run) createView(ctx context.Context, snap *lake.TableSnapshot, name string) error {
	sel, err := snap.SelectSQL()
	if err != nil {
		return err
	}
	_, err = r.DB.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW "`+name+`" AS `+sel)
	return err
}
