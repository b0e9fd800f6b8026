package natsbus_test

import (
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/natsbus"
)

// connect returns a bus on the test NATS server with its own prefix, or
// skips the test (fails under CI, which must run it).
func connect(tb testing.TB, prefix string) *natsbus.Bus {
	tb.Helper()
	url := os.Getenv("ENROUTE_TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("ENROUTE_TEST_NATS_URL is not set; CI must run the bus tests")
		}
		tb.Skip("set ENROUTE_TEST_NATS_URL (e.g. nats://127.0.0.1:4222)")
	}
	b, err := natsbus.Connect(url, prefix, "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// inbox is a Publisher that hands on what it is told.
type inbox struct {
	pos  chan enroute.Position
	asg  chan enroute.Assignment
	prog chan enroute.Progress
}

func newInbox() *inbox {
	return &inbox{pos: make(chan enroute.Position, 1024), asg: make(chan enroute.Assignment, 16), prog: make(chan enroute.Progress, 16)}
}
func (in *inbox) PublishPosition(p *enroute.Position)     { in.pos <- *p }
func (in *inbox) PublishAssignment(a *enroute.Assignment) { in.asg <- *a }
func (in *inbox) PublishProgress(p *enroute.Progress)     { in.prog <- *p }

func receive[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived from the bus")
		panic("unreachable")
	}
}

// TestBusCarriesEveryKind: what one node publishes reaches another node's
// receivers whole (cells and viewport fields included), and a bus with
// another prefix hears none of it.
func TestBusCarriesEveryKind(t *testing.T) {
	prefix := "test" + enroute.NewSecret("", 6)
	from, to, other := connect(t, prefix), connect(t, prefix), connect(t, prefix+"x")
	got, stray := newInbox(), newInbox()
	if err := to.Subscribe(natsbus.Receivers{Positions: got, Assignments: got, Progress: got}); err != nil {
		t.Fatal(err)
	}
	if err := other.Subscribe(natsbus.Receivers{Positions: stray, Assignments: stray, Progress: stray}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	p := enroute.Position{TechnicianID: 7, DeviceID: 3, Time: at, Lat: 41.1496, Lng: -8.606, AccuracyM: 5, SpeedMPS: 11,
		HeadingDeg: 90, AltitudeM: 80, Battery: 64, ReceivedAt: at.Add(time.Second), Cell: 0x8839220c6bfffff}
	from.PublishPosition(&p)
	if q := receive(t, got.pos); !reflect.DeepEqual(q, p) {
		t.Fatalf("position %+v arrived as %+v", p, q)
	}
	a := enroute.Assignment{ID: 42, JobID: 9, TechnicianID: 7, Status: enroute.StatusDispatched}
	from.PublishAssignment(&a)
	if b := receive(t, got.asg); b.ID != a.ID || b.JobID != a.JobID || b.TechnicianID != a.TechnicianID || b.Status != a.Status {
		t.Fatalf("assignment %+v arrived as %+v", a, b)
	}
	pr := enroute.Progress{AssignmentID: 42, TechnicianID: 7, DistanceM: 1234, ETA: at.Add(5 * time.Minute), At: at, Lat: 41.1, Lng: -8.6, Cell: 0x8839220c6bfffff}
	from.PublishProgress(&pr)
	if q := receive(t, got.prog); !reflect.DeepEqual(q, pr) {
		t.Fatalf("progress %+v arrived as %+v", pr, q)
	}
	select {
	case v := <-stray.pos:
		t.Fatalf("another prefix heard %+v", v)
	case <-time.After(100 * time.Millisecond):
	}
}

// BenchmarkPositionRoundTrip: one position published by one node and
// received by another, one at a time: the latency the bus adds to a fix.
func BenchmarkPositionRoundTrip(b *testing.B) {
	prefix := "bench" + enroute.NewSecret("", 6)
	from, to := connect(b, prefix), connect(b, prefix)
	got := newInbox()
	if err := to.Subscribe(natsbus.Receivers{Positions: got}); err != nil {
		b.Fatal(err)
	}
	p := enroute.Position{TechnicianID: 7, DeviceID: 3, Time: time.Now(), Lat: 41.1496, Lng: -8.606, Cell: 0x8839220c6bfffff}
	for b.Loop() {
		from.PublishPosition(&p)
		<-got.pos
	}
}

// BenchmarkPositionThroughput: positions published back to back and all
// received by another node: the bus's cost per fix under load.
func BenchmarkPositionThroughput(b *testing.B) {
	prefix := "bench" + enroute.NewSecret("", 6)
	from, to := connect(b, prefix), connect(b, prefix)
	got := newInbox()
	if err := to.Subscribe(natsbus.Receivers{Positions: got}); err != nil {
		b.Fatal(err)
	}
	p := enroute.Position{TechnicianID: 7, DeviceID: 3, Time: time.Now(), Lat: 41.1496, Lng: -8.606, Cell: 0x8839220c6bfffff}
	done := make(chan struct{})
	n := b.N
	go func() {
		for range n {
			<-got.pos
		}
		close(done)
	}()
	b.ResetTimer()
	for i := range n {
		p.TechnicianID = int64(i % 1000)
		from.PublishPosition(&p)
	}
	<-done
}
