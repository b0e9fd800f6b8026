package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// listJobMessages is a job's delivery log: what Enroute and its
// dispatchers sent the customer. A live tracking token is never shown: a
// queued message shows its link redacted too.
func (s *Server) listJobMessages(c echo.Context) error {
	jobID, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	f := enroute.MessageFilter{JobID: &jobID, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	if _, err := s.store.FindJobByID(c.Request().Context(), jobID); err != nil {
		return err
	}
	ms, err := s.store.FindMessages(c.Request().Context(), f)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Redact()
	}
	return c.JSON(http.StatusOK, listOf(ms))
}

// sendJobText is POST /jobs/{id}/messages: a text a dispatcher writes to
// the job's customer (an answer to their reply), sent through the outbox
// and kept in the job's delivery log with the key that wrote it.
func (s *Server) sendJobText(c echo.Context) error {
	jobID, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct {
		Body *string `json:"body"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Body == nil {
		return enroute.FieldErrors(map[string]string{"body": "is required"})
	}
	m, err := s.notify.SendText(c.Request().Context(), jobID, *req.Body, authorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

// resendMessage is POST /messages/{id}/resend.
func (s *Server) resendMessage(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.notify.Resend(c.Request().Context(), id, authorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

// listReplies is GET /replies (every reply; ?job_id= for one job's) and
// GET /jobs/{id}/replies: customers' texts that were not keywords, oldest
// first.
func (s *Server) listReplies(c echo.Context) error {
	q := newQuery(c)
	f := enroute.ReplyFilter{JobID: q.int("job_id"), Page: q.page()}
	if c.Param("id") != "" {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if _, err := s.store.FindJobByID(c.Request().Context(), id); err != nil {
			return err
		}
		f.JobID = &id
	}
	if err := q.err(); err != nil {
		return err
	}
	rs, err := s.store.FindReplies(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rs))
}

// authorOf names who asked for a message: the staff key's name.
func authorOf(c echo.Context) string {
	if k := apiKeyOf(c); k != nil {
		return k.Name
	}
	return ""
}
