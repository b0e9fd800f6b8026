package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"slices"
	"testing"

	"github.com/enroutehq/enroute"
)

// failingSQL prepares but fails when run (SQLite's integer overflow): a
// stand-in for a pragma whose restore fails.
const failingSQL = "SELECT abs(-9223372036854775808)"

// synchronous is the write pool's synchronous setting: 2 is FULL, every
// write's but the history's.
func synchronous(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A pinned connection whose setting cannot be restored is closed, not
// given back to the pool as it is: the next write gets a fresh one, at
// synchronous=FULL.
func TestRestoreFailedDiscards(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	conn, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		t.Fatal(err)
	}
	if err := restore(ctx, conn, failingSQL); err == nil {
		t.Fatal("restore of a failing statement: no error")
	}
	if err := restore(ctx, conn, "PRAGMA synchronous = FULL"); err != nil {
		t.Fatalf("restore on a discarded connection: %v, want nil (nothing goes back to the pool)", err)
	}
	conn.Close()
	if v := synchronous(t, s); v != 2 {
		t.Fatalf("synchronous after a failed restore = %d, want 2 (FULL: a fresh connection)", v)
	}
}

// spyConn is a write connection that notes its synchronous level as each
// transaction begins, and fails the restore of FULL when told to.
type spyConn struct {
	driverConn
	q        driver.QueryerContext
	levels   []int64
	failFull bool
}

func (c *spyConn) level(ctx context.Context) (int64, error) {
	rows, err := c.q.QueryContext(ctx, "PRAGMA synchronous", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return 0, err
	}
	return v[0].(int64), nil
}

func (c *spyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	v, err := c.level(ctx)
	if err != nil {
		return nil, err
	}
	c.levels = append(c.levels, v)
	return c.driverConn.BeginTx(ctx, opts)
}

func (c *spyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if c.failFull && q == "PRAGMA synchronous = FULL" {
		return nil, errors.New("restore refused (test)")
	}
	return c.driverConn.ExecContext(ctx, q, args)
}

// histWrite runs the write connection's histWriter on a spy of it,
// staging one fix, and returns the spy, write's results and the level
// the connection is left at.
func histWrite(t *testing.T, s *Store, failFull bool) (spy *spyConn, left bool, err error, after int64) {
	t.Helper()
	ctx := context.Background()
	conn, cerr := s.w.Conn(ctx)
	if cerr != nil {
		t.Fatal(cerr)
	}
	defer conn.Close()
	p := enroute.Position{TechnicianID: 7, DeviceID: 7, Time: stageT0, Lat: 41, Lng: -8.61, ReceivedAt: stageT0}
	rerr := conn.Raw(func(dc any) error {
		c, cerr := writeConnOf(dc)
		if cerr != nil {
			return cerr
		}
		spy = &spyConn{driverConn: c.inner(), q: c.inner(), failFull: failFull}
		left, err = c.hist.write(ctx, spy, nil, []enroute.Position{p})
		var lerr error
		if after, lerr = spy.level(ctx); lerr != nil {
			return lerr
		}
		_, lerr = c.inner().ExecContext(ctx, "PRAGMA synchronous = FULL", nil) // as the pool expects it
		return lerr
	})
	if rerr != nil {
		t.Fatal(rerr)
	}
	return spy, left, err, after
}

// History commits run at synchronous=NORMAL, and leave the connection at
// FULL. (A prepared pragma takes effect when SQLite prepares it, not when
// it runs: prepared once, the two left every commit at FULL.)
func TestHistoryCommitsAtNormal(t *testing.T) {
	s := openTemp(t)
	spy, left, err, after := histWrite(t, s, false)
	if err != nil || left {
		t.Fatalf("write: left %v, %v", left, err)
	}
	if !slices.Equal(spy.levels, []int64{1}) {
		t.Fatalf("synchronous as the commit began = %v, want [1] (NORMAL)", spy.levels)
	}
	if after != 2 {
		t.Fatalf("synchronous after the commit = %d, want 2 (FULL)", after)
	}
	if n := stagedRows(t, s); n != 1 {
		t.Fatalf("staged fixes = %d, want 1", n)
	}
}

// A history commit whose restore of synchronous=FULL fails keeps its
// fixes (they are in: saying otherwise would have them sent again) and
// says the connection is left at NORMAL, for the caller to close it.
func TestHistoryRestoreFailed(t *testing.T) {
	s := openTemp(t)
	_, left, err, after := histWrite(t, s, true)
	if err != nil {
		t.Fatalf("write: %v, want nil: the commit went through", err)
	}
	if !left || after != 1 {
		t.Fatalf("left = %v at synchronous %d, want true at 1 (NORMAL)", left, after)
	}
	if n := stagedRows(t, s); n != 1 {
		t.Fatalf("staged fixes = %d, want 1", n)
	}
}

// An insert whose connection is left at NORMAL succeeds (its fixes are
// in) and closes that connection: the pool's next is at FULL.
func TestInsertRestoreFailedDiscards(t *testing.T) {
	s := openTemp(t)
	s.wrapHist = func(c driverConn) driverConn {
		return &spyConn{driverConn: c, q: c.(driver.QueryerContext), failFull: true}
	}
	stageOne(t, s, 7, 0) // fails the test on an error
	s.wrapHist = nil
	if v := synchronous(t, s); v != 2 {
		t.Fatalf("synchronous after the insert = %d, want 2 (FULL: a fresh connection)", v)
	}
	stageOne(t, s, 7, 1) // the fresh connection prepares its own statements
	if n := stagedRows(t, s); n != 2 {
		t.Fatalf("staged fixes = %d, want 2", n)
	}
	if s.staging.rows != 2 {
		t.Fatalf("staging counts %d fixes, want 2 (both inserts')", s.staging.rows)
	}
}
