package reports

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/optionsrisk/backtest/lake"
)

// The reports of every run of a process query one in-memory DuckDB
// database: opening a database costs ~15 ms and a pool of worker threads,
// which a sweep of many small runs paid once per run. Each loaded Run holds
// its own connection, and its views are TEMP views, which DuckDB keeps per
// connection: runs reported at the same time cannot see each other's
// views, and a Run's views go when its connection closes (the pool keeps
// no idle connection, so Close really disconnects).
var shared struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// connect opens a connection of its own to the process's reports database.
func connect(ctx context.Context) (*sql.Conn, error) {
	shared.once.Do(func() {
		shared.db, shared.err = lake.OpenDuckDB()
		if shared.err == nil {
			shared.db.SetMaxIdleConns(0)
		}
	})
	if shared.err != nil {
		return nil, shared.err
	}
	c, err := shared.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: duckdb: %w", err)
	}
	return c, nil
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
