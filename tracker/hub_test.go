package tracker

import (
	"fmt"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

func livePos(tech int64, lat, lng float64) *enroute.Position {
	return &enroute.Position{TechnicianID: tech, Lat: lat, Lng: lng, Time: time.Now(), Cell: uint64(geo.CellOf(lat, lng, 8))}
}

func TestHubCoalescesLatestWins(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	notified := 0
	s := h.SubscribeView(nil, func() { notified++ }, nil)
	for i := range 100 {
		h.PublishPosition(livePos(1, 41.15+float64(i)*1e-5, -8.61))
		h.PublishPosition(livePos(2, 41.16, -8.62+float64(i)*1e-5))
	}
	if notified == 0 || !s.Pending() {
		t.Fatal("not notified")
	}
	ps, _ := s.Take()
	if len(ps) != 2 || ps[0].Pos.TechnicianID != 1 || ps[0].Pos.Lat != 41.15+99e-5 || ps[1].Pos.Lng != -8.62+99e-5 {
		t.Fatalf("coalesced = %+v", ps)
	}
	if ps, _ := s.Take(); ps != nil || s.Pending() {
		t.Fatal("Take did not clear")
	}
}

func TestHubViewport(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	porto := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, nil, nil)
	wide := h.SubscribeView(&geo.BBox{MinLat: -80, MinLng: -170, MaxLat: 80, MaxLng: 170}, nil, nil) // too many cells: box filter
	h.PublishPosition(livePos(1, 41.15, -8.61))
	h.PublishPosition(livePos(2, 41.88, -87.63))
	if ps, _ := porto.Take(); len(ps) != 1 || ps[0].Pos.TechnicianID != 1 {
		t.Fatalf("porto = %+v", ps)
	}
	if ps, _ := wide.Take(); len(ps) != 2 {
		t.Fatalf("wide = %+v", ps)
	}
	// Across the antimeridian (by cells and by the box) and every
	// longitude of a band: before, neither got anything.
	fiji := h.SubscribeView(&geo.BBox{MinLat: -17, MinLng: 179.5, MaxLat: -16.5, MaxLng: -179.5}, nil, nil)
	band := h.SubscribeView(&geo.BBox{MinLat: 41.8, MinLng: -179.9, MaxLat: 41.9, MaxLng: 179.9}, nil, nil)
	h.PublishPosition(livePos(3, -16.8, 179.9))
	h.PublishPosition(livePos(4, -16.8, -179.9))
	h.PublishPosition(livePos(2, 41.881, -87.63))
	if ps, _ := fiji.Take(); len(ps) != 2 {
		t.Errorf("across the antimeridian = %+v", ps)
	}
	if ps, _ := band.Take(); len(ps) != 1 || ps[0].Pos.TechnicianID != 2 {
		t.Errorf("a band of every longitude = %+v", ps)
	}
	h.Unsubscribe(fiji)
	h.Unsubscribe(band)
	h.Unsubscribe(porto)
	h.Unsubscribe(porto)
	if h.Len() != 1 {
		t.Fatalf("subscribers = %d", h.Len())
	}
}

// Unsubscribing takes a subscriber out of every index it was put in, the
// others staying, and leaves nothing behind once all are gone.
func TestHubForgetsUnsubscribed(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	first, second := h.SubscribeAssignment(a, true, nil, nil), h.SubscribeAssignment(a, true, nil, nil) // two tabs
	view := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, nil, nil)
	all, all2 := h.SubscribeView(nil, nil, nil), h.SubscribeView(nil, nil, nil)
	h.Unsubscribe(first)
	h.Unsubscribe(all)
	h.PublishPosition(livePos(1, 41.15, -8.61))
	for name, s := range map[string]*Sub{"second tab": second, "view": view, "other board": all2} {
		if ps, _ := s.Take(); len(ps) != 1 {
			t.Fatalf("%s got %+v after another left", name, ps)
		}
	}
	for _, s := range []*Sub{first, second, second, view, all, all2} {
		h.Unsubscribe(s)
	}
	if h.Len() != 0 || len(h.byTech) != 0 || len(h.byAssignment) != 0 || len(h.byCell) != 0 || len(h.wide) != 0 || len(h.views) != 0 {
		t.Fatalf("left behind: %d subscribers, %d technicians, %d assignments, %d cells, %d wide, %d views",
			h.Len(), len(h.byTech), len(h.byAssignment), len(h.byCell), len(h.wide), len(h.views))
	}
}

