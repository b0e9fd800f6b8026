package notify

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	w := NewWorker(nil, nil, nil, WorkerConfig{BaseBackoff: time.Second, MaxBackoff: 10 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {30, 10 * time.Second}} {
		for range 50 {
			got := w.backoff(tc.attempt)
			if lo, hi := tc.base*8/10, tc.base*12/10; got < lo || got > hi {
				t.Fatalf("backoff(%d) = %v, want %v ± 20%%", tc.attempt, got, tc.base)
			}
		}
	}
	if l := (&WorkerConfig{Batch: 2, SendTimeout: 10 * time.Second}).lease(); l != 30*time.Second {
		t.Fatalf("lease = %v: it must outlast sending the whole batch", l)
	}
}
