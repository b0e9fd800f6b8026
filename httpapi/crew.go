package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/enroutehq/enroute"
)

// Crews: several technicians sent to one site. The limit rule tells the
// customer once, with a link for the first technician's assignment; that
// one link shows the whole crew. The state (/t/{token}/state) lists the
// others in "crew", and the page follows each over a stream of its own,
// /t/{token}/live?assignment={id}: the customer stream as it is, for
// another assignment of the visit. So the hub's hot path is unchanged (a
// customer subscription is still one assignment's), and a crew member
// costs the page one more WebSocket (a crew is two or three; maxCrew
// bounds it). The page reads the state again every 30 s and on each
// status event, which brings crew members dispatched later.

// maxCrew is the most other technicians a page shows: a site with more
// unfinished assignments lists the first by assignment id.
const maxCrew = 8

// stateCrewMember is another technician of the visit, shown by the link's
// own technician's rules: first name, photo, the effective rating only at
// 4.0 or more, the verification code while the company shows codes; a
// position, distance and ETA only on the way to a verified address.
type stateCrewMember struct {
	// AssignmentID names the stream that follows this technician:
	// /t/{token}/live?assignment={id}.
	AssignmentID int64                    `json:"assignment_id"`
	Status       enroute.AssignmentStatus `json:"status"`
	Technician   stateTechnician          `json:"technician"`
	ArrivedAt    *time.Time               `json:"arrived_at,omitempty"`
	stateEnRoute
}

// crewStatuses are the statuses of a crew member: on the way or there.
var crewStatuses = []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking}

// crewOf returns the visit's crew as the holder of a's link sees it:
// the other technicians' dispatched or working assignments at loc (a's
// job site, whatever the job: the limit rule's "site"), one per
// technician, in assignment order, at most maxCrew. Only loc's: another
// site's assignments never show. Once a is finished the visit is the one
// it was part of: those dispatched once a was done or cancelled (at the
// same instant or after) belong to a later visit to the site, which this
// link does not show.
func (s *Server) crewOf(ctx context.Context, a *enroute.Assignment, loc *enroute.Location) ([]*enroute.Assignment, error) {
	as, err := s.store.FindAssignments(ctx, enroute.AssignmentFilter{LocationID: &loc.ID, Statuses: crewStatuses,
		Page: enroute.Page{Limit: 8 * maxCrew}})
	if err != nil {
		return nil, err
	}
	var ended *time.Time
	switch a.Status {
	case enroute.StatusDone:
		ended = a.DoneAt
	case enroute.StatusCancelled:
		ended = a.CancelledAt
	}
	seen := map[int64]bool{a.TechnicianID: true}
	var crew []*enroute.Assignment
	for _, m := range as {
		if seen[m.TechnicianID] || (ended != nil && (m.DispatchedAt == nil || !m.DispatchedAt.Before(*ended))) {
			continue
		}
		seen[m.TechnicianID] = true
		crew = append(crew, m)
		if len(crew) == maxCrew {
			break
		}
	}
	return crew, nil
}

// crewMember returns the crew member whose assignment a page asks to
// follow (the live stream's "assignment" parameter): ENOTFOUND unless it
// is in crewOf(a, loc), so a link follows only its own visit's
// technicians; EINVALID when the parameter is not an id.
func (s *Server) crewMember(ctx context.Context, a *enroute.Assignment, loc *enroute.Location, param string) (*enroute.Assignment, error) {
	id, err := strconv.ParseInt(param, 10, 64)
	if err != nil || id <= 0 {
		return nil, enroute.FieldErrors(map[string]string{"assignment": "must be an assignment id"})
	}
	crew, err := s.crewOf(ctx, a, loc)
	if err != nil {
		return nil, err
	}
	for _, m := range crew {
		if m.ID == id {
			return m, nil
		}
	}
	return nil, enroute.Errorf(enroute.ENOTFOUND, "No such technician on this visit.")
}
