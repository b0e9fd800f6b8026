package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// HeaderIdempotencyKey makes a retried POST return the first result without
// acting twice.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotent runs a POST that carries an Idempotency-Key in one transaction
// with the key's record: the first request's effects and its response
// commit together, a retry replays the stored response, and a concurrent
// retry waits for the first and then replays it. A request that fails is
// rolled back whole, key included, so a retry runs it afresh. It must come
// after authenticate, since keys are scoped to the API key.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(HeaderIdempotencyKey)
		if key == "" || c.Request().Method != http.MethodPost {
			return next(c)
		}
		if len(key) > 255 {
			return enroute.FieldErrors(map[string]string{HeaderIdempotencyKey: "must be at most 255 characters"})
		}
		apiKey := apiKeyOf(c)
		if apiKey == nil {
			return errorf(enroute.EINTERNAL, "idempotent route without authentication")
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooLarge(mbe.Limit)
			}
			return err
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
		h.Write(body)
		reqHash := h.Sum(nil)

		res := c.Response()
		real := res.Writer
		rec := &recorder{header: real.Header()}
		var (
			stored   *enroute.IdempotentResponse
			replayed bool
		)
		err = s.store.InTx(c.Request().Context(), func(ctx context.Context) error {
			prev, err := s.store.ClaimIdempotencyKey(ctx, apiKey.ID, key, reqHash)
			if err != nil {
				return err
			} else if prev != nil {
				stored, replayed = prev, true
				return nil
			}
			c.SetRequest(c.Request().WithContext(ctx))
			res.Writer = rec
			err = next(c)
			res.Writer = real
			if err != nil {
				return err
			} else if rec.status >= 400 {
				return errRolledBack
			}
			stored = &enroute.IdempotentResponse{Status: rec.status, ContentType: real.Header().Get(echo.HeaderContentType), Body: rec.body.Bytes()}
			saved := *stored
			if b, ok := c.Get(ctxReplayBody).([]byte); ok {
				saved.Body = b // The response carries a secret: store it without.
			}
			return s.store.SaveIdempotentResponse(ctx, apiKey.ID, key, &saved)
		})
		res.Writer = real
		switch {
		case errors.Is(err, errRolledBack):
			stored = &enroute.IdempotentResponse{Status: rec.status, Body: rec.body.Bytes()}
		case err != nil:
			res.Committed = false
			return err
		case replayed:
			real.Header().Set(echo.HeaderContentType, stored.ContentType)
			real.Header().Set("Idempotent-Replayed", "true")
		}
		// The response is written only now that its transaction committed.
		res.Status, res.Committed = stored.Status, true
		real.WriteHeader(stored.Status)
		_, err = real.Write(stored.Body)
		return err
	}
}

// ctxReplayBody holds the body to store for replays when the response
// carries a secret, which must never be stored in the clear.
const ctxReplayBody = "enroute.replay_body"

// jsonWithSecret answers full, and has a replay of the request answer
// redacted: the secret is shown once, and a retry learns that it was made
// without acting twice.
func jsonWithSecret(c echo.Context, status int, full, redacted any) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if c.Request().Header.Get(HeaderIdempotencyKey) != "" {
		b, err := json.Marshal(redacted)
		if err != nil {
			return err
		}
		c.Set(ctxReplayBody, b)
	}
	return c.JSON(status, full)
}

var errRolledBack = errors.New("response was an error: roll back")

// recorder holds a response until its transaction commits.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
