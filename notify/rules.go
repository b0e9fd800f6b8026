package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
)

// Rules decides the dispatch notifications of an assignment when it becomes
// dispatched, and writes them to the outbox in the same transaction. It
// implements enroute.AssignmentHook.
type Rules struct {
	Store     enroute.Store
	PublicURL string
	// Wake, when set, runs after the transaction commits with messages
	// queued, so the outbox worker sends them at once.
	Wake func()
	// MessageHooks are told of each message suppressed by the limit rule,
	// in the transaction that records it.
	MessageHooks []enroute.MessageHook
	// Now is the clock quiet hours are read by; nil: time.Now.
	Now func() time.Time

	// The Nearby tab as last read (nearbyRule).
	nearbyMu     sync.Mutex
	nearbyAt     time.Time
	nearbyOn     bool
	nearbyWithin time.Duration
}

var _ enroute.AssignmentHook = (*Rules)(nil)

// AssignmentChanged implements enroute.AssignmentHook. For each enabled
// channel it records one message: queued; suppressed by the limit rule
// while another technician is dispatched to or working at the job site;
// or skipped when the customer has no phone or e-mail, or opted out of texts.
func (r *Rules) AssignmentChanged(ctx context.Context, a *enroute.Assignment, prev enroute.AssignmentStatus) error {
	switch a.Status {
	case enroute.StatusDispatched:
	case enroute.StatusWorking:
		_, err := r.moment(ctx, enroute.KindArrived, a, time.Time{})
		return err
	case enroute.StatusDone:
		_, err := r.moment(ctx, enroute.KindCompleted, a, time.Time{})
		return err
	case enroute.StatusCancelled:
		if prev == enroute.StatusScheduled {
			return nil // the customer never heard of it
		}
		_, err := r.moment(ctx, enroute.KindCancelled, a, time.Time{})
		return err
	default:
		return nil
	}
	st, err := r.Store.FindSettings(ctx)
	if err != nil {
		return err
	}
	ds := st.Dispatch
	if !ds.Text.Enabled && !ds.Email.Enabled {
		return nil
	}
	sub, err := load(ctx, r.Store, a.JobID, a.TechnicianID)
	if err != nil {
		return err
	}
	return r.notify(ctx, enroute.KindDispatch, ds, sub.templates(ds, enroute.KindDispatch), sub, a, nil)
}

// RunningLate sends the running-late message of an assignment en route
// whose ETA passed the end of its arrival window by more than the margin,
// if the setting is on: once per assignment, with the channels, opt-out
// and limit handling of dispatch messages. It reports done when the
// message exists, sent now or before: nothing more will come of asking.
func (r *Rules) RunningLate(ctx context.Context, assignmentID int64, eta time.Time) (done bool, err error) {
	err = r.Store.InTx(ctx, func(ctx context.Context) error {
		a, err := r.Store.FindAssignmentByID(ctx, assignmentID)
		if err != nil || a.Status != enroute.StatusDispatched {
			return err
		}
		st, err := r.Store.FindSettings(ctx)
		if err != nil {
			return err
		}
		ds := st.Dispatch
		if !ds.Late.Enabled || (!ds.Text.Enabled && !ds.Email.Enabled) {
			return nil
		}
		sub, err := load(ctx, r.Store, a.JobID, a.TechnicianID)
		if err != nil {
			return err
		}
		if !eta.After(sub.job.WindowEnd.Add(time.Duration(ds.Late.MarginMin) * time.Minute)) {
			return nil
		}
		if sent, err := sentBefore(ctx, r.Store, a.ID, enroute.KindLate); sent || err != nil {
			done = sent // once per assignment
			return err
		}
		tpl := sub.templates(ds, enroute.KindLate)
		done = true
		at := clock(eta, sub.company.TimeZone, sub.lang)
		return r.notify(ctx, enroute.KindLate, ds, tpl, sub, a, Values{TokenNewETA: at, TokenETA: at})
	})
	return done && err == nil, err
}

// usesLink reports whether an enabled channel's template has a link
// token: the tracking URL while arrival tracking is on, or the feedback
// URL.
func usesLink(ds enroute.DispatchSettings, tpl templates) bool {
	has := func(field, src string) bool {
		t, err := ParseTemplate(field, src)
		return err == nil && t.hasLink(ds.Tracking.Enabled)
	}
	return (ds.Text.Enabled && has("template", tpl.text)) ||
		(ds.Email.Enabled && (has("subject", tpl.subject) || has("body", tpl.body)))
}

// clock formats a time of day in the company's time zone, as people
// write it in lang ("" the company's own: English).
func clock(t time.Time, tz, lang string) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return dateWords(lang).clock(t.In(loc))
}