// Every dispatcher's view gets every status change, whatever it shows: a
// board lists every technician's status. A customer still gets only their
// assignment's.
func TestHubStatusToEveryBoard(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	customer := h.SubscribeAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}, true, nil, nil)
	porto := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, nil, nil)
	all := h.SubscribeView(nil, nil, nil)
	h.PublishAssignment(&enroute.Assignment{ID: 7, TechnicianID: 2, Status: enroute.StatusDispatched}) // in Chicago, say
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusWorking})
	for name, s := range map[string]*Sub{"porto board": porto, "board": all} {
		if _, ev := s.Take(); len(ev) != 2 || ev[0].Assignment.ID != 7 || ev[1].Assignment.ID != 9 {
			t.Fatalf("%s got %+v", name, ev)
		}
	}
	if _, ev := customer.Take(); len(ev) != 1 || ev[0].Assignment.ID != 9 {
		t.Fatalf("customer got %+v", ev)
	}
	// A board's positions are not touched by a status change.
	h.PublishPosition(livePos(1, 41.15, -8.61))
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDone})
	if ps, ev := all.Take(); len(ps) != 1 || len(ev) != 1 {
		t.Fatalf("board after done: positions %+v, events %+v", ps, ev)
	}
	// More changes than a board's queue holds, between two of its takes
	// (a bulk cancel): it keeps the first MaxEvents and stays subscribed.
	evicted := false
	small := NewHub(HubConfig{MaxEvents: 4}, 8, 4096)
	board := small.SubscribeView(nil, nil, func() { evicted = true })
	for id := range int64(10) {
		small.PublishAssignment(&enroute.Assignment{ID: id + 1, TechnicianID: id + 1, Status: enroute.StatusCancelled})
	}
	if _, ev := board.Take(); len(ev) != 4 || evicted || small.Len() != 1 {
		t.Fatalf("board after 10 changes: %d events, evicted %v, %d subscribers", len(ev), evicted, small.Len())
	}
}

// A job's activity goes to every board, whatever it shows, and to no
// customer.
func TestHubActivityToBoardsOnly(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	notified := 0
	customer := h.SubscribeAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}, true, nil, nil)
	porto := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, func() { notified++ }, nil)
	all := h.SubscribeView(nil, func() { notified++ }, nil)
	Fanout{h}.PublishActivity(&enroute.Activity{Type: enroute.ActivityReply, JobID: 4, ID: 11})
	for name, s := range map[string]*Sub{"porto board": porto, "board": all} {
		if _, ev := s.Take(); len(ev) != 1 || ev[0].Activity == nil || ev[0].Activity.JobID != 4 || ev[0].Activity.ID != 11 {
			t.Fatalf("%s got %+v", name, ev)
		}
	}
	if notified != 2 || customer.Pending() {
		t.Fatalf("notified %d boards; customer pending %v", notified, customer.Pending())
	}
}

func TestHubAssignmentStream(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	s := h.SubscribeAssignment(a, true, nil, nil)
	h.PublishPosition(livePos(2, 41.15, -8.61)) // someone else
	h.PublishPosition(livePos(1, 41.15, -8.61))
	if ps, _ := s.Take(); len(ps) != 1 || ps[0].Pos.TechnicianID != 1 {
		t.Fatalf("customer got %+v", ps)
	}
	h.PublishPosition(livePos(1, 41.151, -8.61))
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusWorking})
	h.PublishPosition(livePos(1, 41.152, -8.61))
	ps, ev := s.Take()
	if len(ps) != 0 || len(ev) != 1 || ev[0].Assignment.Status != enroute.StatusWorking {
		t.Fatalf("after arrival: positions %+v events %+v", ps, ev)
	}
}

func TestHubUnverifiedGetsNoPositions(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	s := h.SubscribeAssignment(a, false, nil, nil)
	h.PublishPosition(livePos(1, 41.15, -8.61))
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched})
	h.PublishPosition(livePos(1, 41.151, -8.61))
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusWorking})
	ps, ev := s.Take()
	if len(ps) != 0 || len(ev) != 2 {
		t.Fatalf("unverified address: positions %+v, events %d", ps, len(ev))
	}
}

