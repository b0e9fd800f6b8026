package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// Wire codes beyond the domain's, for errors only HTTP has.
const (
	codeTooLarge         = "too_large"
	codeHeadTooLarge     = "head_too_large"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupported      = "unsupported_media_type"
	codeBusy             = "busy"
	codeRateLimited      = "rate_limited"
	codeUnavailable      = "unavailable"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	enroute.EINVALID:      http.StatusBadRequest,
	enroute.EUNAUTHORIZED: http.StatusUnauthorized,
	enroute.EFORBIDDEN:    http.StatusForbidden,
	enroute.ENOTFOUND:     http.StatusNotFound,
	enroute.ECONFLICT:     http.StatusConflict,
	codeMethodNotAllowed:  http.StatusMethodNotAllowed,
	codeTooLarge:          http.StatusRequestEntityTooLarge,
	codeHeadTooLarge:      http.StatusRequestHeaderFieldsTooLarge,
	codeUnsupported:       http.StatusUnsupportedMediaType,
	codeBusy:              http.StatusTooManyRequests,
	codeRateLimited:       http.StatusTooManyRequests,
	codeUnavailable:       http.StatusServiceUnavailable,
	enroute.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorResponse is the body of every error.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names the problem: a code to branch on, a message for people,
// and the offending fields.
type ErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// Rows are an import's invalid values, each with its row and column.
	Rows []enroute.RowError `json:"rows,omitempty"`
}

func errorf(code, format string, args ...any) error {
	return enroute.Errorf(code, format, args...)
}

func errTooLarge(limit int64) error {
	return errorf(codeTooLarge, "The request body is larger than %d bytes.", limit)
}

// errorResponse is err's status and body, for every listener: an internal
// error's body says only "Internal error." (its callers log it).
func errorResponse(err error) (int, ErrorResponse) {
	code := enroute.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || status == http.StatusInternalServerError {
		return http.StatusInternalServerError, ErrorResponse{Error: ErrorBody{Code: enroute.EINTERNAL, Message: "Internal error."}}
	}
	return status, ErrorResponse{Error: ErrorBody{Code: code, Message: enroute.ErrorMessage(err), Fields: enroute.ErrorFields(err), Rows: enroute.ErrorRows(err)}}
}

// handleError writes err as JSON. Internal errors are logged with the
// request id, and the client is told only "Internal error.".
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		err = fromEcho(he, c)
	}
	status, body := errorResponse(err)
	if status == http.StatusInternalServerError {
		s.logger.Error("internal error", "err", err, "route", c.Path(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", retryAfter(err))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// fromEcho translates echo's own errors (no route, wrong method).
func fromEcho(he *echo.HTTPError, c echo.Context) error {
	r := c.Request()
	switch he.Code {
	case http.StatusNotFound:
		return errorf(enroute.ENOTFOUND, "No such endpoint: %s %s.", r.Method, r.URL.Path)
	case http.StatusMethodNotAllowed:
		return errorf(codeMethodNotAllowed, "%s is not allowed on %s.", r.Method, r.URL.Path)
	case http.StatusRequestEntityTooLarge:
		return errorf(codeTooLarge, "The request body is too large.")
	case http.StatusUnauthorized:
		return errorf(enroute.EUNAUTHORIZED, "Authentication required.")
	}
	if he.Code >= 400 && he.Code < 500 {
		return errorf(enroute.EINVALID, "%s", http.StatusText(he.Code))
	}
	return fmt.Errorf("echo: %w", he)
}
