package tracker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// HubConfig tunes the hub. Zero values mean the defaults.
type HubConfig struct {
	// MaxLag is how long a subscriber may leave updates unread before it is
	// evicted as a slow consumer; default 10 s.
	MaxLag time.Duration
	// MaxEvents bounds a subscriber's queue of status events; default 64.
	// A customer past it is dropped; a board misses the rest (PublishAssignment).
	MaxEvents int
	// Encode renders a position for the wire, once per publish however
	// many subscribers get it; nil keeps no encoding. EncodeProgress does
	// the same for progress events.
	Encode         func(*enroute.Position) []byte
	EncodeProgress func(*enroute.Progress) []byte
}

// Hub fans live updates out to subscribers: customers watching one
// assignment's technician, and dispatchers watching a viewport (a set of H3
// cells, or a box too large for cells) or everything. It implements
// enroute.Publisher.
//
// Positions and progress are state, not events: a subscriber holds at
// most one pending position per technician and one progress per
// assignment (latest wins), so a slow reader gets fewer, fresher updates.
// Status events queue, bounded. A subscriber that leaves
// updates unread for MaxLag, or overflows its events, is evicted: its Evict
// callback runs (the connection closes with 4008) and the hub forgets it.
// Publishing never blocks and never waits for a subscriber.
//
// Concurrency: safe for concurrent use. The subscriber sets are copied
// under a read lock and offered to after it is released.
type Hub struct {
	cfg HubConfig
	now func() time.Time

	mu sync.RWMutex
	// Subscribers by technician, assignment and cell, and the wide ones:
	// slices, not sets, since they hold one or a few and each update
	// copies them (ranging over small maps was 2.6% of the server at
	// 10,000 + 10,000 + 20, BENCHMARKS.md).
	byTech       map[int64][]*Sub
	byAssignment map[int64][]*Sub
	byCell       map[geo.Cell][]*Sub
	wide         []*Sub // everything, or a box checked per update
	views        []*Sub // every dispatcher's view, for status changes
	res          int
	maxCells     int
	subs         int

	pool sync.Pool // []*Sub scratch for Publish
}

// NewHub returns a hub for positions indexed at H3 resolution res.
// Viewports needing more than maxCells cells are filtered by their box.
func NewHub(cfg HubConfig, res, maxCells int) *Hub {
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 10 * time.Second
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 64
	}
	h := &Hub{cfg: cfg, now: time.Now, res: res, maxCells: maxCells,
		byTech: map[int64][]*Sub{}, byAssignment: map[int64][]*Sub{}, byCell: map[geo.Cell][]*Sub{}}
	h.pool.New = func() any { s := make([]*Sub, 0, 64); return &s }
	return h
}

var _ enroute.Publisher = (*Hub)(nil)

// Event is a status change, new progress, or a job's activity (boards
// only), sent to a subscriber: one of the three is set.
type Event struct {
	Assignment *enroute.Assignment
	Progress   *enroute.Progress
	Activity   *enroute.Activity
	Msg        []byte // Progress encoded (HubConfig.EncodeProgress), or nil
}

// Sub is one subscriber. The hub calls its notify function (which must
// not block: it runs on the publisher's goroutine) when it has updates,
// with none of the hub's or the subscriber's locks held; its owner then
// calls Take, in notify itself if it likes.
type Sub struct {
	hub    *Hub
	evict  func()
	notify func()

	// What it watches: set at subscription, read-only after.
	tech       int64 // customer: this technician only
	assignment int64
	box        *geo.BBox // dispatcher viewport; nil: everything
	cells      []geo.Cell

	mu        sync.Mutex
	pending   latest[Update] // by technician
	progress  latest[Event]  // by assignment
	events    []Event        // status changes
	since     time.Time      // when the oldest unread update arrived
	streaming bool           // customers: positions flow while dispatched...
	located   bool           // ...to a verified address; otherwise never
	gone      bool
}

// Pending reports whether Take would return anything.
func (s *Sub) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending.items) > 0 || len(s.progress.items) > 0 || len(s.events) > 0
}

// Update is a pending position and its encoding (HubConfig.Encode). Pos
// is one copy shared by every subscriber the position went to: read-only.
type Update struct {
	Pos *enroute.Position
	Msg []byte
}

