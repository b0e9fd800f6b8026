package httpapi

import (
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

func (s *Server) listCustomers(c echo.Context) error {
	q := newQuery(c)
	f := enroute.CustomerFilter{Phone: q.string("phone"), ExternalID: q.string("external_id"), Page: q.page()}
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

// locationRequest is the body of POST (all but verified required) and
// PATCH (customer_id refused: a site does not change hands).
type locationRequest struct {
	CustomerID *int64   `json:"customer_id"`
	Address    *string  `json:"address"`
	Lat        *float64 `json:"lat"`
	Lng        *float64 `json:"lng"`
	Verified   *bool    `json:"verified"`
}

func (r locationRequest) update() enroute.LocationUpdate {
	return enroute.LocationUpdate{Address: r.Address, Lat: r.Lat, Lng: r.Lng, Verified: r.Verified}
}

func (s *Server) createLocation(c echo.Context) error {
	var req locationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"customer_id": req.CustomerID != nil, "address": req.Address != nil, "lat": req.Lat != nil, "lng": req.Lng != nil})
	if err := errs.err(); err != nil {
		return err
	}
	l := &enroute.Location{CustomerID: *req.CustomerID}
	req.update().Apply(l)
	if err := s.store.CreateLocation(c.Request().Context(), l); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, l)
}

func (s *Server) listLocations(c echo.Context) error {
	q := newQuery(c)
	f := enroute.LocationFilter{CustomerID: q.int("customer_id"), Page: q.page()}
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
	if req.CustomerID != nil {
		return enroute.FieldErrors(map[string]string{"customer_id": "cannot change; create a new location"})
	}
	l, err := s.store.UpdateLocation(c.Request().Context(), id, req.update())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Server) deleteLocation(c echo.Context) error { return deleteByID(c, s.store.DeleteLocation) }
