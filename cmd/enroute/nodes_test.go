package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// natsURL is the test NATS server, or the test skips (fails under CI).
func natsURL(t *testing.T) string {
	u := os.Getenv("ENROUTE_TEST_NATS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENROUTE_TEST_NATS_URL is not set; CI must run the multi-node tests")
		}
		t.Skip("multi-node tests skipped: set ENROUTE_TEST_NATS_URL (e.g. nats://127.0.0.1:4222)")
	}
	return u
}

// TestTwoNodes: two nodes on one PostgreSQL and NATS. A fix ingested on
// node A reaches a customer and a board connected to node B; a status
// change made on node B reaches a customer on node A.
func TestTwoNodes(t *testing.T) {
	nurl := natsURL(t)
	env := map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t), "ENROUTE_NATS_URL": nurl,
		"ENROUTE_NATS_PREFIX": "test" + enroute.NewSecret("", 6), "ENROUTE_ADMIN_TOKEN": testAdminToken}
	a := &stack{t: t, env: env}
	a.m, _ = start(t, env)
	b := &stack{t: t, env: env}
	b.m, _ = start(t, env)

	tech, _, token := a.device("Ana Silva")
	asg, link := a.trackingLink(tech)
	onB, _, err := b.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer onB.Close()
	next(t, onB, 5*time.Second) // snapshot
	board, _, err := b.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	if err := board.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}
	next(t, board, 5*time.Second) // snapshot
	onA, _, err := a.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer onA.Close()
	next(t, onA, 5*time.Second)

	a.fixAt(token, 41.1430, -8.6075) // ingested on node A
	if m := nextNotProgress(t, onB, 5*time.Second); m["type"] != "position" || m["lat"] != 41.143 {
		t.Fatalf("customer on node B got %v", m)
	}
	for {
		if m := next(t, board, 5*time.Second); m["type"] == "position" || m["type"] == "positions" {
			break
		}
	}
	// A board opening on node B later finds the technician in its snapshot:
	// node B mirrors the positions node A ingested.
	late, _, err := b.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := late.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}
	snap := next(t, late, 5*time.Second)
	if ps, _ := snap["positions"].([]any); snap["type"] != "snapshot" || len(ps) != 1 || ps[0].(map[string]any)["lat"] != 41.143 {
		t.Fatalf("late board on node B got %v", snap)
	}

	b.move(asg, "start") // on node B
	for {
		m := nextNotProgress(t, onA, 5*time.Second)
		if m["type"] == "status" {
			if m["status"] != "working" {
				t.Fatalf("customer on node A got %v", m)
			}
			break
		}
	}
	// The shared store has it all.
	if n, err := b.m.Store.CountPositions(context.Background()); err != nil || n != 1 {
		t.Fatalf("stored %d fixes (%v)", n, err)
	}
}