// Take returns the pending positions (oldest technician first) and events
// (status changes in order, then progress), and clears them.
func (s *Sub) Take() ([]Update, []Event) { return s.TakeInto(nil, nil) }

// TakeInto is Take appending to ps and ev from their start, so that a
// reader reusing its buffers allocates nothing: the subscription keeps its
// own for the next updates (BenchmarkHub_TakeInto).
func (s *Sub) TakeInto(ps []Update, ev []Event) ([]Update, []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps = append(ps[:0], s.pending.all()...)
	s.pending.reset()
	ev = append(append(ev[:0], s.events...), s.progress.all()...)
	clear(s.events) // what they point to may go
	s.events = s.events[:0]
	s.progress.reset()
	s.since = time.Time{}
	return ps, ev
}

// offered is what became of an update offered to a subscriber.
type offered int8

const (
	skipped offered = iota // not for this subscriber
	queued                 // pending: notify the subscriber
	tooSlow                // the subscriber lags: evict it
)

// offer queues p (latest wins).
func (s *Sub) offer(p *enroute.Position, msg []byte, now time.Time, maxLag time.Duration) offered {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || (s.tech != 0 && !s.streaming) {
		return skipped
	}
	if s.box != nil && !s.box.Contains(p.Lat, p.Lng) {
		// Left the viewport: a last update lets the board drop the marker
		// only if it was shown; cells cover a little more than the box.
		return skipped
	}
	if s.lagging(now, maxLag) {
		return tooSlow
	}
	s.pending.put(p.TechnicianID, Update{Pos: p, Msg: msg})
	return queued
}

// lagging reports whether the oldest unread update has waited longer than
// maxLag, and otherwise notes now as its time if there is none. Under mu.
func (s *Sub) lagging(now time.Time, maxLag time.Duration) bool {
	if s.since.IsZero() {
		s.since = now
		return false
	}
	return now.Sub(s.since) > maxLag
}

// offerProgress queues p (latest wins per assignment).
func (s *Sub) offerProgress(p *enroute.Progress, msg []byte, now time.Time, maxLag time.Duration) offered {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || (s.tech != 0 && !s.streaming) || (s.box != nil && !s.box.Contains(p.Lat, p.Lng)) {
		return skipped
	}
	if s.lagging(now, maxLag) {
		return tooSlow
	}
	s.progress.put(p.AssignmentID, Event{Progress: p, Msg: msg})
	return queued
}

// latest holds one item per key, oldest key first: a newer item for a key
// replaces the pending one in place. A slice rather than a map of items,
// which could not hold an Update inline (BenchmarkHub_Publish: with a map,
// 22 allocations a publish). put only appends; compact merges duplicates, called
// by all (at every take: a board's every 25 ms) and by put when the slice
// has doubled since the last merge. A lookup per put cost 5% of the
// server at 10,000 fixes a second: 20 boards' indexes, each touched every
// 100 µs among everything else, were cache misses; a merge runs over a
// few hundred items on a map it keeps hot.
type latest[T any] struct {
	keys  []int64
	items []T
	next  int           // put compacts at this length
	index map[int64]int // compact's, kept empty between merges
}

// minCompact is the shortest length at which put compacts.
const minCompact = 1024

func (l *latest[T]) put(key int64, v T) {
	l.keys = append(l.keys, key)
	l.items = append(l.items, v)
	if len(l.items) >= max(l.next, minCompact) {
		l.compact()
		l.next = 2 * len(l.items) // amortized: at most one merge per doubling
	}
}

// compact merges duplicates: each key keeps its first place and its
// newest item.
func (l *latest[T]) compact() {
	if len(l.keys) < 2 {
		return
	}
	if l.index == nil {
		l.index = make(map[int64]int, len(l.keys))
	}
	n := 0
	for i, k := range l.keys {
		if j, ok := l.index[k]; ok {
			l.items[j] = l.items[i]
			continue
		}
		l.index[k] = n
		l.keys[n], l.items[n] = k, l.items[i]
		n++
	}
	clear(l.items[n:]) // what they point to may go
	l.keys, l.items = l.keys[:n], l.items[:n]
	clear(l.index)
}

// all returns the items, one per key, oldest key first.
func (l *latest[T]) all() []T {
	l.compact()
	return l.items
}

