package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"

	"github.com/enroutehq/enroute"
)

// histWriter commits positions through the write connection's driver
// statements themselves (sql.Conn.Raw), not database/sql's: a one-fix
// request's commit ran about a dozen statements (the synchronous pragma
// there and back, the transaction, INSERTs of 10 and of 1 row), and
// database/sql converted every argument of every one into a new slice
// (driverArgsConnLocked: 35% of the bytes the server allocated under
// OsmAnd's one fix a request) and took its locks around each. The
// pragmas are run afresh each time (setSync), not prepared.
//
// Each write connection owns one (writeConn): its statements are
// prepared when the store opens (after the migrations: they name the
// tables), or on a new connection's first commit, and finalized when
// database/sql closes the connection.
//
// Concurrency: used only by the holder of its connection.
type histWriter struct {
	insert, stage [len(insertSizes)]stmt // per insertSizes: into positions (OR IGNORE), into positions_recent
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
	driver.ExecerContext
}

// setSync sets c's synchronous pragma to level. It is run afresh each
// time: SQLite sets a pragma like this one while it prepares the
// statement, not when it is run, so a prepared one would set its level
// once, at preparation.
func setSync(ctx context.Context, c driver.ExecerContext, level string) error {
	if _, err := c.ExecContext(ctx, "PRAGMA synchronous = "+level, nil); err != nil {
		return fmt.Errorf("synchronous = %s: %w", level, err)
	}
	return nil
}

// write commits direct into the history and staged into staging in one
// transaction at synchronous=NORMAL (see InsertPositions), on c. left
// reports that c could not be set back to synchronous=FULL: the caller
// must close it rather than let other writes commit on it (see restore).
func (h *histWriter) write(ctx context.Context, c driverConn, direct, staged []enroute.Position) (left bool, err error) {
	if err := h.prepared(ctx, c); err != nil {
		return false, err
	}
	// FULL is restored even when setting NORMAL failed: the pragma
	// applies as it is prepared, and an error may come after.
	defer func() {
		if e := setSync(context.WithoutCancel(ctx), c, "FULL"); e != nil {
			left = true
			if err == nil {
				// The fixes are in: saying otherwise would have them
				// written again.
				slog.Warn("restoring synchronous=FULL after a history commit; the connection will be closed", "err", e)
			} else {
				err = errors.Join(err, e)
			}
		}
	}()
	if err := setSync(ctx, c, "NORMAL"); err != nil {
		return false, err
	}
	tx, err := c.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	if err := h.insertRows(ctx, &h.insert, direct); err != nil {
		return false, errors.Join(fmt.Errorf("insert positions: %w", err), tx.Rollback())
	}
	if err := h.insertRows(ctx, &h.stage, staged); err != nil {
		return false, errors.Join(fmt.Errorf("stage positions: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit positions: %w", err)
	}
	return false, nil
}

// prepared makes sure the statements are prepared on c: prepare sets
// them all or none.
func (h *histWriter) prepared(ctx context.Context, c driverConn) error {
	if h.stage[len(h.stage)-1] != nil {
		return nil
	}
	return h.prepare(ctx, c)
}

// prepare prepares the statements on c.
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
	if err != nil {
		h.close()
		return fmt.Errorf("prepare history statements: %w", err)
	}
	return nil
}

// close closes the statements, before their connection closes.
func (h *histWriter) close() error {
	var errs []error
	for _, st := range append(h.insert[:], h.stage[:]...) {
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

// writeConnector opens the store's write connections: the driver's, each
// with a histWriter of its own.
type writeConnector struct {
	dsn string
	d   driver.Driver
}

func (w writeConnector) Connect(context.Context) (driver.Conn, error) {
	c, err := w.d.Open(w.dsn)
	if err != nil {
		return nil, err
	}
	if _, ok := c.(writeDriverConn); !ok {
		c.Close()
		return nil, fmt.Errorf("sqlite driver connection %T lacks what the store uses", c)
	}
	return &writeConn{Conn: c}, nil
}

func (w writeConnector) Driver() driver.Driver { return w.d }

// writeDriverConn is what database/sql uses of the driver's connections,
// which writeConn passes on.
type writeDriverConn interface {
	driver.Conn
	driverConn
	driver.ExecerContext
	driver.QueryerContext
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

// writeConn is a write connection and its history statements, closed
// with it.
type writeConn struct {
	driver.Conn
	hist histWriter
}

func (c *writeConn) inner() writeDriverConn { return c.Conn.(writeDriverConn) }

// Close finalizes the history's statements, then closes the connection
// (a statement left open would keep SQLite's handle, its files and its
// page cache, after the close).
func (c *writeConn) Close() error { return errors.Join(c.hist.close(), c.Conn.Close()) }

func (c *writeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}

func (c *writeConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, q)
}

func (c *writeConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.inner().ExecContext(ctx, q, args)
}

func (c *writeConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.inner().QueryContext(ctx, q, args)
}

func (c *writeConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }
func (c *writeConn) IsValid() bool                          { return c.inner().IsValid() }
func (c *writeConn) Ping(ctx context.Context) error         { return c.inner().Ping(ctx) }

// writeConnOf is the store's write connection dc, as sql.Conn.Raw gives
// it.
func writeConnOf(dc any) (*writeConn, error) {
	c, ok := dc.(*writeConn)
	if !ok {
		return nil, fmt.Errorf("write connection %T is not the store's", dc)
	}
	return c, nil
}