// A site that stops (or starts) being verified stops (or starts) its
// customers' positions at once, on the event its change sends.
func TestHubSiteVerifiedChanges(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	s := h.SubscribeAssignment(a, true, nil, nil)
	no, yes := false, true
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched, SiteVerified: &no})
	h.PublishPosition(livePos(1, 41.15, -8.61))
	if ps, _ := s.Take(); len(ps) != 0 {
		t.Fatalf("positions to an unverified site: %+v", ps)
	}
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched, SiteVerified: &yes})
	h.PublishPosition(livePos(1, 41.151, -8.61))
	if ps, _ := s.Take(); len(ps) != 1 {
		t.Fatalf("positions once verified again: %+v", ps)
	}
	// A status change says nothing of the site: it stays as it was.
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched})
	h.PublishPosition(livePos(1, 41.152, -8.61))
	if ps, _ := s.Take(); len(ps) != 1 {
		t.Fatalf("positions after a plain event: %+v", ps)
	}
}

func TestHubEvictsLaggards(t *testing.T) {
	h := NewHub(HubConfig{MaxLag: time.Minute, MaxEvents: 2}, 8, 4096)
	clock := time.Now()
	h.now = func() time.Time { return clock }
	evicted := 0
	slow := h.SubscribeView(nil, nil, func() { evicted++ })
	fast := h.SubscribeView(nil, nil, nil)
	h.PublishPosition(livePos(1, 41.15, -8.61))
	fast.Take()
	clock = clock.Add(2 * time.Minute)
	h.PublishPosition(livePos(1, 41.151, -8.61))
	if evicted != 1 || h.Len() != 1 {
		t.Fatalf("evicted %d, subscribers %d", evicted, h.Len())
	}
	if ps, _ := fast.Take(); len(ps) != 1 {
		t.Fatalf("the reader lost an update: %+v", ps)
	}
	_ = slow
	// Overflowing the event queue evicts too.
	a := &enroute.Assignment{ID: 1, TechnicianID: 1, Status: enroute.StatusDispatched}
	gone := false
	s := h.SubscribeAssignment(a, true, nil, func() { gone = true })
	for range 3 {
		h.PublishAssignment(a)
	}
	if !gone {
		t.Fatal("event overflow did not evict")
	}
	_ = s
}

func BenchmarkHub_Publish(b *testing.B) {
	for _, tc := range []struct{ customers, boards int }{{1000, 0}, {10000, 20}} {
		b.Run(fmt.Sprintf("customers=%d/boards=%d", tc.customers, tc.boards), func(b *testing.B) {
			h := NewHub(HubConfig{MaxLag: time.Hour}, 8, 4096)
			var subs []*Sub
			for i := range tc.customers {
				subs = append(subs, h.SubscribeAssignment(&enroute.Assignment{ID: int64(i + 1), TechnicianID: int64(i + 1), Status: enroute.StatusDispatched}, true, nil, nil))
			}
			for range tc.boards {
				subs = append(subs, h.SubscribeView(nil, nil, nil))
			}
			ps := make([]*enroute.Position, tc.customers)
			for i := range ps {
				ps[i] = livePos(int64(i+1), 41.15, -8.61)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.PublishPosition(ps[i%len(ps)])
				if i%1024 == 0 {
					for _, s := range subs {
						s.Take()
					}
				}
			}
		})
	}
}

// BenchmarkHub_TakeInto is a board's cycle: 100 positions published, then
// taken into reused buffers, as the WebSocket writer does.
func BenchmarkHub_TakeInto(b *testing.B) {
	h := NewHub(HubConfig{MaxLag: time.Hour}, 8, 4096)
	board := h.SubscribeView(nil, nil, nil)
	ps := make([]*enroute.Position, 100)
	for i := range ps {
		ps[i] = livePos(int64(i+1), 41.15, -8.61)
	}
	var us []Update
	var ev []Event
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			h.PublishPosition(p)
		}
		us, ev = board.TakeInto(us, ev)
	}
	if len(us) != len(ps) {
		b.Fatalf("took %d updates, want %d", len(us), len(ps))
	}
}

func TestHubTakeIntoReusesBuffers(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	board := h.SubscribeView(nil, nil, nil)
	h.PublishPosition(livePos(1, 41.15, -8.61))
	h.PublishPosition(livePos(2, 41.16, -8.62))
	buf := make([]Update, 1, 8)
	us, _ := board.TakeInto(buf, nil)
	if len(us) != 2 || &us[0] != &buf[0] || us[0].Pos.TechnicianID != 1 || us[1].Pos.TechnicianID != 2 {
		t.Fatalf("TakeInto = %+v, want technicians 1 and 2 in the given buffer", us)
	}
	// Taken means gone; the next updates start afresh.
	if board.Pending() {
		t.Fatal("still pending after TakeInto")
	}
	h.PublishPosition(livePos(3, 41.17, -8.63))
	if us, _ = board.TakeInto(us, nil); len(us) != 1 || us[0].Pos.TechnicianID != 3 {
		t.Fatalf("second TakeInto = %+v, want technician 3 only", us)
	}
}

