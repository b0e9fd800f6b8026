package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/mailpit"
	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/postgres"
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
	a, b := nodePair(t, natsURL(t))

	tech, _, token := a.device("Ana Silva")
	asg, link := a.trackingLink(tech)
	onB, _, err := b.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer onB.Close()
	next(t, onB, 5*time.Second) // snapshot
	board, _ := b.boardAll()
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
	_, snap := b.boardAll()
	if ps, _ := snap["positions"].([]any); snap["type"] != "snapshot" || len(ps) != 1 || ps[0].(map[string]any)["lat"] != 41.143 {
		t.Fatalf("late board on node B got %v", snap)
	}

	// Node A estimates the distance and ETA; node B's API and tracking
	// state give them too. (Node B keeps progress for the assignments its
	// watcher follows: one that came before the dispatch did is dropped,
	// and the next fix's estimate, 2 s on, makes up for it.)
	onBoth := func() bool {
		p, ok := b.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", asg), nil).body["progress"].(map[string]any)
		return ok && p["distance_m"].(float64) > 0
	}
	sent := 1
	for ; !onBoth(); sent++ {
		if sent == 20 {
			t.Fatal("node A's progress never reached node B's API")
		}
		time.Sleep(500 * time.Millisecond)
		a.fixAt(token, 41.1430+float64(sent)*0.0002, -8.6075)
	}
	if _, raw := send(t, "GET", "http://"+b.m.Addr()+"/t/"+link+"/state", "", ""); !strings.Contains(raw, `"distance_m":`) || !strings.Contains(raw, `"eta":`) {
		t.Fatalf("tracking state on node B: %s", raw)
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
	if n, err := b.m.Store.CountPositions(context.Background()); err != nil || n != int64(sent) {
		t.Fatalf("stored %d fixes of %d (%v)", n, sent, err)
	}
}

// nodePair starts two nodes on a fresh PostgreSQL schema and the NATS at
// natsURL, under a subject prefix of their own.
func nodePair(t *testing.T, natsURL string) (a, b *stack) {
	env := map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t), "ENROUTE_NATS_URL": natsURL,
		"ENROUTE_NATS_PREFIX": "test" + enroute.NewSecret("", 6), "ENROUTE_ADMIN_TOKEN": testAdminToken}
	a = &stack{t: t, env: env}
	a.m, _ = start(t, env)
	b = &stack{t: t, env: env}
	b.m, _ = start(t, env)
	return a, b
}

// twoNodes starts two nodes on one PostgreSQL and NATS, sharing the SMTP
// server and the SMS stand-in.
func twoNodes(t *testing.T) (a, b *stack) {
	nurl := natsURL(t)
	a = newStack(t, "ENROUTE_DATABASE_URL", pgtest.Schema(t), "ENROUTE_NATS_URL", nurl,
		"ENROUTE_NATS_PREFIX", "test"+enroute.NewSecret("", 6))
	b = &stack{t: t, mail: a.mail, sms: a.sms, env: a.env}
	b.m, _ = start(t, b.env)
	return a, b
}

// TestNodesShareOutboxAndLimit: dispatches made on two nodes at once. Both
// nodes' outbox workers poll the one outbox, yet every message is sent
// once; and dispatches racing to one site on the two nodes, with the limit
// rule on, notify once.
func TestNodesShareOutboxAndLimit(t *testing.T) {
	a, b := twoNodes(t)
	a.settings(true, true, false, true)
	nodes := []*stack{a, b}

	// Six sites, one technician each: six texts and six e-mails.
	var jobs, as []int64
	for i := range 6 {
		job := a.job(a.site(fmt.Sprintf("+35191234560%d", i), fmt.Sprintf("c%d@example.com", i)))
		jobs = append(jobs, job)
		as = append(as, a.assign(job, a.technician(fmt.Sprintf("Tech %d", i))))
	}
	// One site, six technicians racing from both nodes: one text, one e-mail.
	shared := a.site("+351912345699", "shared@example.com")
	for i := range 6 {
		job := a.job(shared)
		jobs = append(jobs, job)
		as = append(as, a.assign(job, a.technician(fmt.Sprintf("Crew %d", i))))
	}
	var wg sync.WaitGroup
	for i, asg := range as {
		wg.Go(func() { nodes[i%2].move(asg, "dispatch") })
	}
	wg.Wait()
	a.settle(jobs, 7, 7)
	// Each delivery log agrees on both nodes.
	for _, j := range jobs {
		la, lb := a.messages(j), b.messages(j)
		if fmt.Sprint(la) != fmt.Sprint(lb) {
			t.Fatalf("job %d: node A logs %v, node B %v", j, la, lb)
		}
	}
}

