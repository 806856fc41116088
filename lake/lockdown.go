package lake

// Read-only DuckDB for SQL the tool did not write. Lockdown turns an
// in-memory database into a sandbox: external access off except the exact
// data files given (allowed_paths: no directory, so neither siblings nor
// symlinks beside them), extension install and autoload off, configuration
// locked so no SET can undo it. CheckReadOnlySQL then admits one SELECT or
// EXPLAIN per call: with writes to the allowed files still possible for
// COPY ... TO, statement types are the second wall.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// ErrNotReadOnly: a statement the sandbox does not run.
var ErrNotReadOnly = errors.New("lake: read-only query")

// Lockdown restricts db to reading files (absolute real paths). It must
// run after the views are created and before any untrusted SQL.
func Lockdown(ctx context.Context, db *sql.DB, files []string) error {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = sqlString(f)
	}
	stmts := []string{
		"SET TimeZone = 'UTC'",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET allowed_paths = [" + strings.Join(q, ", ") + "]",
		"SET allowed_directories = []",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("lake: lockdown: %s: %w", s, err)
		}
	}
	return nil
}

// CheckReadOnlySQL prepares query on conn (nothing runs) and refuses it
// unless it is exactly one SELECT or EXPLAIN statement.
func CheckReadOnlySQL(ctx context.Context, conn *sql.Conn, query string) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("lake: not a DuckDB connection (%T)", dc)
		}
		st, err := c.Prepare(query)
		if err != nil {
			if strings.Contains(err.Error(), "multi-statement") {
				return fmt.Errorf("%w: one statement per query (run them one at a time, or use --unsafe)", ErrNotReadOnly)
			}
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("lake: not a DuckDB statement (%T)", st)
		}
		typ, err := ds.StatementType()
		if err != nil {
			return err
		}
		switch typ {
		case duckdb.STATEMENT_TYPE_SELECT, duckdb.STATEMENT_TYPE_EXPLAIN:
			return nil
		}
		name := map[duckdb.StmtType]string{
			duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH",
			duckdb.STATEMENT_TYPE_SET: "SET", duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_LOAD: "INSTALL/LOAD",
			duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_CREATE: "CREATE",
			duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE", duckdb.STATEMENT_TYPE_DELETE: "DELETE",
			duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_CALL: "CALL",
		}[typ]
		if name == "" {
			name = fmt.Sprintf("statement type %d", typ)
		}
		return fmt.Errorf("%w: only SELECT and EXPLAIN are allowed, not %s (use --unsafe for full DuckDB)", ErrNotReadOnly, name)
	})
}