func TestHubProgressToCustomerAndBoards(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	customer := h.SubscribeAssignment(a, true, nil, nil)
	porto := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, nil, nil)
	chicago := h.SubscribeView(&geo.BBox{MinLat: 41.8, MinLng: -87.7, MaxLat: 41.9, MaxLng: -87.6}, nil, nil)
	all := h.SubscribeView(nil, nil, nil)
	pos := livePos(1, 41.15, -8.61)
	for i := range 3 {
		h.PublishProgress(&enroute.Progress{AssignmentID: 9, TechnicianID: 1, DistanceM: float64(1000 - i), Lat: pos.Lat, Lng: pos.Lng, Cell: pos.Cell})
	}
	for name, s := range map[string]*Sub{"customer": customer, "porto board": porto, "everything board": all} {
		_, ev := s.Take()
		if len(ev) != 1 || ev[0].Progress.DistanceM != 998 {
			t.Fatalf("%s got %+v, want the latest progress once", name, ev)
		}
	}
	if _, ev := chicago.Take(); len(ev) != 0 {
		t.Fatalf("a board elsewhere got %+v", ev)
	}
}

// TestHubProgressIsState: progress is held per assignment, latest wins,
// however many assignments a board sees between two reads (it used to
// share the bounded queue of status events, and a board drops none of
// them); a customer's pending progress goes when the assignment stops.
func TestHubProgressIsState(t *testing.T) {
	h := NewHub(HubConfig{MaxEvents: 4}, 8, 4096)
	all := h.SubscribeView(nil, nil, nil)
	pos := livePos(1, 41.15, -8.61)
	const n = 50
	for round := range 2 {
		for id := int64(1); id <= n; id++ {
			h.PublishProgress(&enroute.Progress{AssignmentID: id, TechnicianID: id, DistanceM: float64(round), Lat: pos.Lat, Lng: pos.Lng, Cell: pos.Cell})
		}
	}
	_, ev := all.Take()
	if len(ev) != n {
		t.Fatalf("board got %d progress, want %d (one per assignment)", len(ev), n)
	}
	for i, e := range ev {
		if e.Progress.AssignmentID != int64(i+1) || e.Progress.DistanceM != 1 {
			t.Fatalf("progress %d = %+v, want assignment %d's latest", i, e.Progress, i+1)
		}
	}
	if h.Len() != 1 {
		t.Fatal("a board reading in time was evicted")
	}

	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	customer := h.SubscribeAssignment(a, true, nil, nil)
	h.PublishProgress(&enroute.Progress{AssignmentID: 9, TechnicianID: 1, Lat: pos.Lat, Lng: pos.Lng, Cell: pos.Cell})
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusWorking})
	if _, ev := customer.Take(); len(ev) != 1 || ev[0].Assignment == nil || ev[0].Assignment.Status != enroute.StatusWorking {
		t.Fatalf("customer after arrival got %+v, want the status only", ev)
	}
}

// TestHubKeepsItsOwnCopy: every subscriber gets the position as published,
// one copy shared, whatever the publisher does with its own afterwards.
func TestHubKeepsItsOwnCopy(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a, b := h.SubscribeView(nil, func() {}, nil), h.SubscribeView(nil, func() {}, nil)
	p := livePos(1, 41.15, -8.61)
	h.PublishPosition(p)
	p.Lat = 0
	pa, _ := a.Take()
	pb, _ := b.Take()
	if len(pa) != 1 || len(pb) != 1 || pa[0].Pos.Lat != 41.15 || pa[0].Pos != pb[0].Pos || pa[0].Pos == p {
		t.Fatalf("taken %+v and %+v, want one copy of the published position", pa, pb)
	}
}

