package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/enroutehq/enroute"
)

// histWriter commits positions through the write connection's driver
// statements themselves (sql.Conn.Raw), not database/sql's: a one-fix
// request's commit ran about a dozen statements (the synchronous pragma
// there and back, the transaction, INSERTs of 10 and of 1 row), and
// database/sql converted every argument of every one into a new slice
// (driverArgsConnLocked: 35% of the bytes the server allocated under
// OsmAnd's one fix a request) and took its locks around each.
//
// Its statements are prepared on the write connection when the store
// opens, and again should database/sql ever open another (it drops one
// only when the driver says it is unusable; the statements of that one
// are left with it, not finalized on a closed database).
//
// Concurrency: used only by the holder of the one write connection.
type histWriter struct {
	dc            any                    // the driver connection the statements are prepared on
	insert, stage [len(insertSizes)]stmt // per insertSizes: into positions (OR IGNORE), into positions_recent
	normal, full  stmt                   // PRAGMA synchronous = NORMAL, = FULL
	args          []driver.NamedValue    // a statement's arguments, reused
}

// stmt is a driver statement that executes with a context.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
}

// driverConn is what histWriter needs of the driver's connection.
type driverConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
}

// write commits direct into the history and staged into staging in one
// transaction at synchronous=NORMAL (see InsertPositions), on dc.
func (h *histWriter) write(ctx context.Context, dc any, direct, staged []enroute.Position) (err error) {
	if err := h.prepared(ctx, dc); err != nil {
		return err
	}
	if err := h.exec(ctx, h.normal, 0); err != nil {
		return fmt.Errorf("synchronous: %w", err)
	}
	defer func() {
		if e := h.exec(context.WithoutCancel(ctx), h.full, 0); e != nil && err == nil {
			err = fmt.Errorf("synchronous: %w", e)
		}
	}()
	tx, err := dc.(driverConn).BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := h.insertRows(ctx, &h.insert, direct); err != nil {
		return errors.Join(fmt.Errorf("insert positions: %w", err), tx.Rollback())
	}
	if err := h.insertRows(ctx, &h.stage, staged); err != nil {
		return errors.Join(fmt.Errorf("stage positions: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit positions: %w", err)
	}
	return nil
}

// prepared makes sure the statements are prepared on dc (Open prepares
// them, so that the first fix's commit does not wait for SQLite to parse
// INSERTs of 1,100 parameters).
func (h *histWriter) prepared(ctx context.Context, dc any) error {
	if h.dc == dc {
		return nil
	}
	c, ok := dc.(driverConn)
	if !ok {
		return fmt.Errorf("sqlite driver connection %T cannot prepare", dc)
	}
	if err := h.prepare(ctx, c); err != nil {
		return err
	}
	h.dc = dc
	return nil
}

// prepare prepares the statements on c, dropping any prepared on another
// connection.
func (h *histWriter) prepare(ctx context.Context, c driverConn) error {
	*h = histWriter{args: h.args}
	prep := func(q string) (stmt, error) {
		st, err := c.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		x, ok := st.(stmt)
		if !ok {
			st.Close()
			return nil, fmt.Errorf("sqlite driver statement %T cannot execute with a context", st)
		}
		return x, nil
	}
	var err error
	for k, n := range insertSizes {
		if h.insert[k], err = prep(insertSQL("INSERT OR IGNORE", "positions", n)); err != nil {
			break
		}
		if h.stage[k], err = prep(insertSQL("INSERT", "positions_recent", n)); err != nil {
			break
		}
	}
	if err == nil {
		if h.normal, err = prep("PRAGMA synchronous = NORMAL"); err == nil {
			h.full, err = prep("PRAGMA synchronous = FULL")
		}
	}
	if err != nil {
		h.close()
		return fmt.Errorf("prepare history statements: %w", err)
	}
	return nil
}

// close closes the statements; the connection must be the one they were
// prepared on, and still open.
func (h *histWriter) close() error {
	var errs []error
	for _, st := range append(append(h.insert[:], h.stage[:]...), h.normal, h.full) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	*h = histWriter{}
	return errors.Join(errs...)
}

// insertRows inserts ps with the fewest of sts' statements.
func (h *histWriter) insertRows(ctx context.Context, sts *[len(insertSizes)]stmt, ps []enroute.Position) error {
	for k, n := range insertSizes {
		for len(ps) >= n {
			h.args = h.args[:0]
			for i := range n {
				h.args = appendRow(h.args, &ps[i])
			}
			if err := h.exec(ctx, sts[k], len(h.args)); err != nil {
				return err
			}
			ps = ps[n:]
		}
	}
	return nil
}

// exec runs st with the first n of h.args.
func (h *histWriter) exec(ctx context.Context, st stmt, n int) error {
	_, err := st.ExecContext(ctx, h.args[:n])
	return err
}