// reset empties l, keeping its memory for the next items.
func (l *latest[T]) reset() {
	clear(l.items) // what they point to may go
	l.keys, l.items, l.next = l.keys[:0], l.items[:0], 0
}

// signal tells the subscriber's owner it has updates. Never under s.mu:
// the owner may take them at once, from the caller's goroutine.
func (s *Sub) signal() {
	if s.notify != nil {
		s.notify()
	}
}

// SubscribeAssignment subscribes a customer to one assignment (notify and
// evict as for Sub): its
// technician's positions while streaming is on (the assignment is en
// route), and its status events.
func (h *Hub) SubscribeAssignment(a *enroute.Assignment, verified bool, notify, evict func()) *Sub {
	s := h.newSub(notify, evict)
	s.tech, s.assignment, s.located = a.TechnicianID, a.ID, verified
	s.streaming = verified && a.Status == enroute.StatusDispatched
	h.mu.Lock()
	add(h.byTech, a.TechnicianID, s)
	add(h.byAssignment, a.ID, s)
	h.subs++
	h.mu.Unlock()
	return s
}

// SubscribeView subscribes a dispatcher to the technicians inside box, or
// to everyone when box is nil. It returns the subscription and the cells
// it watches (nil: filtered by box, or everything).
func (h *Hub) SubscribeView(box *geo.BBox, notify, evict func()) *Sub {
	s := h.newSub(notify, evict)
	s.box = box
	if box != nil {
		s.cells = geo.CellsInBBox(*box, h.res, h.maxCells)
	}
	h.mu.Lock()
	if s.cells != nil {
		for _, c := range s.cells {
			add(h.byCell, c, s)
		}
	} else {
		h.wide = append(h.wide, s)
	}
	h.views = append(h.views, s)
	h.subs++
	h.mu.Unlock()
	return s
}

func (h *Hub) newSub(notify, evict func()) *Sub {
	return &Sub{hub: h, notify: notify, evict: evict}
}

func add[K comparable](m map[K][]*Sub, k K, s *Sub) {
	m[k] = append(m[k], s)
}

func del[K comparable](m map[K][]*Sub, k K, s *Sub) {
	if subs := without(m[k], s); len(subs) > 0 {
		m[k] = subs
	} else {
		delete(m, k)
	}
}

// without removes s from subs, in place, order kept.
func without(subs []*Sub, s *Sub) []*Sub {
	if i := slices.Index(subs, s); i >= 0 {
		return slices.Delete(subs, i, i+1)
	}
	return subs
}

// Unsubscribe forgets s. It is idempotent.
func (h *Hub) Unsubscribe(s *Sub) {
	s.mu.Lock()
	gone := s.gone
	s.gone = true
	s.mu.Unlock()
	if gone {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs--
	if s.tech != 0 {
		del(h.byTech, s.tech, s)
		del(h.byAssignment, s.assignment, s)
		return
	}
	if s.cells != nil {
		for _, c := range s.cells {
			del(h.byCell, c, s)
		}
	} else {
		h.wide = without(h.wide, s)
	}
	h.views = without(h.views, s)
}

// Len returns the number of subscribers.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.subs
}

// subscribers collects who may want an update: byID[id] (a technician's
// or an assignment's subscribers), the cell's, and the wide ones, in a
// pooled buffer to give back with putSubscribers.
func (h *Hub) subscribers(byID map[int64][]*Sub, id int64, cell geo.Cell) *[]*Sub {
	bufp := h.pool.Get().(*[]*Sub)
	subs := (*bufp)[:0]
	h.mu.RLock()
	subs = append(subs, byID[id]...)
	subs = append(subs, h.byCell[cell]...)
	subs = append(subs, h.wide...)
	h.mu.RUnlock()
	*bufp = subs
	return bufp
}

func (h *Hub) putSubscribers(bufp *[]*Sub) {
	clear(*bufp)
	*bufp = (*bufp)[:0]
	h.pool.Put(bufp)
}

// PublishPosition implements enroute.Publisher.
func (h *Hub) PublishPosition(p *enroute.Position) {
	bufp := h.subscribers(h.byTech, p.TechnicianID, geo.Cell(p.Cell))
	defer h.putSubscribers(bufp)
	if len(*bufp) == 0 {
		return
	}
	// One copy for every subscriber, which the caller may not keep
	// (a copy per subscriber was 21 a fix with 20 boards).
	cp := *p
	fanOut(h, *bufp, &cp, h.cfg.Encode, (*Sub).offer, true)
}

