package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// jobRequest is the body of POST (all but notes required) and PATCH
// (customer_id and location_id refused).
type jobRequest struct {
	ExternalID  *string `json:"external_id"`
	Number      *string `json:"number"`
	CustomerID  *int64  `json:"customer_id"`
	LocationID  *int64  `json:"location_id"`
	WindowStart *string `json:"window_start"`
	WindowEnd   *string `json:"window_end"`
	Notes       *string `json:"notes"`
}

// update parses the request's times into errs.
func (r jobRequest) update(errs fieldErrs) enroute.JobUpdate {
	return enroute.JobUpdate{
		ExternalID:  r.ExternalID,
		Number:      r.Number,
		WindowStart: errs.time("window_start", r.WindowStart),
		WindowEnd:   errs.time("window_end", r.WindowEnd),
		Notes:       r.Notes,
	}
}

func (s *Server) createJob(c echo.Context) error {
	var req jobRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{
		"number": req.Number != nil, "customer_id": req.CustomerID != nil, "location_id": req.LocationID != nil,
		"window_start": req.WindowStart != nil, "window_end": req.WindowEnd != nil,
	})
	upd := req.update(errs)
	if err := errs.err(); err != nil {
		return err
	}
	j := &enroute.Job{CustomerID: *req.CustomerID, LocationID: *req.LocationID}
	upd.Apply(j)
	if err := s.store.CreateJob(c.Request().Context(), j); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, j)
}

