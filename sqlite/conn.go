package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/enroutehq/enroute/internal/sqlstore"
)

// conn adapts a writer and a reader *sql.DB to sqlstore.Conn.
type conn struct {
	w, r *sql.DB
	// The history's inserts, prepared once on the writer (see
	// InsertPositions): many rows, and one; and the same into staging.
	insertMany, insertOne, stageMany, stageOne *sql.Stmt
}

func (c *conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execOn(ctx, c.w, q, args)
}

func (c *conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rowsOf{rows}, nil
}

func (c *conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{c.r.QueryRowContext(ctx, q, args...)}
}

func (c *conn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	t, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return tx{t}, nil
}

func (c *conn) Ping(ctx context.Context) error {
	var one int
	return c.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func (c *conn) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{c.insertMany, c.insertOne, c.stageMany, c.stageOne} {
		if st != nil { // Open may fail before preparing them all
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, c.r.Close(), c.w.Close())...)
}

type tx struct{ t *sql.Tx }

func (t tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execOn(ctx, t.t, q, args)
}

func (t tx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.t.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rowsOf{rows}, nil
}

func (t tx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{t.t.QueryRowContext(ctx, q, args...)}
}

func (t tx) Commit(context.Context) error   { return t.t.Commit() }
func (t tx) Rollback(context.Context) error { return t.t.Rollback() }

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func execOn(ctx context.Context, e execer, q string, args []any) (int64, error) {
	res, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

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