// fanOut offers v, encoded once (encode may be nil), to subs, notifies
// those it was queued for (if notify), and evicts those too slow.
func fanOut[T any](h *Hub, subs []*Sub, v T, encode func(T) []byte, offer func(*Sub, T, []byte, time.Time, time.Duration) offered, notify bool) {
	var msg []byte
	if len(subs) > 0 && encode != nil {
		msg = encode(v)
	}
	now := h.now()
	for _, s := range subs {
		switch offer(s, v, msg, now, h.cfg.MaxLag) {
		case queued:
			if notify {
				s.signal()
			}
		case tooSlow:
			h.drop(s)
		}
	}
}

// PublishAssignment implements enroute.Publisher: watchers of the
// assignment get the event, and positions stop once it is no longer en
// route; every dispatcher's view gets it too, whatever it shows (a board
// lists every technician's status, and status changes are few).
func (h *Hub) PublishAssignment(a *enroute.Assignment) {
	h.mu.RLock()
	subs := append(slices.Clone(h.byAssignment[a.ID]), h.views...)
	h.mu.RUnlock()
	for _, s := range subs {
		s.mu.Lock()
		if s.gone {
			s.mu.Unlock()
			continue
		}
		customer := s.assignment == a.ID
		if customer { // positions only en route, to a verified site
			if a.SiteVerified != nil {
				s.located = *a.SiteVerified
			}
			s.streaming = s.located && a.Status == enroute.StatusDispatched
			if !s.streaming {
				s.pending.reset()
				s.progress.reset()
			}
		}
		overflow := len(s.events) >= h.cfg.MaxEvents
		if !overflow {
			s.events = append(s.events, Event{Assignment: a})
		}
		s.mu.Unlock()
		switch {
		case !overflow:
			s.signal()
		case customer: // stopped reading its own assignment's few events
			h.drop(s)
		}
		// A board past MaxEvents (many changes within one of its drains)
		// misses the rest: its list reloads every 15 s, and a board that
		// stopped reading is dropped by its positions' lag.
	}
}

// PublishActivity implements enroute.ActivityPublisher: every dispatcher's
// view gets it, whatever it shows, as it gets status changes; customers
// never do.
func (h *Hub) PublishActivity(a *enroute.Activity) {
	h.mu.RLock()
	subs := slices.Clone(h.views)
	h.mu.RUnlock()
	for _, s := range subs {
		s.mu.Lock()
		ok := !s.gone && len(s.events) < h.cfg.MaxEvents // past it, as in PublishAssignment
		if ok {
			s.events = append(s.events, Event{Activity: a})
		}
		s.mu.Unlock()
		if ok {
			s.signal()
		}
	}
}

// PublishProgress implements enroute.Publisher: the assignment's customer
// gets it while they get positions, and so do the boards whose view holds
// the technician. Progress is state: a newer one for the same assignment
// replaces one not yet taken.
func (h *Hub) PublishProgress(p *enroute.Progress) {
	bufp := h.subscribers(h.byAssignment, p.AssignmentID, geo.Cell(p.Cell))
	defer h.putSubscribers(bufp)
	fanOut(h, *bufp, p, h.cfg.EncodeProgress, (*Sub).offerProgress, true)
}

// QueueProgress implements enroute.ProgressQueuer: it is PublishProgress
// without notifying, for progress computed from a position that the hub
// gets next, on the same goroutine (the ETA watcher, an estimator of the
// tracker, which tells estimators before publishers),
// so that the position's notification sends both in one write. Every
// subscriber the progress is queued for gets that position: customers of
// the assignment watch its technician, and boards get a technician's
// progress where they get its position.
func (h *Hub) QueueProgress(p *enroute.Progress) {
	bufp := h.subscribers(h.byAssignment, p.AssignmentID, geo.Cell(p.Cell))
	defer h.putSubscribers(bufp)
	fanOut(h, *bufp, p, h.cfg.EncodeProgress, (*Sub).offerProgress, false)
}

// drop evicts a slow subscriber.
func (h *Hub) drop(s *Sub) {
	h.Unsubscribe(s)
	if s.evict != nil {
		s.evict()
	}
}