// TestLatest: each key keeps its first place and its newest item, however
// the merges fall; put merges as it goes, so a subscriber that never
// takes holds at most about twice its keys.
func TestLatest(t *testing.T) {
	var l latest[int]
	for round := range 5 {
		for k := range int64(3000) {
			l.put(k%1500, round*10000+int(k))
			if n := len(l.items); n > 2*1500+minCompact {
				t.Fatalf("round %d key %d: %d items held for 1500 keys", round, k, n)
			}
		}
	}
	got := l.all()
	if len(got) != 1500 || len(l.keys) != 1500 {
		t.Fatalf("%d items, %d keys after merging, want 1500", len(got), len(l.keys))
	}
	for i, v := range got {
		if l.keys[i] != int64(i) || v != 4*10000+1500+i {
			t.Fatalf("item %d = key %d value %d, want key %d value %d", i, l.keys[i], v, i, 4*10000+1500+i)
		}
	}
	l.reset()
	l.put(7, 1)
	l.put(3, 2)
	l.put(7, 3)
	if got := l.all(); len(got) != 2 || got[0] != 3 || got[1] != 2 || l.keys[0] != 7 {
		t.Fatalf("after reset: keys %v items %v, want 7 -> 3 first, then 3 -> 2", l.keys, got)
	}
}

// notify runs with no lock held, so a subscriber may take its updates in
// notify itself (a customer's viewer writes from the publisher's
// goroutine): positions, progress and status events alike.
func TestHubNotifyMayTake(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	var s *Sub
	var took []string
	s = h.SubscribeAssignment(a, true, func() {
		ps, ev := s.Take() // under the subscriber's lock, this would deadlock
		for _, p := range ps {
			took = append(took, fmt.Sprintf("position %v", p.Pos.Lat))
		}
		for _, e := range ev {
			if e.Progress != nil {
				took = append(took, fmt.Sprintf("progress %v", e.Progress.DistanceM))
			} else {
				took = append(took, "status "+string(e.Assignment.Status))
			}
		}
	}, nil)
	h.PublishPosition(livePos(1, 41.15, -8.61))
	h.PublishProgress(&enroute.Progress{AssignmentID: 9, TechnicianID: 1, DistanceM: 800, Lat: 41.15, Lng: -8.61})
	h.PublishAssignment(&enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusWorking})
	want := []string{"position 41.15", "progress 800", "status working"}
	if fmt.Sprint(took) != fmt.Sprint(want) {
		t.Fatalf("took %q, want %q", took, want)
	}
}

// progressCount is a publisher that only counts progress: a bus to other
// nodes, which cannot queue.
type progressCount struct{ n int }

func (c *progressCount) PublishPosition(*enroute.Position)     {}
func (c *progressCount) PublishAssignment(*enroute.Assignment) {}
func (c *progressCount) PublishProgress(*enroute.Progress)     { c.n++ }

// Progress queued for the position published next notifies nobody; that
// position notifies each subscriber once, and one Take has both: one
// write. A publisher that cannot queue still gets the progress.
func TestHubQueuedProgressGoesWithThePosition(t *testing.T) {
	h := NewHub(HubConfig{}, 8, 4096)
	a := &enroute.Assignment{ID: 9, TechnicianID: 1, Status: enroute.StatusDispatched}
	var customerKicks, boardKicks int
	customer := h.SubscribeAssignment(a, true, func() { customerKicks++ }, nil)
	board := h.SubscribeView(&geo.BBox{MinLat: 41.1, MinLng: -8.7, MaxLat: 41.2, MaxLng: -8.5}, func() { boardKicks++ }, nil)
	pos := livePos(1, 41.15, -8.61)
	bus := &progressCount{}
	Fanout{h, bus}.QueueProgress(&enroute.Progress{AssignmentID: 9, TechnicianID: 1, DistanceM: 800, Lat: pos.Lat, Lng: pos.Lng, Cell: pos.Cell})
	if customerKicks != 0 || boardKicks != 0 {
		t.Fatalf("queued progress notified: customer %d, board %d", customerKicks, boardKicks)
	}
	if bus.n != 1 {
		t.Fatalf("the bus got %d progress, want 1", bus.n)
	}
	h.PublishPosition(pos)
	if customerKicks != 1 || boardKicks != 1 {
		t.Fatalf("the position notified customer %d, board %d times, want once each", customerKicks, boardKicks)
	}
	for name, s := range map[string]*Sub{"customer": customer, "board": board} {
		ps, ev := s.Take()
		if len(ps) != 1 || len(ev) != 1 || ev[0].Progress == nil || ev[0].Progress.DistanceM != 800 {
			t.Fatalf("%s took %+v and %+v, want the position and its progress", name, ps, ev)
		}
	}
}
