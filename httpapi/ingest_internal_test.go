package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute/tracker"
)

// TestWriteResult: the hand-written answer is byte for byte c.JSON's,
// with the same content type.
func TestWriteResult(t *testing.T) {
	e := echo.New()
	answer := func(write func(echo.Context) error) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		if err := write(e.NewContext(httptest.NewRequest(http.MethodPost, "/api/v1/positions", nil), rec)); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	for _, res := range []*tracker.Result{
		{Rejected: []tracker.Rejection{}},
		{Accepted: 1, Rejected: []tracker.Rejection{}},
		{Accepted: 12345, Duplicates: 2, Rejected: []tracker.Rejection{}},
		{Accepted: 1, Rejected: []tracker.Rejection{{Index: 1, Reason: `lat must be "between" -90 and 90`}}},
	} {
		got := answer(func(c echo.Context) error { return writeResult(c, res) })
		want := answer(func(c echo.Context) error { return c.JSON(http.StatusOK, res) })
		if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%+v: %d %q %q, c.JSON gives %d %q %q", res, got.Code, got.Header().Get("Content-Type"), got.Body, want.Code, want.Header().Get("Content-Type"), want.Body)
		}
	}
}