// Fanout is a Publisher telling several.
type Fanout []enroute.Publisher

// PublishPosition implements enroute.Publisher.
func (f Fanout) PublishPosition(p *enroute.Position) {
	for _, x := range f {
		x.PublishPosition(p)
	}
}

// PublishAssignment implements enroute.Publisher.
func (f Fanout) PublishAssignment(a *enroute.Assignment) {
	for _, x := range f {
		x.PublishAssignment(a)
	}
}

// PublishProgress implements enroute.Publisher.
func (f Fanout) PublishProgress(p *enroute.Progress) {
	for _, x := range f {
		x.PublishProgress(p)
	}
}

// PublishActivity implements enroute.ActivityPublisher, telling those
// that are one.
func (f Fanout) PublishActivity(a *enroute.Activity) {
	for _, x := range f {
		if p, ok := x.(enroute.ActivityPublisher); ok {
			p.PublishActivity(a)
		}
	}
}

// QueueProgress queues p in those that can, and publishes it to the others
// (a bus to other nodes, which gets the position on its own).
func (f Fanout) QueueProgress(p *enroute.Progress) {
	for _, x := range f {
		if q, ok := x.(enroute.ProgressQueuer); ok {
			q.QueueProgress(p)
		} else {
			x.PublishProgress(p)
		}
	}
}

// AssignmentEvents publishes every assignment status change once its
// transaction commits. It implements enroute.AssignmentHook, and
// enroute.LocationHook: when a job site changes (its pin, its
// verification), its unfinished assignments are published again, as they
// are, so that the ETA watcher follows them to the new pin (or stops), a
// customer's page reads its state again, and boards their sites.
type AssignmentEvents struct {
	Store enroute.Store
	Pub   enroute.Publisher
}

var (
	_ enroute.AssignmentHook = AssignmentEvents{}
	_ enroute.LocationHook   = AssignmentEvents{}
)

// AssignmentChanged implements enroute.AssignmentHook.
func (e AssignmentEvents) AssignmentChanged(ctx context.Context, a *enroute.Assignment, _ enroute.AssignmentStatus) error {
	cp := *a
	e.Store.AfterCommit(ctx, func() { e.Pub.PublishAssignment(&cp) })
	return nil
}

// LocationChanged implements enroute.LocationHook.
func (e AssignmentEvents) LocationChanged(ctx context.Context, l *enroute.Location) error {
	as, err := e.Store.FindAssignments(ctx, enroute.AssignmentFilter{LocationID: &l.ID,
		Statuses: []enroute.AssignmentStatus{enroute.StatusScheduled, enroute.StatusDispatched, enroute.StatusWorking},
		Page:     enroute.Page{Limit: enroute.MaxLimit}})
	if err != nil {
		return fmt.Errorf("find the assignments at location %d: %w", l.ID, err)
	}
	if len(as) > 0 {
		verified := l.Verified
		e.Store.AfterCommit(ctx, func() {
			for _, a := range as {
				a.SiteVerified = &verified
				e.Pub.PublishAssignment(a)
			}
		})
	}
	return nil
}

// Mirror receives the positions every node ingested (from the bus between
// nodes) and makes them live in this node's Live state too, so its
// snapshots and searches hold technicians whose phones talk to another
// node. It passes a position on unless it is older than the live one (a
// technician's fixes may cross on two nodes) or a repeat of an overtaken one.
type Mirror struct {
	Live *Live
	Next enroute.Publisher
}

// PublishPosition implements enroute.Publisher.
func (m Mirror) PublishPosition(p *enroute.Position) {
	q := *p
	switch v, _ := m.Live.Apply(&q, 0); v {
	case older:
		return
	case duplicate: // seen here before: pass it on only if still the newest
		if cur, ok := m.Live.Get(p.TechnicianID); ok && cur.Time.After(p.Time) {
			return
		}
	}
	m.Next.PublishPosition(p)
}

// PublishAssignment implements enroute.Publisher.
func (m Mirror) PublishAssignment(a *enroute.Assignment) { m.Next.PublishAssignment(a) }

// PublishProgress implements enroute.Publisher.
func (m Mirror) PublishProgress(p *enroute.Progress) { m.Next.PublishProgress(p) }
