package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/enroutehq/enroute/internal/sqlstore"
)

// conn adapts a writer and a reader *sql.DB to sqlstore.Conn. The
// shared SQL's statements are prepared once per text and kept (ws, rs):
// SQLite otherwise parses every statement anew, a fifth of the server's
// CPU under the admin API's writes (BENCHMARKS.md).
type conn struct {
	w, r   *sql.DB
	ck     *sql.DB // checkpoints beside the writer (see DeletePositionsBefore)
	ws, rs stmts
}

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := c.ws.get(ctx, c.w, q)
	if err != nil {
		return 0, err
	}
	return exec(ctx, st, c.w, q, args)
}

func (c *conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st, err := c.rs.get(ctx, c.r, q)
	if err != nil {
		return nil, err
	}
	return query(ctx, st, c.r, q, args)
}

func (c *conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	st, err := c.rs.get(ctx, c.r, q)
	if err != nil {
		return errRow{err}
	}
	return queryRow(ctx, st, c.r, q, args)
}

// plainSQL runs a statement's text: a pool (*sql.DB) or a transaction.
type plainSQL interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// exec runs q prepared (st) or, when st is nil, as plain SQL on p; so do
// query and queryRow.
func exec(ctx context.Context, st *sql.Stmt, p plainSQL, q string, args []any) (int64, error) {
	var res sql.Result
	var err error
	if st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = p.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func query(ctx context.Context, st *sql.Stmt, p plainSQL, q string, args []any) (sqlstore.Rows, error) {
	var rows *sql.Rows
	var err error
	if st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = p.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	return rowsOf{rows}, nil
}

func queryRow(ctx context.Context, st *sql.Stmt, p plainSQL, q string, args []any) sqlstore.Row {
	if st != nil {
		return row{st.QueryRowContext(ctx, args...)}
	}
	return row{p.QueryRowContext(ctx, q, args...)}
}

func (c *conn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	t, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &tx{t: t, c: c}, nil
}

// stmts holds statements prepared on one pool, by their text. The shared
// SQL has a bounded set of texts (its filters vary which clauses appear);
// past maxStmts, a new text runs as plain SQL.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxStmts = 256

// kept returns q's statement if it is prepared.
func (s *stmts) kept(q string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[q]
}

// get returns q prepared on db, preparing it if it is new; nil when
// maxStmts are kept already.
func (s *stmts) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if st := s.kept(q); st != nil {
		return st, nil
	}
	s.mu.Lock()
	full := len(s.m) >= maxStmts
	s.mu.Unlock()
	if full {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kept := s.m[q]; kept != nil { // prepared meanwhile by another caller
		_ = st.Close()
		return kept, nil
	}
	if len(s.m) >= maxStmts { // filled meanwhile
		_ = st.Close()
		return nil, nil
	}
	if s.m == nil {
		s.m = map[string]*sql.Stmt{}
	}
	s.m[q] = st
	return st, nil
}

func (s *stmts) close() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.m {
		errs = append(errs, st.Close())
	}
	s.m = nil
	return errs
}

func (c *conn) Ping(ctx context.Context) error {
	var one int
	return c.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func (c *conn) Close() error {
	var errs []error
	errs = append(errs, c.ws.close()...)
	errs = append(errs, c.rs.close()...)
	return errors.Join(append(errs, c.ck.Close(), c.r.Close(), c.w.Close())...)
}

// tx runs the shared SQL's statements in its transaction: those prepared
// on the writer already (Tx.StmtContext finds them on the writer's one
// connection), the others as plain SQL, to be prepared once the
// transaction has given the connection back (preparing needs it).
type tx struct {
	t       *sql.Tx
	c       *conn
	missing []string
}

// stmt returns q's statement for the transaction, or nil for plain SQL.
func (t *tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.c.ws.kept(q); st != nil {
		return t.t.StmtContext(ctx, st)
	}
	t.missing = append(t.missing, q)
	return nil
}

func (t *tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return exec(ctx, t.stmt(ctx, q), t.t, q, args)
}

func (t *tx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, t.stmt(ctx, q), t.t, q, args)
}

func (t *tx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return queryRow(ctx, t.stmt(ctx, q), t.t, q, args)
}

// done prepares what the transaction ran as plain SQL, for the next time.
func (t *tx) done(ctx context.Context) {
	for _, q := range t.missing {
		if _, err := t.c.ws.get(context.WithoutCancel(ctx), t.c.w, q); err != nil {
			return // it runs as plain SQL again next time
		}
	}
	t.missing = nil
}

func (t *tx) Commit(ctx context.Context) error {
	err := t.t.Commit()
	t.done(ctx)
	return err
}

func (t *tx) Rollback(ctx context.Context) error {
	err := t.t.Rollback()
	if !errors.Is(err, sql.ErrTxDone) {
		t.done(ctx)
	}
	return err
}

// errRow is a row whose statement could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	} else {
		return err
	}
}

type rowsOf struct{ *sql.Rows }

func (r rowsOf) Close() { _ = r.Rows.Close() }
