package main

// Crews: several technicians at one site, on the customer's one link.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// crewVisit dispatches each technician (by id) to a job of their own at
// one verified site (the limit rule's case: one customer, one address,
// several technicians) and returns the assignments, in that order, and a
// tracking link for the first one's.
func (st *stack) crewVisit(techs ...int64) (assignments []int64, link string) {
	st.t.Helper()
	st.tracking()
	s := st.site("+351912345678", "")
	for _, tech := range techs {
		a := st.assign(st.job(s), tech)
		st.move(a, "dispatch")
		assignments = append(assignments, a)
	}
	link = enroute.NewTrackingToken()
	if err := st.m.Store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: assignments[0]}, enroute.HashSecret(link)); err != nil {
		st.t.Fatal(err)
	}
	return assignments, link
}

// TestCrewStream: the link of the first technician of a crew follows the
// second on /t/{token}/live?assignment={id}: that technician's positions
// and progress (never the link's own technician's, nor another site's),
// then their arrival; the state's crew has them too.
func TestCrewStream(t *testing.T) {
	st := newIngestStack(t)
	ana, _, anaPhone := st.device("Ana Silva")
	bruno, _, brunoPhone := st.device("Bruno Reis")
	carla, _, carlaPhone := st.device("Carla Dias")
	as, link := st.crewVisit(ana, bruno)
	st.trackingLink(carla) // another site
	st.watcherIdle(5 * time.Second)
	st.fixAt(brunoPhone, 41.1420, -8.6080)

	ws, _, err := st.wsDial(fmt.Sprintf("/t/%s/live?assignment=%d", link, as[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if snap := next(t, ws, 5*time.Second); snap["type"] != "snapshot" || snap["assignment_id"] != float64(as[1]) || snap["position"].(map[string]any)["lat"] != 41.142 {
		t.Fatalf("snapshot = %v", snap)
	}
	st.fixAt(anaPhone, 41.1410, -8.6090)   // the link's own technician: their own stream
	st.fixAt(carlaPhone, 41.1400, -8.6100) // another site's
	st.fixAt(brunoPhone, 41.1425, -8.6078)
	var sawPosition, sawProgress bool
	for !sawPosition || !sawProgress {
		m := next(t, ws, 5*time.Second)
		switch m["type"] {
		case "position":
			if m["technician_id"] != float64(bruno) || m["lat"] != 41.1425 {
				t.Fatalf("position on Bruno's stream: %v", m)
			}
			sawPosition = true
		case "progress":
			if m["assignment_id"] != float64(as[1]) || m["eta"] == nil {
				t.Fatalf("progress on Bruno's stream: %v", m)
			}
			sawProgress = true
		case "status":
			if m["status"] != "dispatched" { // the watcher's own republish, if any
				t.Fatalf("status on Bruno's stream: %v", m)
			}
		default:
			t.Fatalf("on Bruno's stream: %v", m)
		}
	}
	_, raw := send(t, "GET", "http://"+st.m.Addr()+"/t/"+link+"/state", "", "")
	if !contains(raw, `"crew":[{"assignment_id":`+fmt.Sprint(as[1]), `"first_name":"Bruno"`, `"eta":`) {
		t.Fatalf("state: %s", raw)
	}

	st.move(as[1], "start")
	if m := nextNotProgress(t, ws, 5*time.Second); m["type"] != "status" || m["status"] != "working" || m["arrived_at"] == nil {
		t.Fatalf("after Bruno's arrival: %v", m)
	}
}