// templates are a message's texts: the SMS, and the e-mail's subject and
// body.
type templates struct{ text, subject, body string }

// notify records one message of kind per enabled channel, in the
// transaction of ctx: rendered from tpl with the subject's values and extra,
// and queued, suppressed by the limit rule, or skipped.
func (r *Rules) notify(ctx context.Context, kind enroute.MessageKind, ds enroute.DispatchSettings, tpl templates, sub subject, a *enroute.Assignment, extra Values) error {
	// A tracking link is made when arrival tracking is on and an enabled
	// channel's template has the token: only its hash is kept, so a link
	// no message carries could never be used.
	var token, link string
	if usesLink(ds, tpl) {
		token = enroute.NewTrackingToken()
		if err := r.Store.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID}, enroute.HashSecret(token)); err != nil {
			return err
		}
		link = TrackingURL(r.PublicURL, token)
	}
	suppressed, err := r.limitFor(ctx, kind, ds.General, sub.job, a)
	if err != nil {
		return err
	}
	// Inside the company's quiet hours a message waits for their end.
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	quiet, held := ds.General.QuietHours.Until(now(), sub.company.TimeZone)
	queued := false
	for _, ch := range []enroute.Channel{enroute.ChannelSMS, enroute.ChannelEmail} {
		m, err := r.message(ch, ds, tpl, sub, a, token, link, extra)
		if err != nil {
			return err
		} else if m == nil {
			continue // channel off
		}
		m.Kind = kind
		switch {
		case suppressed != "":
			m.Status, m.Reason = enroute.MessageSuppressed, suppressed
		case m.Reason != "":
			m.Status = enroute.MessageSkipped
		default:
			m.Status, queued = enroute.MessageQueued, true
			if held {
				m.NextAttemptAt, m.QuietUntil = quiet, &quiet
			}
		}
		if m.Status != enroute.MessageQueued {
			m.Redact() // Never sent: keep no live token at rest.
		}
		if err := r.Store.CreateMessage(ctx, m); err != nil {
			return err
		}
		if m.Status == enroute.MessageSuppressed {
			for _, h := range r.MessageHooks {
				if err := h.MessageFinished(ctx, m); err != nil {
					return err
				}
			}
		}
	}
	if queued && !held && r.Wake != nil {
		r.Store.AfterCommit(ctx, r.Wake)
	}
	return nil
}

// limited returns why the limit rule holds a's notification back, or "".
// It locks the job site first, so that of two dispatches to one site
// committing at once, one sees the other.
func (r *Rules) limited(ctx context.Context, g enroute.GeneralSettings, job *enroute.Job, a *enroute.Assignment) (string, error) {
	if !g.LimitWhenMultipleTechs {
		return "", nil
	}
	if err := r.Store.LockLocation(ctx, job.LocationID); err != nil {
		return "", err
	}
	others, err := r.Store.FindAssignments(ctx, enroute.AssignmentFilter{
		LocationID: &job.LocationID,
		Statuses:   []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking},
	})
	if err != nil {
		return "", err
	}
	for _, o := range others {
		if o.ID != a.ID && o.TechnicianID != a.TechnicianID {
			return fmt.Sprintf("Limited: technician %d is already %s at this job site (assignment %d).",
				o.TechnicianID, doing[o.Status], o.ID), nil
		}
	}
	return "", nil
}

// doing says what a technician of an unfinished visit is doing, for the
// limit rule's reasons.
var doing = map[enroute.AssignmentStatus]string{enroute.StatusDispatched: "on the way", enroute.StatusWorking: "working"}