// TestThreeNodesSurviveAKill: three processes on one PostgreSQL and NATS.
// The phone sends to node 1; customers watch on nodes 2 and 3;
// dispatches arrive on all three, one of them twice at once (same
// Idempotency-Key, nodes 2 and 3) while SMTP is down. Node 2 dies by SIGKILL
// mid-stream; its watchers reconnect to node 3 and carry on. Every message
// is sent exactly once and every acknowledged fix is stored.
func TestThreeNodesSurviveAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	nurl := natsURL(t)
	mail, sms := mailpit.Start(t), twiliotest.Start(t)
	dbURL := pgtest.Schema(t)
	env := crashEnv(mail, sms)
	env["ENROUTE_DATABASE_URL"], env["ENROUTE_NATS_URL"], env["ENROUTE_NATS_PREFIX"] = dbURL, nurl, "test"+enroute.NewSecret("", 6)
	var nodes [3]*stack
	var procs [3]*proc
	for i := range procs {
		procs[i] = startProc(t, env)
		nodes[i] = &stack{t: t, m: &Main{}, mail: mail, sms: sms, env: env}
		nodes[i].m.ln = fakeAddr(procs[i].addr)
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n1.settings(true, true, true, false)
	tech, _, token := n1.device("Ana Silva")
	mail.Stop() // every e-mail waits, some of them on node 2

	// Dispatches on all three nodes, to three sites.
	var jobs, asgs []int64
	for i, n := range nodes {
		job := n.job(n.site(fmt.Sprintf("+35191234560%d", i), fmt.Sprintf("c%d@example.com", i)))
		asg := n.assign(job, n.technician(fmt.Sprintf("Tech %d", i)))
		n.move(asg, "dispatch")
		jobs, asgs = append(jobs, job), append(asgs, asg)
	}
	// Ana's dispatch reaches nodes 2 and 3 at once with one Idempotency-Key.
	job := n1.job(n1.site("+351912345699", "maria@example.com"))
	asg := n1.assign(job, tech)
	jobs = append(jobs, job)
	key := "dispatch-ana-" + enroute.NewSecret("", 8)
	var answers [2]res
	var wg sync.WaitGroup
	for i, n := range []*stack{n2, n3} {
		wg.Go(func() {
			answers[i] = n.do("POST", fmt.Sprintf("/api/v1/assignments/%d/dispatch", asg), nil, "Idempotency-Key", key)
		})
	}
	wg.Wait()
	if answers[0].status != 200 || answers[0].raw != answers[1].raw {
		t.Fatalf("one key on two nodes answered %d %s and %d %s", answers[0].status, answers[0].raw, answers[1].status, answers[1].raw)
	}
	link := n1.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/tracking-link", asg), nil).str("token")

	// Watchers on nodes 2 and 3.
	watch := func(n *stack) *websocket.Conn {
		ws, _, err := n.wsDial("/t/" + link + "/live")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		if m := next(t, ws, 5*time.Second); m["type"] != "snapshot" {
			t.Fatalf("first message %v", m)
		}
		return ws
	}
	on2, on3 := watch(n2), watch(n3)
	// The phone streams to node 1: a fix every 50 ms, 10 m apart, heading north.
	const fixes = 40
	var acked []float64
	lat := func(i int) float64 { return float64(411400+i) / 1e4 } // exact in %f
	sendFix := func(i int) {
		n1.fixAt(token, lat(i), -8.6075)
		acked = append(acked, lat(i))
	}
	// wantLat reads until the position at lat(i) arrives (earlier ones may
	// be coalesced away).
	wantLat := func(ws *websocket.Conn, i int) {
		t.Helper()
		for {
			m := nextNotProgress(t, ws, 5*time.Second)
			if m["type"] == "position" && m["lat"] == lat(i) {
				return
			}
		}
	}
	for i := range fixes / 2 {
		sendFix(i)
		time.Sleep(50 * time.Millisecond)
	}
	wantLat(on2, fixes/2-1)
	wantLat(on3, fixes/2-1)

	procs[1].kill() // node 2, mid-stream
	mail.Start()
	// What node 2 sent before it died may still be buffered; then the
	// stream ends.
	_ = on2.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := on2.ReadMessage()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("node 2's customer stream outlived node 2")
		}
		break
	}
	on2 = watch(n3) // its customer reconnects to node 3
	for i := fixes / 2; i < fixes; i++ {
		sendFix(i)
		time.Sleep(50 * time.Millisecond)
	}
	wantLat(on2, fixes-1)
	wantLat(on3, fixes-1)

	// Every message once: four texts, four e-mails (the ones node 2 held
	// included), whichever node sent them.
	for _, j := range jobs {
		n3.waitLog(j, func(log []map[string]any) bool {
			return len(log) == 2 && log[0]["status"] == "sent" && log[1]["status"] == "sent"
		})
	}
	n3.settle(jobs, 4, 4)
	// No copy of them is still on its way once each live node has sent a
	// message queued after them all (a marker of its own, until its log
	// says so): a node's worker finishes each message before its next claim.
	var newest int64
	for _, j := range jobs {
		for _, m := range n3.messages(j) {
			newest = max(newest, int64(m["id"].(float64)))
		}
	}
	marked := 0
	for _, i := range []int{0, 2} { // nodes 1 and 3; node 2 is dead
		waitFor(t, 30*time.Second, fmt.Sprintf("message queued after the jobs' sent by node %d", i+1), func() bool {
			if procs[i].sentAfter(newest) {
				return true
			}
			nodes[i].outboxPassed()
			marked++
			return procs[i].sentAfter(newest)
		})
	}
	t.Logf("%d markers until each live node had sent one", marked)
	if n, m := len(sms.Messages()), len(mail.Messages()); n != 4+marked || m != 4+marked {
		t.Fatalf("texts %d, e-mails %d; want 4 and 4, and %d markers each", n, m, marked)
	}
	// Every acknowledged fix is in the shared history.
	store, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	all, err := store.FindPositions(context.Background(), enroute.PositionFilter{Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range all {
		have[fmt.Sprintf("%.6f", p.Lat)] = true
	}
	for _, l := range acked {
		if !have[fmt.Sprintf("%.6f", l)] {
			t.Fatalf("acknowledged fix at %f is not stored (%d stored)", l, len(all))
		}
	}
	if len(acked) != fixes || len(all) != fixes {
		t.Fatalf("acknowledged %d, stored %d, sent %d", len(acked), len(all), fixes)
	}
}

// TestNodesRevokeAPIKey: a key revoked on node A stops working on node B,
// which remembers the keys it has seen, within a few seconds (it asks the
// store which keys were revoked every 2 s), and on node A at once.
func TestNodesRevokeAPIKey(t *testing.T) {
	a, b := nodePair(t, natsURL(t))
	k := a.ok("POST", "/api/v1/keys", map[string]any{"name": "script", "role": "dispatcher"})
	secret, _ := k.body["key"].(string)
	if secret == "" {
		t.Fatalf("no key in %s", k.raw)
	}
	auth := []string{"Authorization", "Bearer " + secret}
	for _, st := range []*stack{a, b} {
		st.ok("GET", "/api/v1/customers", nil, auth...) // now remembered
	}
	a.ok("DELETE", fmt.Sprintf("/api/v1/keys/%d", k.id()), nil)
	if r := a.do("GET", "/api/v1/customers", nil, auth...); r.status != 401 {
		t.Fatalf("revoked key on its node = %d %s", r.status, r.raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.do("GET", "/api/v1/customers", nil, auth...).status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a key revoked on node A still works on node B after 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
