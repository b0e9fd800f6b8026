package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// customerRequest is the body of POST (name required) and PATCH.
type customerRequest struct {
	ExternalID *string `json:"external_id"`
	Name       *string `json:"name"`
	Phone      *string `json:"phone"`
	Email      *string `json:"email"`
	Language   *string `json:"language"`
	SMSOptOut  *bool   `json:"sms_opt_out"`
}

func (s *Server) createCustomer(c echo.Context) error {
	var req customerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.phonesIn(c.Request().Context(), nil, req.Phone); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"name": req.Name != nil})
	if err := errs.err(); err != nil {
		return err
	}
	cu := &enroute.Customer{Language: "en"}
	enroute.CustomerUpdate(req).Apply(cu)
	if err := s.store.CreateCustomer(c.Request().Context(), cu); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cu)
}

// listCustomers lists customers by id: a dispatcher's search (q: name,
// e-mail or phone), or those with a phone or external id.
func (s *Server) listCustomers(c echo.Context) error {
	q := newQuery(c)
	f := enroute.CustomerFilter{Phone: q.string("phone"), ExternalID: q.string("external_id"), Query: q.search("q"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	if err := s.phonesIn(c.Request().Context(), nil, f.Phone); err != nil {
		return err
	}
	cs, err := s.store.FindCustomers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(cs))
}

func (s *Server) getCustomer(c echo.Context) error { return getByID(c, s.store.FindCustomerByID) }

func (s *Server) patchCustomer(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req customerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.phonesIn(c.Request().Context(), nil, req.Phone); err != nil {
		return err
	}
	cu, err := s.store.UpdateCustomer(c.Request().Context(), id, enroute.CustomerUpdate(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cu)
}

func (s *Server) deleteCustomer(c echo.Context) error { return deleteByID(c, s.store.DeleteCustomer) }

// locationRequest is the body of POST (customer_id and address required;
// lat and lng together or not at all) and PATCH (customer_id refused: a
// site does not change hands).
type locationRequest struct {
	ExternalID *string  `json:"external_id"`
	CustomerID *int64   `json:"customer_id"`
	Address    *string  `json:"address"`
	Lat        *float64 `json:"lat"`
	Lng        *float64 `json:"lng"`
	Verified   *bool    `json:"verified"`
}

func (r locationRequest) update() enroute.LocationUpdate {
	return enroute.LocationUpdate{ExternalID: r.ExternalID, Address: r.Address, Lat: r.Lat, Lng: r.Lng, Verified: r.Verified}
}

// pinErrs refuses one coordinate without the other: a pin has both.
func (r locationRequest) pinErrs(errs fieldErrs) {
	if r.Lat != nil && r.Lng == nil {
		errs["lng"] = "is required with lat"
	} else if r.Lng != nil && r.Lat == nil {
		errs["lat"] = "is required with lng"
	}
}

// createLocation creates a job site. With coordinates they are the
// caller's pin (verified as "verified" says); without, the geocoder looks
// the address up and the answer waits for it, up to GeocodeWait: what the
// geocoder found by then, or "pending".
func (s *Server) createLocation(c echo.Context) error {
	var req locationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"customer_id": req.CustomerID != nil, "address": req.Address != nil})
	req.pinErrs(errs)
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	l := &enroute.Location{CustomerID: *req.CustomerID}
	req.update().Apply(l, s.now())
	if err := s.store.CreateLocation(ctx, l); err != nil {
		return err
	}
	l, err := s.awaitGeocoding(c, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, l)
}

// awaitGeocoding wakes the geocoder for a pending location and waits, up
// to GeocodeWait, for its answer; it returns the location as it then is.
// A request with an Idempotency-Key runs in a transaction that commits
// only once it answers, so the geocoder cannot see the location before:
// it answers "pending" at once (and its replays the same).
func (s *Server) awaitGeocoding(c echo.Context, l *enroute.Location) (*enroute.Location, error) {
	if l.Verification.Status != enroute.VerificationPending || s.geocoding == nil {
		return l, nil
	}
	ctx := c.Request().Context()
	s.store.AfterCommit(ctx, s.geocoding.Wake)
	if s.cfg.GeocodeWait < 0 || c.Request().Header.Get(HeaderIdempotencyKey) != "" {
		return l, nil
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.GeocodeWait)
	s.geocoding.Wait(wctx, l.ID)
	cancel()
	return s.store.FindLocationByID(ctx, l.ID)
}

func (s *Server) listLocations(c echo.Context) error {
	q := newQuery(c)
	f := enroute.LocationFilter{CustomerID: q.int("customer_id"), ExternalID: q.string("external_id"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ls, err := s.store.FindLocations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(ls))
}

func (s *Server) getLocation(c echo.Context) error { return getByID(c, s.store.FindLocationByID) }

func (s *Server) patchLocation(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req locationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	if req.CustomerID != nil {
		errs["customer_id"] = "cannot change; create a new location"
	}
	req.pinErrs(errs)
	if err := errs.err(); err != nil {
		return err
	}
	l, err := enroute.UpdateLocation(c.Request().Context(), s.store, id, req.update(), s.locHooks...)
	if err != nil {
		return err
	}
	if l, err = s.awaitGeocoding(c, l); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Server) deleteLocation(c echo.Context) error { return deleteByID(c, s.store.DeleteLocation) }
