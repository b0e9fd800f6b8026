package geocode

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/nominatimtest"
	"github.com/enroutehq/enroute/nominatim"
	"github.com/enroutehq/enroute/sqlite"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newStore is a fresh embedded store with a customer; it returns the
// customer's ID.
func newStore(t *testing.T) (enroute.Store, int64) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &enroute.Customer{Name: "Jordan Smith", Language: "en"}
	if err := s.CreateCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	return s, c.ID
}

// run starts w until the test ends.
func run(t *testing.T, w *Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// hookFunc is a LocationHook.
type hookFunc func(context.Context, *enroute.Location) error

func (f hookFunc) LocationChanged(ctx context.Context, l *enroute.Location) error { return f(ctx, l) }

// TestWorker: Wait returns with the geocoder's outcome, a settled location
// runs the hooks, and a retry does not.
func TestWorker(t *testing.T) {
	s, cust := newStore(t)
	geo := nominatimtest.Start(t)
	geo.Script("1200 W Harrison St", nominatimtest.TooMany(0), nominatimtest.House(41.8743, -87.6571, "1200", "West Harrison Street", "Chicago", "60607"))
	g, err := nominatim.New(nominatim.Config{URL: geo.URL, UserAgent: "Enroute/test (https://enroute.test)"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		changed []enroute.VerificationStatus
	)
	hook := hookFunc(func(_ context.Context, l *enroute.Location) error {
		mu.Lock()
		defer mu.Unlock()
		changed = append(changed, l.Verification.Status)
		return nil
	})
	w := NewWorker(s, g, []enroute.LocationHook{hook}, Config{PollInterval: 20 * time.Millisecond, BaseBackoff: 20 * time.Millisecond}, discard)
	run(t, w)
	ctx := context.Background()

	l := &enroute.Location{CustomerID: cust, Address: "1200 W Harrison St"}
	if err := s.CreateLocation(ctx, l); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Each Wait returns once an attempt was recorded: the 429, then the
	// retry (or at once, if it came first).
	var got *enroute.Location
	for got == nil || got.Verification.Status == enroute.VerificationPending {
		w.Wait(wctx, l.ID)
		if wctx.Err() != nil {
			t.Fatalf("still pending: %+v", got)
		}
		if got, err = s.FindLocationByID(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got.Verification.Status != enroute.VerificationVerified || got.Verification.Attempts != 2 || len(geo.Requests("")) != 2 {
		t.Fatalf("after the retry: %+v, %d requests", got.Verification, len(geo.Requests("")))
	}
	// Settled: Wait returns at once.
	w.Wait(wctx, l.ID)
	mu.Lock()
	defer mu.Unlock()
	if len(changed) != 1 || changed[0] != enroute.VerificationVerified {
		t.Fatalf("hooks ran for %v, want once, verified", changed)
	}
}

// TestWorkerWithoutGeocoder: with none set up, a location without a pin
// is unverified at once, saying so.
func TestWorkerWithoutGeocoder(t *testing.T) {
	s, cust := newStore(t)
	w := NewWorker(s, nil, nil, Config{}, discard)
	run(t, w)
	ctx := context.Background()
	l := &enroute.Location{CustomerID: cust, Address: "Rua B 2"}
	if err := s.CreateLocation(ctx, l); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w.Wait(wctx, l.ID)
	got, err := s.FindLocationByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Verification; v.Status != enroute.VerificationUnverified || v.Reason != enroute.ReasonNoGeocoder || got.Verified {
		t.Fatalf("without a geocoder: %+v", v)
	}
}

func TestBackoff(t *testing.T) {
	w := NewWorker(nil, nil, nil, Config{BaseBackoff: time.Second, MaxBackoff: 10 * time.Second}, discard)
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {5, 10 * time.Second}, {40, 10 * time.Second}} {
		for range 50 {
			if got := w.backoff(tc.attempt); got < tc.base*8/10 || got > tc.base*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ± 20%%", tc.attempt, got, tc.base)
			}
		}
	}
}
