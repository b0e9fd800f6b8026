package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// maxFeedbackBytes bounds the body of the public feedback endpoint: a
// rating and a comment of MaxFeedbackCommentLen characters (at most 4
// bytes each, or 12 escaped) fit; anything larger is refused unread.
const maxFeedbackBytes = 16 << 10

// feedbackRequest is the body of POST /t/{token}/feedback.
type feedbackRequest struct {
	Rating  *int    `json:"rating"`
	Comment *string `json:"comment"`
}

// feedbackReceived is what the customer's page is told back: what was
// stored, without the ids of anything.
type feedbackReceived struct {
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// postFeedback is POST /t/{token}/feedback: the customer's stars (1 to 5)
// and comment for a done visit, once (a second is 409: what was said is
// kept as said, and a link that leaked cannot rewrite a technician's
// rating). Public, the token is the credential: rate limited like the
// page, the body bounded; an unknown or expired token is 404.
func (s *Server) postFeedback(c echo.Context) error {
	r := c.Request()
	if r.ContentLength > maxFeedbackBytes {
		return errTooLarge(maxFeedbackBytes)
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFeedbackBytes)
	ctx := r.Context()
	link, err := s.store.FindTrackingLink(ctx, enroute.HashSecret(c.Param("token")))
	if err != nil {
		return err
	}
	var req feedbackRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Rating == nil {
		return enroute.FieldErrors(map[string]string{"rating": "is required: 1 to 5 stars"})
	}
	f := &enroute.Feedback{AssignmentID: link.AssignmentID, Rating: *req.Rating}
	if req.Comment != nil {
		f.Comment = *req.Comment
	}
	if err := s.store.CreateFeedback(ctx, f); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, feedbackReceived{Rating: f.Rating, Comment: f.Comment, CreatedAt: f.CreatedAt})
}

// listJobFeedback is GET /api/v1/jobs/{id}/feedback: what the customer
// said of each of the job's visits.
func (s *Server) listJobFeedback(c echo.Context) error {
	return s.listFeedback(c, func(id int64) enroute.FeedbackFilter { return enroute.FeedbackFilter{JobID: &id} },
		func(ctx context.Context, id int64) error { _, err := s.store.FindJobByID(ctx, id); return err })
}

// listTechnicianFeedback is GET /api/v1/technicians/{id}/feedback: what
// customers said of a technician's visits.
func (s *Server) listTechnicianFeedback(c echo.Context) error {
	return s.listFeedback(c, func(id int64) enroute.FeedbackFilter { return enroute.FeedbackFilter{TechnicianID: &id} },
		func(ctx context.Context, id int64) error { _, err := s.store.FindTechnicianByID(ctx, id); return err })
}

func (s *Server) listFeedback(c echo.Context, filter func(int64) enroute.FeedbackFilter, exists func(context.Context, int64) error) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	f := filter(id)
	f.Page = q.page()
	if err := q.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := exists(ctx, id); err != nil {
		return err
	}
	fs, err := s.store.FindFeedback(ctx, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(fs))
}

// technicianView is a technician as the API reads it: with what their
// customers said, in numbers, and the rating customers are shown.
type technicianView struct {
	*enroute.Technician
	FeedbackCount int      `json:"feedback_count"`
	FeedbackMean  *float64 `json:"feedback_mean"`
	// EffectiveRating is enroute.EffectiveRating: Rating, or blended
	// with the feedback when the company lets feedback feed it.
	EffectiveRating float64 `json:"effective_rating"`
}

// technicianViews reads the feedback of ts and the company's setting.
func (s *Server) technicianViews(ctx context.Context, ts ...*enroute.Technician) ([]technicianView, error) {
	st, err := s.store.FindSettings(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	sums, err := s.store.FeedbackSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	views := make([]technicianView, len(ts))
	for i, t := range ts {
		sum := sums[t.ID]
		views[i] = technicianView{Technician: t, FeedbackCount: sum.Count, FeedbackMean: sum.Mean(),
			EffectiveRating: enroute.EffectiveRating(t.Rating, sum, st.Dispatch.Tracking.FeedbackUpdatesRating)}
	}
	return views, nil
}

// technicianJSON answers with t's view.
func (s *Server) technicianJSON(c echo.Context, status int, t *enroute.Technician) error {
	v, err := s.technicianViews(c.Request().Context(), t)
	if err != nil {
		return err
	}
	return c.JSON(status, v[0])
}
