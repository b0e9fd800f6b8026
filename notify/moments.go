package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/enroutehq/enroute"
)

// The moments of a visit after its dispatch: nearby, arrived, completed,
// cancelled and rescheduled. Each is its own settings tab, goes on the
// channels dispatch notifications use, at most once per assignment, and
// under the limit rule once per site visit, not once per technician.

var _ enroute.JobHook = (*Rules)(nil)

// moment records the messages of kind for a, in the transaction of ctx,
// if its tab is on and a has none of that kind yet, and says whether it
// did. A non-zero eta is the {ETA} of the message.
func (r *Rules) moment(ctx context.Context, kind enroute.MessageKind, a *enroute.Assignment, eta time.Time) (bool, error) {
	st, err := r.Store.FindSettings(ctx)
	if err != nil {
		return false, err
	}
	ds := st.Dispatch
	m := ds.Moment(kind)
	if !m.Enabled || (!ds.Text.Enabled && !ds.Email.Enabled) {
		return false, nil
	}
	if sent, err := sentBefore(ctx, r.Store, a.ID, kind); sent || err != nil {
		return false, err // once per assignment
	}
	// Cancelled and rescheduled speak of a visit the customer was told
	// of: the assignment's dispatch message reached them, or is on its
	// way (the outbox checks again before sending: Still).
	if kind == enroute.KindCancelled || kind == enroute.KindRescheduled {
		if told, err := dispatchReached(ctx, r.Store, a.ID, reached); !told || err != nil {
			return false, err
		}
	}
	sub, err := load(ctx, r.Store, a.JobID, a.TechnicianID)
	if err != nil {
		return false, err
	}
	tpl := sub.templates(ds, kind)
	var extra Values
	if !eta.IsZero() {
		at := clock(eta, sub.company.TimeZone, sub.lang)
		extra = Values{TokenETA: at, TokenNewETA: at}
	}
	return true, r.notify(ctx, kind, ds, tpl, sub, a, extra)
}

// sentBefore reports whether assignment id has an automatic message of
// kind: each is sent once.
func sentBefore(ctx context.Context, s enroute.Store, id int64, kind enroute.MessageKind) (bool, error) {
	ms, err := s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &id, Kind: &kind, Automatic: true, Page: enroute.Page{Limit: 1}})
	return len(ms) > 0, err
}

// dispatchReached reports whether one of assignment id's dispatch
// messages (the automatic one, or a resend) is as ok says.
func dispatchReached(ctx context.Context, s enroute.Store, id int64, ok func(*enroute.Message) bool) (bool, error) {
	kind := enroute.KindDispatch
	ms, err := s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &id, Kind: &kind, Page: enroute.Page{Limit: enroute.MaxLimit}})
	return slices.ContainsFunc(ms, ok), err
}

// delivered reports whether m went to the customer (from a development
// provider: would have).
func delivered(m *enroute.Message) bool {
	return m.Status == enroute.MessageSent || m.Status == enroute.MessageLogged
}

// reached reports whether m went, or is going, to the customer (from a
// development provider: would have).
func reached(m *enroute.Message) bool {
	return m.Status == enroute.MessageSent || m.Status == enroute.MessageLogged || m.Status == enroute.MessageQueued
}

// Nearby sends the nearby message of an assignment en route whose ETA is
// left away, if the Nearby tab is on and left is under its minutes: once
// per assignment. A technician who was already that close when dispatched
// (maxLeft, the longest ETA since, never over the minutes) is not
// announced again: the dispatch message said it. It reports done when
// nothing more will come of asking.
func (r *Rules) Nearby(ctx context.Context, assignmentID int64, eta time.Time, left, maxLeft time.Duration) (done bool, err error) {
	on, within, err := r.nearbyRule(ctx)
	if err != nil {
		return false, err
	}
	if !on || left > within {
		return false, nil // the tab may be turned on, or the ETA drop, later
	}
	if maxLeft <= within {
		return true, nil
	}
	err = r.Store.InTx(ctx, func(ctx context.Context) error {
		a, err := r.Store.FindAssignmentByID(ctx, assignmentID)
		if err != nil || a.Status != enroute.StatusDispatched {
			return err
		}
		_, err = r.moment(ctx, enroute.KindNearby, a, eta)
		return err
	})
	return err == nil, err
}

