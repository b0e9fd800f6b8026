package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// technicianRequest is the body of POST (name required) and PATCH.
type technicianRequest struct {
	ExternalID *string  `json:"external_id"`
	Name       *string  `json:"name"`
	PhotoURL   *string  `json:"photo_url"`
	Rating     *float64 `json:"rating"`
	Active     *bool    `json:"active"`
}

func (r technicianRequest) update() enroute.TechnicianUpdate {
	return enroute.TechnicianUpdate{ExternalID: r.ExternalID, Name: r.Name, PhotoURL: r.PhotoURL, Rating: r.Rating, Active: r.Active}
}

func (s *Server) createTechnician(c echo.Context) error {
	var req technicianRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"name": req.Name != nil})
	if err := errs.err(); err != nil {
		return err
	}
	t := &enroute.Technician{Active: true}
	req.update().Apply(t)
	if err := s.store.CreateTechnician(c.Request().Context(), t); err != nil {
		return err
	}
	return s.technicianJSON(c, http.StatusCreated, t)
}

func (s *Server) listTechnicians(c echo.Context) error {
	q := newQuery(c)
	f := enroute.TechnicianFilter{Active: q.bool("active"), ExternalID: q.string("external_id"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ts, err := s.store.FindTechnicians(c.Request().Context(), f)
	if err != nil {
		return err
	}
	views, err := s.technicianViews(c.Request().Context(), ts...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(views))
}

func (s *Server) getTechnician(c echo.Context) error {
	return getByID(c, func(ctx context.Context, id int64) (technicianView, error) {
		t, err := s.store.FindTechnicianByID(ctx, id)
		if err != nil {
			return technicianView{}, err
		}
		v, err := s.technicianViews(ctx, t)
		if err != nil {
			return technicianView{}, err
		}
		return v[0], nil
	})
}

func (s *Server) patchTechnician(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req technicianRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := s.store.UpdateTechnician(c.Request().Context(), id, req.update())
	if err != nil {
		return err
	}
	return s.technicianJSON(c, http.StatusOK, t)
}

// deleteTechnician deletes a technician without assignments, and its
// devices: their open streams close.
func (s *Server) deleteTechnician(c echo.Context) error {
	return deleteByID(c, func(ctx context.Context, id int64) error {
		if err := s.store.DeleteTechnician(ctx, id); err != nil {
			return err
		}
		s.afterDeviceChange(c)
		return nil
	})
}

// deviceRequest is the body of a device's POST and PATCH.
type deviceRequest struct {
	Name         *string `json:"name"`
	MQTTIdentity *string `json:"mqtt_identity"`
}

// deviceCreated is the one response that carries a device's token. Token
// is null in a replay of an idempotent request: it was shown once.
type deviceCreated struct {
	*enroute.Device
	Token *string `json:"token"`
}

func (s *Server) createDevice(c echo.Context) error {
	techID, err := pathID(c)
	if err != nil {
		return err
	}
	var req deviceRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	token := enroute.NewDeviceToken()
	d := &enroute.Device{TechnicianID: techID, Identifier: enroute.NewDeviceIdentifier()}
	if req.Name != nil {
		d.Name = *req.Name
	}
	if req.MQTTIdentity != nil {
		d.MQTTIdentity = *req.MQTTIdentity
	}
	if err := s.store.CreateDevice(c.Request().Context(), d, enroute.HashSecret(token)); err != nil {
		return err
	}
	if d.MQTTIdentity != "" {
		s.afterDeviceChange(c) // this node's cache may hold the identity as unknown
	}
	return jsonWithSecret(c, http.StatusCreated, deviceCreated{Device: d, Token: &token}, deviceCreated{Device: d})
}

func (s *Server) listDevices(c echo.Context) error {
	techID, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	f := enroute.DeviceFilter{TechnicianID: &techID, IncludeRevoked: true, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	if _, err := s.store.FindTechnicianByID(c.Request().Context(), techID); err != nil {
		return err
	}
	ds, err := s.store.FindDevices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(ds))
}

// patchDevice renames a device or sets its MQTT identity ("" removes
// it). A new identity reaches every node's cache as a revocation does;
// the old one stops at once.
func (s *Server) patchDevice(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req deviceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := s.store.UpdateDevice(c.Request().Context(), id, enroute.DeviceUpdate{Name: req.Name, MQTTIdentity: req.MQTTIdentity})
	if err != nil {
		return err
	}
	if req.MQTTIdentity != nil {
		s.afterDeviceChange(c)
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) revokeDevice(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := s.store.RevokeDevice(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.afterDeviceChange(c)
	return c.JSON(http.StatusOK, d)
}

// replaceDeviceToken gives a device a new token, shown once, for a phone
// whose token may have leaked: the old token stops at once, its open
// streams are closed, and the device keeps its identity and history.
func (s *Server) replaceDeviceToken(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := decodeOptional(c, &struct{}{}); err != nil {
		return err
	}
	token := enroute.NewDeviceToken()
	d, err := s.store.ReplaceDeviceToken(c.Request().Context(), id, enroute.HashSecret(token))
	if err != nil {
		return err
	}
	s.afterDeviceChange(c)
	return jsonWithSecret(c, http.StatusOK, deviceCreated{Device: d, Token: &token}, deviceCreated{Device: d})
}

// afterDeviceChange makes this node let go of the devices just revoked,
// given a new token or deleted, once the request's transaction commits:
// cached lookups dropped, open streams closed. Other nodes do within
// deviceRevokedEvery.
func (s *Server) afterDeviceChange(c echo.Context) {
	ctx := c.Request().Context()
	s.store.AfterCommit(ctx, func() {
		if err := s.devices.changed(ctx); err != nil {
			s.logger.Warn("ask for changed devices", "err", err)
		}
	})
}

// historySpan is how far back a technician's history goes when the
// request names no since.
const historySpan = 24 * time.Hour

// listTechnicianPositions serves a technician's stored fixes in time
// order: since (inclusive) to until (exclusive), a page at a time (limit,
// offset) like every list. Without since, the day before until (or now);
// without until, everything after since, fixes a phone's fast clock
// stamped a little ahead included. It is also the trail the dispatcher
// board draws. ?format=geojson (or Accept: application/geo+json) answers
// the same page as GeoJSON, for map tools (trailGeoJSON).
func (s *Server) listTechnicianPositions(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	asGeoJSON := q.geoJSONWanted()
	f := enroute.PositionFilter{TechnicianID: &id, Page: q.page()}
	end := time.Now()
	if v := q.time("until"); v != nil {
		f.Until, end = *v, *v
	}
	f.Since = end.Add(-historySpan)
	if v := q.time("since"); v != nil {
		f.Since = *v
	}
	if err := q.err(); err != nil {
		return err
	}
	if !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return enroute.FieldErrors(map[string]string{"since": "must be before until"})
	}
	ctx := c.Request().Context()
	if _, err := s.store.FindTechnicianByID(ctx, id); err != nil {
		return err
	}
	ps, err := s.store.FindPositions(ctx, f)
	if err != nil {
		return err
	}
	if asGeoJSON {
		return trailGeoJSON(c, id, ps)
	}
	return c.JSON(http.StatusOK, listOf(ps))
}
