package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// mimeGeoJSON is GeoJSON's media type (RFC 7946).
const mimeGeoJSON = "application/geo+json"

// geoJSONWanted reads which form a request asks for: ?format=geojson or
// ?format=json, or without it the Accept header (geoJSONAccepted). A
// format of anything else is a field error. The answer depends on Accept,
// so it says so in Vary for caches.
func (q *query) geoJSONWanted() bool {
	q.c.Response().Header().Add(echo.HeaderVary, "Accept")
	switch f := q.c.QueryParam("format"); f {
	case "":
		return geoJSONAccepted(q.c.Request().Header.Get(echo.HeaderAccept))
	case "geojson":
		return true
	case "json":
		return false
	default:
		q.errs["format"] = "must be json or geojson"
		return false
	}
}

// geoJSONAccepted reports whether an Accept header names
// application/geo+json with a q-value above 0 and no lower than
// application/json's: a client that names GeoJSON at all can read it,
// and one that ranks plain JSON higher gets JSON. Wildcards (*/*,
// application/*) leave the default, JSON.
func geoJSONAccepted(accept string) bool {
	return preferred(accept, mimeGeoJSON, echo.MIMEApplicationJSON)
}

// fixProperties are a fix's properties in the GeoJSON form: the JSON
// form's fields but lat and lng, which are the Point's coordinates. An
// unknown accuracy, speed, heading or battery is null, not the JSON form's
// -1: map tools take null for no value (QGIS's NULL, a blank in
// geojson.io's table), where -1 would be coloured and averaged as a speed.
type fixProperties struct {
	TechnicianID int64     `json:"technician_id"`
	DeviceID     int64     `json:"device_id"`
	Time         time.Time `json:"ts"`
	AccuracyM    *float64  `json:"accuracy_m"`
	SpeedMPS     *float64  `json:"speed_mps"`
	HeadingDeg   *float64  `json:"heading_deg"`
	AltitudeM    float64   `json:"altitude_m"`
	Battery      *float64  `json:"battery"`
	ReceivedAt   time.Time `json:"received_at"`
}

// known returns v, or nil when it is unknown (negative).
func known(v float64) *float64 {
	if v < 0 {
		return nil
	}
	return &v
}

// trailGeoJSON answers a technician's fixes (one page of them, in time
// order) as a GeoJSON FeatureCollection (geo.TrailGeoJSON): their trail,
// a LineString with technician_id, from and to (the first and last fix's
// times), fixes and distance_m; then a Point for each fix.
func trailGeoJSON(c echo.Context, techID int64, ps []enroute.Position) error {
	fixes := make([]geo.TrailFix, len(ps))
	for i := range ps {
		p := &ps[i]
		fixes[i] = geo.TrailFix{Lat: p.Lat, Lng: p.Lng, Properties: fixProperties{
			TechnicianID: p.TechnicianID, DeviceID: p.DeviceID, Time: p.Time,
			AccuracyM: known(p.AccuracyM), SpeedMPS: known(p.SpeedMPS), HeadingDeg: known(p.HeadingDeg),
			AltitudeM: p.AltitudeM, Battery: known(p.Battery), ReceivedAt: p.ReceivedAt,
		}}
	}
	props := map[string]any{"technician_id": techID, "fixes": len(ps)}
	if len(ps) > 0 {
		props["from"], props["to"] = ps[0].Time, ps[len(ps)-1].Time
	}
	b, err := geo.TrailGeoJSON(props, fixes)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, mimeGeoJSON, b)
}