// nearbyRule is the Nearby tab's switch and minutes, read from the store
// at most every nearbyEvery: the watcher asks about every assignment
// within the hour every 30 s, and the settings are one document with
// every language's templates.
func (r *Rules) nearbyRule(ctx context.Context) (bool, time.Duration, error) {
	r.nearbyMu.Lock()
	defer r.nearbyMu.Unlock()
	if now := time.Now(); r.nearbyAt.IsZero() || now.Sub(r.nearbyAt) >= nearbyEvery {
		st, err := r.Store.FindSettings(ctx)
		if err != nil {
			return false, 0, err
		}
		r.nearbyOn, r.nearbyWithin, r.nearbyAt = st.Dispatch.Nearby.Enabled, time.Duration(st.Dispatch.Nearby.Minutes)*time.Minute, now
	}
	return r.nearbyOn, r.nearbyWithin, nil
}

// nearbyEvery is how stale nearbyRule's settings may be: a change of the
// tab holds on every node within it.
const nearbyEvery = 5 * time.Second

// JobChanged implements enroute.JobHook: when a job's arrival window
// moves, the customer who was told of a technician on the way hears of
// the new window (rescheduled), once, on the first such assignment.
func (r *Rules) JobChanged(ctx context.Context, old, j *enroute.Job) error {
	if old.WindowStart.Equal(j.WindowStart) && old.WindowEnd.Equal(j.WindowEnd) {
		return nil
	}
	as, err := r.Store.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &j.ID,
		Statuses: []enroute.AssignmentStatus{enroute.StatusDispatched}})
	if err != nil {
		return err
	}
	for _, a := range as {
		if sent, err := r.moment(ctx, enroute.KindRescheduled, a, time.Time{}); sent || err != nil {
			return err // one visit, one message
		}
	}
	return nil
}

// limitFor returns why the limit rule holds back a's message of kind, or
// "". Dispatch and running late: another technician is on the way to or
// working at the site. Nearby and arrived: the visit has begun (another
// technician is working there) or another's message of that kind told the
// customer already. Completed: another technician is still on the way or
// at work, so the visit goes on; cancelled likewise (the customer is not
// told to rebook a visit another technician is still coming to).
// Rescheduled moves the whole visit: it goes.
func (r *Rules) limitFor(ctx context.Context, kind enroute.MessageKind, g enroute.GeneralSettings, job *enroute.Job, a *enroute.Assignment) (string, error) {
	switch kind {
	case enroute.KindDispatch, enroute.KindLate:
		return r.limited(ctx, g, job, a)
	case enroute.KindRescheduled:
		return "", nil
	}
	if !g.LimitWhenMultipleTechs {
		return "", nil
	}
	if err := r.Store.LockLocation(ctx, job.LocationID); err != nil {
		return "", err
	}
	others, err := r.Store.FindAssignments(ctx, enroute.AssignmentFilter{LocationID: &job.LocationID,
		Statuses: []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking}})
	if err != nil {
		return "", err
	}
	for _, o := range others {
		if o.ID == a.ID || o.TechnicianID == a.TechnicianID {
			continue
		}
		switch kind {
		case enroute.KindCancelled, enroute.KindCompleted:
			return fmt.Sprintf("Limited: the visit goes on: technician %d is still %s at this job site (assignment %d).",
				o.TechnicianID, doing[o.Status], o.ID), nil
		case enroute.KindNearby, enroute.KindArrived:
			if o.Status == enroute.StatusWorking && (kind == enroute.KindNearby || a.WorkingAt == nil || !a.WorkingAt.Before(*o.WorkingAt)) {
				return fmt.Sprintf("Limited: the visit has begun: technician %d is working at this job site (assignment %d).", o.TechnicianID, o.ID), nil
			}
			ms, err := r.Store.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &o.ID})
			if err != nil {
				return "", err
			}
			if slices.ContainsFunc(ms, func(m *enroute.Message) bool { return m.Kind == kind && reached(m) }) {
				return fmt.Sprintf("Limited: the customer was told already, of technician %d (assignment %d).", o.TechnicianID, o.ID), nil
			}
		}
	}
	return "", nil
}