func (s *Server) listJobs(c echo.Context) error {
	q := newQuery(c)
	f := enroute.JobFilter{Number: q.string("number"), ExternalID: q.string("external_id"), CustomerID: q.int("customer_id"), LocationID: q.int("location_id"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	js, err := s.store.FindJobs(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(js))
}

func (s *Server) getJob(c echo.Context) error { return getByID(c, s.store.FindJobByID) }

func (s *Server) patchJob(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req jobRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	if req.CustomerID != nil {
		errs["customer_id"] = "cannot change; create a new job"
	}
	if req.LocationID != nil {
		errs["location_id"] = "cannot change; create a new job"
	}
	upd := req.update(errs)
	if err := errs.err(); err != nil {
		return err
	}
	j, err := s.updateJob(c.Request().Context(), id, upd)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

// updateJob changes a job and tells the job hooks (the rescheduled
// message), in one transaction.
func (s *Server) updateJob(ctx context.Context, id int64, upd enroute.JobUpdate) (*enroute.Job, error) {
	var j *enroute.Job
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		old, err := s.store.FindJobByID(ctx, id)
		if err != nil {
			return err
		}
		if j, err = s.store.UpdateJob(ctx, id, upd); err != nil {
			return err
		}
		for _, h := range s.jobHooks {
			if err := h.JobChanged(ctx, old, j); err != nil {
				return err
			}
		}
		return nil
	})
	return j, err
}

func (s *Server) deleteJob(c echo.Context) error { return deleteByID(c, s.store.DeleteJob) }

type assignmentRequest struct {
	TechnicianID *int64 `json:"technician_id"`
}

func (s *Server) createAssignment(c echo.Context) error {
	jobID, err := pathID(c)
	if err != nil {
		return err
	}
	var req assignmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"technician_id": req.TechnicianID != nil})
	if err := errs.err(); err != nil {
		return err
	}
	a := &enroute.Assignment{JobID: jobID, TechnicianID: *req.TechnicianID}
	if err := s.store.CreateAssignment(c.Request().Context(), a); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (s *Server) listJobAssignments(c echo.Context) error {
	jobID, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	f := enroute.AssignmentFilter{JobID: &jobID, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	if _, err := s.store.FindJobByID(c.Request().Context(), jobID); err != nil {
		return err
	}
	as, err := s.store.FindAssignments(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(s.viewsOf(as)))
}

func (s *Server) getAssignment(c echo.Context) error {
	return getByID(c, func(ctx context.Context, id int64) (assignmentView, error) {
		a, err := s.store.FindAssignmentByID(ctx, id)
		if err != nil {
			return assignmentView{}, err
		}
		return s.viewOf(a), nil
	})
}

// assignmentView is an assignment as the API reads it: with its latest
// distance and ETA while it is en route to a verified address (what this
// node's ETA watcher last estimated; as the live streams carry them).
type assignmentView struct {
	*enroute.Assignment
	Progress *progressView `json:"progress,omitempty"`
}

type progressView struct {
	DistanceM float64   `json:"distance_m"`
	ETA       time.Time `json:"eta"`
	ETAS      float64   `json:"eta_s"`
	// The ETA's range, once the model has one.
	ETAEarly time.Time `json:"eta_early,omitzero"`
	ETALate  time.Time `json:"eta_late,omitzero"`
	At       time.Time `json:"at"` // the fix it was estimated from
}

func (s *Server) viewsOf(as []*enroute.Assignment) []assignmentView {
	views := make([]assignmentView, len(as))
	for i, a := range as {
		views[i] = s.viewOf(a)
	}
	return views
}

func (s *Server) viewOf(a *enroute.Assignment) assignmentView {
	v := assignmentView{Assignment: a}
	if a.Status != enroute.StatusDispatched || s.progress == nil {
		return v
	}
	if pr, ok := s.progress.Progress(a.ID); ok {
		v.Progress = &progressView{DistanceM: pr.DistanceM, ETA: pr.ETA, ETAS: etaSeconds(pr), ETAEarly: pr.ETAEarly, ETALate: pr.ETALate, At: pr.At}
	}
	return v
}

func (s *Server) dispatchAssignment(c echo.Context) error {
	return s.transition(c, enroute.StatusDispatched)
}

func (s *Server) startAssignment(c echo.Context) error {
	return s.transition(c, enroute.StatusWorking)
}

func (s *Server) completeAssignment(c echo.Context) error {
	return s.transition(c, enroute.StatusDone)
}

func (s *Server) cancelAssignment(c echo.Context) error {
	return s.transition(c, enroute.StatusCancelled)
}

// transition moves an assignment; the body, if any, must be an empty object.
func (s *Server) transition(c echo.Context, next enroute.AssignmentStatus) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct{}
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	a, err := enroute.TransitionAssignment(c.Request().Context(), s.store, id, next, s.hooks...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// trackingLinkCreated is a new tracking link; the token is shown once.
type trackingLinkCreated struct {
	*enroute.TrackingLink
	URL   *string `json:"url"`
	Token *string `json:"token"`
}

// createTrackingLink makes a new tracking link for an assignment that is
// not cancelled, for a dispatcher to copy or send by hand: for a done one
// the page is the feedback form.
func (s *Server) createTrackingLink(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.store.FindAssignmentByID(ctx, id)
	if err != nil {
		return err
	} else if a.Status == enroute.StatusCancelled {
		return errorf(enroute.EINVALID, "The assignment is %s; a tracking link would show nothing.", a.Status)
	}
	token := enroute.NewTrackingToken()
	l := &enroute.TrackingLink{AssignmentID: a.ID}
	if err := s.store.CreateTrackingLink(ctx, l, enroute.HashSecret(token)); err != nil {
		return err
	}
	u := strings.TrimRight(s.cfg.PublicURL, "/") + "/t/" + token
	return jsonWithSecret(c, http.StatusCreated, trackingLinkCreated{TrackingLink: l, URL: &u, Token: &token}, trackingLinkCreated{TrackingLink: l})
}

// listAssignments lists assignments across jobs: ?status=dispatched,working
// and ?technician_id=, for the dispatcher board.
func (s *Server) listAssignments(c echo.Context) error {
	q := newQuery(c)
	f := enroute.AssignmentFilter{TechnicianID: q.int("technician_id"), Page: q.page()}
	if v := c.QueryParam("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st := enroute.AssignmentStatus(strings.TrimSpace(st))
			if !st.Valid() {
				q.errs["status"] = "must be scheduled, dispatched, working, done or cancelled, comma-separated"
				break
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	as, err := s.store.FindAssignments(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(s.viewsOf(as)))
}
