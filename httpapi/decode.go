package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// decode reads exactly one JSON object into v, refusing unknown fields and
// wrong types with an EINVALID error that names the field.
func decode(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		// curl -d labels bodies as a form; people type JSON there anyway.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && mt != echo.MIMEApplicationForm && !strings.HasSuffix(mt, "+json")) {
			return errorf(codeUnsupported, "Send the body as application/json.")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge(mbe.Limit)
		}
		return errorf(enroute.EINVALID, "The body must hold a single JSON object.")
	}
	return nil
}

// decodeOptional is decode for bodies that may be empty.
func decodeOptional(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	if err := decode(c, v); err != nil && !isEmptyBody(err) {
		return err
	}
	return nil
}

var errEmptyBody = errorf(enroute.EINVALID, "The request body is empty; send a JSON object.")

func isEmptyBody(err error) bool { return err == errEmptyBody }

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return errEmptyBody
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(enroute.EINVALID, "Malformed JSON: the body ends too early.")
	case errors.As(err, &syn):
		return errorf(enroute.EINVALID, "Malformed JSON at byte %d.", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(enroute.EINVALID, "The body must be a JSON object.")
		}
		return enroute.FieldErrors(map[string]string{typ.Field: "must be " + jsonKind(typ.Type.Kind().String())})
	case errors.As(err, &mbe):
		return errTooLarge(mbe.Limit)
	}
	// encoding/json has no error type for unknown fields; its message is
	// `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return enroute.FieldErrors(map[string]string{name: "is not a known field"})
	}
	return errorf(enroute.EINVALID, "Malformed JSON.")
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "bool":
		return "true or false"
	case goKind == "string":
		return "a string"
	case goKind == "slice":
		return "an array"
	}
	return "an object"
}

// fieldErrs collects per-field problems found while reading a request.
type fieldErrs map[string]string

// require notes each named field whose value is nil.
func (f fieldErrs) require(fields map[string]bool) {
	for name, present := range fields {
		if !present {
			f[name] = "is required"
		}
	}
}

// time parses an RFC 3339 timestamp field.
func (f fieldErrs) time(name string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		f[name] = "must be an RFC 3339 time, like 2026-11-27T09:00:00-06:00"
		return nil
	}
	return &t
}

func (f fieldErrs) err() error { return enroute.FieldErrors(f) }

// pathID reads the positive integer path parameter "id".
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, enroute.FieldErrors(map[string]string{"id": "must be a positive integer"})
	}
	return id, nil
}

// getByID answers the resource with the path's id.
func getByID[T any](c echo.Context, find func(context.Context, int64) (T, error)) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	v, err := find(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// deleteByID deletes the resource with the path's id.
func deleteByID(c echo.Context, del func(context.Context, int64) error) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := del(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// query reads the list query parameters common to every collection and
// the named optional ones.
type query struct {
	c    echo.Context
	errs fieldErrs
}

func newQuery(c echo.Context) *query { return &query{c: c, errs: fieldErrs{}} }

func (q *query) page() enroute.Page {
	var p enroute.Page
	if v := q.int("limit"); v != nil {
		if *v < 1 || *v > enroute.MaxLimit {
			q.errs["limit"] = fmt.Sprintf("must be between 1 and %d", enroute.MaxLimit)
		}
		p.Limit = int(*v)
	}
	if v := q.int("offset"); v != nil {
		if *v < 0 {
			q.errs["offset"] = "must not be negative"
		}
		p.Offset = int(*v)
	}
	return p
}

func (q *query) int(name string) *int64 {
	s := q.c.QueryParam(name)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		q.errs[name] = "must be an integer"
		return nil
	}
	return &v
}

func (q *query) bool(name string) *bool {
	s := q.c.QueryParam(name)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		q.errs[name] = "must be true or false"
		return nil
	}
	return &v
}

// time reads an RFC 3339 time; nil when the parameter is absent.
func (q *query) time(name string) *time.Time {
	s := q.c.QueryParam(name)
	if s == "" {
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.errs[name] = "must be an RFC 3339 time, e.g. 2026-11-27T09:00:00Z"
		return nil
	}
	return &v
}

func (q *query) string(name string) *string {
	if s := q.c.QueryParam(name); s != "" {
		return &s
	}
	return nil
}

// search reads a search's text, trimmed; nil when absent or blank, and
// refused over enroute.MaxSearchLen characters.
func (q *query) search(name string) *string {
	s := strings.TrimSpace(q.c.QueryParam(name))
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > enroute.MaxSearchLen {
		q.errs[name] = fmt.Sprintf("must be at most %d characters", enroute.MaxSearchLen)
		return nil
	}
	return &s
}

func (q *query) err() error { return q.errs.err() }

// list is the body of every collection response.
type list[T any] struct {
	Items []T `json:"items"`
}

// listOf answers items; none is an empty list, never null.
func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}

// phonesIn turns the phone numbers of a request into E.164 form
// (phone.Normalize): written with their country code, or as they are
// written in the company's country (its locale; locale, when not nil,
// is the one the request sets). Validation then refuses what is no number.
func (s *Server) phonesIn(ctx context.Context, locale *string, ps ...*string) error {
	if !slices.ContainsFunc(ps, func(p *string) bool { return p != nil && *p != "" }) {
		return nil
	}
	if locale == nil {
		co, err := s.store.FindCompany(ctx)
		if err != nil {
			return err
		}
		locale = &co.Locale
	}
	for _, p := range ps {
		if p != nil {
			*p = phone.Normalize(*p, *locale)
		}
	}
	return nil
}
