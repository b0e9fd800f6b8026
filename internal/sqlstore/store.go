// Package sqlstore implements enroute.Store once, in SQL that PostgreSQL and
// SQLite both accept ($1 placeholders, RETURNING, ON CONFLICT, partial
// indexes), over a small Conn interface. The adapters sqlite/ and postgres/
// provide a Conn for their driver and a Dialect for what differs (error
// classification, row locking), so the drivers stay in their own packages
// and the logic is written, and tested, once.
//
// Concurrency: a Store is safe for concurrent use. A transaction begun by
// InTx travels in the ctx handed to its function; store calls made with that
// ctx join it. A transaction must not be used from two goroutines at once.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// Querier runs SQL. Implementations return ErrNoRows from Row.Scan when the
// query matched nothing.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Tx is a transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Conn is a connection pool. Outside a transaction, Exec goes to a
// connection that may write; Query and QueryRow may be served by read-only
// connections (SQLite keeps one writer and several readers), so every
// statement that writes and returns rows runs inside a transaction.
type Conn interface {
	Querier
	Begin(ctx context.Context) (Tx, error)
	Ping(ctx context.Context) error
	Close() error
}

// ErrNoRows is returned by Row.Scan when the query matched no row.
var ErrNoRows = errors.New("sqlstore: no rows")

// Constraint is the kind of integrity constraint an error violated.
type Constraint int

// Constraint kinds.
const (
	NoConstraint Constraint = iota
	Unique
	ForeignKey
	Check
)

// ConstraintCodes returns a Dialect.ConstraintOf for a driver whose errors
// are of type E: it classifies an E by its code (never by its text) as
// codes says, and anything else as NoConstraint. The adapters keep only
// their driver's codes.
func ConstraintCodes[E error, C comparable](code func(E) C, codes map[C]Constraint) func(error) Constraint {
	return func(err error) Constraint {
		var e E
		if !errors.As(err, &e) {
			return NoConstraint
		}
		return codes[code(e)]
	}
}

// Dialect is what differs between the databases.
type Dialect struct {
	// ConstraintOf classifies a driver error by its code (never by text).
	ConstraintOf func(err error) Constraint
	// ForUpdate is appended to a SELECT that reads a row to change it:
	// " FOR UPDATE" on PostgreSQL; "" on SQLite, whose writers are
	// serialised already.
	ForUpdate string
	// SkipLocked is appended to the subquery that picks outbox messages to
	// claim: " FOR UPDATE SKIP LOCKED" on PostgreSQL, "" on SQLite.
	SkipLocked string
}

// Store implements enroute.Store over a Conn.
type Store struct {
	conn Conn
	d    Dialect

	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// The adapters embed Store and add the PositionStore of their database.

// New returns a Store over conn. It takes ownership of conn.
func New(conn Conn, d Dialect) *Store {
	return &Store{conn: conn, d: d, Now: time.Now}
}

func (s *Store) now() time.Time { return enroute.Timestamp(s.Now()) }

// Ping implements enroute.Store.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Close implements enroute.Store.
func (s *Store) Close() error { return s.conn.Close() }

type txKey struct{ s *Store }

type txState struct {
	tx    Tx
	after []func()
}

func (s *Store) txOf(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{s}).(*txState)
	return st
}

// q returns the transaction of ctx, or the pool.
func (s *Store) q(ctx context.Context) Querier {
	if st := s.txOf(ctx); st != nil {
		return st.tx
	}
	return s.conn
}

// InTx implements enroute.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if s.txOf(ctx) != nil {
		return fn(ctx)
	}
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	st := &txState{tx: tx}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{s}, st)); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range st.after {
		f()
	}
	return nil
}

// AfterCommit implements enroute.Store.
func (s *Store) AfterCommit(ctx context.Context, fn func()) {
	if st := s.txOf(ctx); st != nil {
		st.after = append(st.after, fn)
		return
	}
	fn()
}

// scanner is a Row or Rows.
type scanner interface{ Scan(dest ...any) error }

// list runs a query and scans every row.
func list[T any](ctx context.Context, q Querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each "?" in cond becomes the next placeholder,
// all taking the same arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

// addEach appends a condition whose "?"s take args in turn.
func (w *where) addEach(cond string, args ...any) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(cond, '?')
		w.args = append(w.args, a)
		b.WriteString(cond[:i])
		b.WriteString("$" + strconv.Itoa(len(w.args)))
		cond = cond[i+1:]
	}
	b.WriteString(cond)
	w.conds = append(w.conds, b.String())
}

// in appends "col IN (...)" for vals; no vals matches nothing.
func in[T any](w *where, col string, vals []T) {
	if len(vals) == 0 {
		return
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		w.args = append(w.args, v)
		ph[i] = "$" + strconv.Itoa(len(w.args))
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(ph, ", ")+")")
}

// sql returns " WHERE ... ORDER BY id LIMIT ... OFFSET ...".
func (w *where) sql(p enroute.Page) string {
	p = p.Normalize()
	var b strings.Builder
	if len(w.conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(w.conds, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY id LIMIT %d OFFSET %d", p.Limit, p.Offset)
	return b.String()
}

// notFound turns ErrNoRows into ENOTFOUND naming what was missing.
func notFound(err error, what string, id int64) error {
	if errors.Is(err, ErrNoRows) {
		return enroute.Errorf(enroute.ENOTFOUND, "%s %d not found.", what, id)
	}
	return err
}

// exists reports whether a row with id exists in table.
func (s *Store) exists(ctx context.Context, table string, id int64) (bool, error) {
	var one int
	err := s.q(ctx).QueryRow(ctx, "SELECT 1 FROM "+table+" WHERE id = $1", id).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// deleteRow deletes a row by id, answering ECONFLICT with conflictMsg when
// other rows still refer to it.
func (s *Store) deleteRow(ctx context.Context, table, what string, id int64, conflictMsg string) error {
	n, err := s.q(ctx).Exec(ctx, "DELETE FROM "+table+" WHERE id = $1", id)
	if err != nil {
		if s.d.ConstraintOf(err) == ForeignKey {
			return enroute.Errorf(enroute.ECONFLICT, "%s", conflictMsg)
		}
		return fmt.Errorf("delete %s %d: %w", table, id, err)
	}
	if n == 0 {
		return enroute.Errorf(enroute.ENOTFOUND, "%s %d not found.", what, id)
	}
	return nil
}