// message renders the message of one channel, or nil when it is off. A
// message its customer cannot receive has its Reason set.
func (r *Rules) message(ch enroute.Channel, ds enroute.DispatchSettings, tpl templates, sub subject, a *enroute.Assignment, token, link string, extra Values) (*enroute.Message, error) {
	m := &enroute.Message{AssignmentID: a.ID, JobID: sub.job.ID, CustomerID: sub.customer.ID, Channel: ch}
	values := func(link string) Values {
		v := sub.values("")
		if ds.Tracking.Enabled {
			v[TokenTechTrackingURL] = link
		}
		v[TokenFeedbackURL] = link
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	switch ch {
	case enroute.ChannelSMS:
		if !ds.Text.Enabled {
			return nil, nil
		}
		body, err := ParseTemplate("template", tpl.text)
		if err != nil {
			return nil, err
		}
		if !body.hasLink(ds.Tracking.Enabled) {
			token, link = "", ""
		}
		m.From, m.To, m.Body, m.LinkToken = ds.Text.FromNumber, sub.customer.Phone, body.Text(values(link)), token
		switch {
		case sub.customer.Phone == "":
			m.Reason = "The customer has no phone number."
		case sub.customer.SMSOptOut:
			m.Reason = "The customer opted out of texts (replied STOP)."
		}
	case enroute.ChannelEmail:
		if !ds.Email.Enabled {
			return nil, nil
		}
		subj, err := ParseTemplate("subject", tpl.subject)
		if err != nil {
			return nil, err
		}
		body, err := ParseTemplate("body", tpl.body)
		if err != nil {
			return nil, err
		}
		if !body.hasLink(ds.Tracking.Enabled) && !subj.hasLink(ds.Tracking.Enabled) {
			token, link = "", ""
		}
		v := values(link)
		m.From, m.FromName, m.To, m.LinkToken = ds.Email.FromAddress, ds.Email.FromName, sub.customer.Email, token
		m.Subject, m.Body, m.HTML = subj.Text(v), body.Text(v), body.HTML(v)
		if sub.customer.Email == "" {
			m.Reason = "The customer has no e-mail address."
		}
	}
	return m, nil
}

// load reads what a message about a job talks of; the technician only when
// techID is set.
func load(ctx context.Context, s enroute.Store, jobID, techID int64) (subject, error) {
	var (
		sub subject
		err error
	)
	if sub.company, err = s.FindCompany(ctx); err != nil {
		return sub, err
	}
	if sub.job, err = s.FindJobByID(ctx, jobID); err != nil {
		return sub, err
	}
	if sub.customer, err = s.FindCustomerByID(ctx, sub.job.CustomerID); err != nil {
		return sub, err
	}
	if sub.location, err = s.FindLocationByID(ctx, sub.job.LocationID); err != nil {
		return sub, err
	}
	if techID > 0 {
		sub.tech, err = s.FindTechnicianByID(ctx, techID)
	}
	return sub, err
}

// Still implements the outbox's check of a message before it goes: ""
// when it is still true, else why it is not. A cancelled or rescheduled
// message needs the visit's dispatch message to have reached the
// customer (it may have been held by quiet hours and dropped, or have
// failed). A message that quiet hours held back needs what it tells to be
// so still (on the way, nearby and running late: the technician still on
// the way; arrived: still there), and nearby and running late, whose ETA
// it gives, are dropped after a hold of over heldTooLong. What a
// dispatcher wrote or resent goes as asked.
func (r *Rules) Still(ctx context.Context, m *enroute.Message) (string, error) {
	if !m.Automatic() {
		return "", nil
	}
	if m.Kind == enroute.KindCancelled || m.Kind == enroute.KindRescheduled {
		if told, err := dispatchReached(ctx, r.Store, m.AssignmentID, delivered); err != nil || told {
			if err != nil {
				return "", err
			}
		} else if going, err := dispatchReached(ctx, r.Store, m.AssignmentID, queued); err != nil || going {
			return "", cmp.Or(err, errNotYet) // another node is sending it: ask again
		} else {
			return fmt.Sprintf("Dropped: the customer never got the dispatch message, so the %s message would tell of a visit they did not know of.", m.Kind), nil
		}
	}
	if m.QuietUntil == nil {
		return "", nil
	}
	a, err := r.Store.FindAssignmentByID(ctx, m.AssignmentID)
	if err != nil {
		return "", err
	}
	var want enroute.AssignmentStatus
	switch m.Kind {
	case enroute.KindDispatch, enroute.KindNearby, enroute.KindLate:
		want = enroute.StatusDispatched
	case enroute.KindArrived:
		want = enroute.StatusWorking
	default:
		return "", nil // completed, cancelled, moved: still so
	}
	if a.Status != want {
		return fmt.Sprintf("Dropped after quiet hours: by their end the assignment was %s, so the %s message was no longer true.", a.Status, m.Kind), nil
	}
	if (m.Kind == enroute.KindNearby || m.Kind == enroute.KindLate) && m.QuietUntil.Sub(m.CreatedAt) > heldTooLong {
		return fmt.Sprintf("Dropped after quiet hours: the %s message's arrival time was %s old by their end.", m.Kind, m.QuietUntil.Sub(m.CreatedAt).Round(time.Minute)), nil
	}
	return "", nil
}

// errNotYet asks the outbox to try a message again later: what it
// follows is still being sent.
var errNotYet = errors.New("the dispatch message it follows is still being sent")

func queued(m *enroute.Message) bool { return m.Status == enroute.MessageQueued }

// heldTooLong is the longest quiet hours may hold a message that gives an
// arrival time before that time means nothing.
const heldTooLong = 10 * time.Minute
