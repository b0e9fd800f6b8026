package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// maxExportSpan bounds an export's period: a leap year.
const maxExportSpan = 366 * 24 * time.Hour

// mimeCSV is the CSV export's media type (RFC 4180, with its header row).
const mimeCSV = "text/csv"

// exportFormats an export is written in, by their ?format= names.
const (
	exportCSV     = "csv"
	exportGeoJSON = "geojson"
)

// exportFormat reads the format an export asks for: ?format=csv or
// ?format=geojson, or without it the Accept header: GeoJSON when it names
// application/geo+json at a q-value above 0 and no lower than text/csv's,
// else CSV. The answer depends on Accept, so it says so in Vary.
func (q *query) exportFormat() string {
	q.c.Response().Header().Add(echo.HeaderVary, "Accept")
	switch f := q.c.QueryParam("format"); f {
	case "":
		if preferred(q.c.Request().Header.Get(echo.HeaderAccept), mimeGeoJSON, mimeCSV) {
			return exportGeoJSON
		}
		return exportCSV
	case exportCSV, exportGeoJSON:
		return f
	default:
		q.errs["format"] = "must be csv or geojson"
		return ""
	}
}

// preferred reports whether an Accept header names want with a q-value
// above 0 and no lower than other's. Wildcards count for neither.
func preferred(accept, want, other string) bool {
	wantQ, otherQ := 0.0, 0.0
	for _, r := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(r)
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				continue
			}
			q = f
		}
		switch mt {
		case want:
			wantQ = max(wantQ, q)
		case other:
			otherQ = max(otherQ, q)
		}
	}
	return wantQ > 0 && wantQ >= otherQ
}

// exportTechnicianPositions serves a technician's fixes from since to
// until as a file (exportPositions).
func (s *Server) exportTechnicianPositions(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	return s.exportPositions(c, &id)
}

// exportFleetPositions serves every technician's fixes from since to until
// as a file (exportPositions).
func (s *Server) exportFleetPositions(c echo.Context) error {
	return s.exportPositions(c, nil)
}

// exportPositions writes the stored fixes of a technician (or, with
// techID nil, of all) taken from since (inclusive) to until (exclusive),
// both required and at most maxExportSpan apart, in time order, as a file
// to save: CSV with a header row (unknown values empty), or GeoJSON, a
// FeatureCollection of a Point for each fix, its values the properties
// (unknown ones null). Points, not a line per technician: the file
// streams in time order without holding anyone's trail, and each fix
// keeps its time and values, which QGIS's temporal controller animates
// and its "Points to path" joins into lines by technician_id.
//
// It streams: fixes are written as the store reads them (a page at a
// time, PositionStore.EachPosition), never the whole period in memory;
// when the client goes, the request's ctx ends and so does the reading.
// A store error before anything is sent is the usual JSON error; after,
// the response is cut short, so the client sees a broken download rather
// than a file that looks whole.
func (s *Server) exportPositions(c echo.Context, techID *int64) error {
	q := newQuery(c)
	format := q.exportFormat()
	since, until := q.time("since"), q.time("until")
	for name, v := range map[string]*time.Time{"since": since, "until": until} {
		if v == nil && q.errs[name] == "" {
			q.errs[name] = "is required"
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	switch {
	case !since.Before(*until):
		return enroute.FieldErrors(map[string]string{"since": "must be before until"})
	case until.Sub(*since) > maxExportSpan:
		return enroute.FieldErrors(map[string]string{"until": fmt.Sprintf("must be at most %d days after since", maxExportSpan/(24*time.Hour))})
	}
	ctx := c.Request().Context()
	if techID != nil {
		if _, err := s.store.FindTechnicianByID(ctx, *techID); err != nil {
			return err
		}
	}

	name := "enroute-positions"
	if techID != nil {
		name += "-technician-" + strconv.FormatInt(*techID, 10)
	}
	const stamp = "20060102T150405Z"
	name += "-" + since.UTC().Format(stamp) + "-" + until.UTC().Format(stamp)
	w := &exportWriter{c: c, buf: bufio.NewWriterSize(c.Response(), 32<<10)}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-store") // people's whereabouts
	if format == exportGeoJSON {
		h.Set(echo.HeaderContentType, mimeGeoJSON)
		h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name + ".geojson"}))
		w.row, w.end = appendFeature, `]}`+"\n"
		w.line = append(w.line, `{"type":"FeatureCollection","features":[`...)
	} else {
		h.Set(echo.HeaderContentType, mimeCSV+"; charset=utf-8; header=present")
		h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name + ".csv"}))
		w.row = appendCSVRow
		w.line = append(w.line, csvHeader...)
	}

	f := enroute.PositionFilter{TechnicianID: techID, Since: *since, Until: *until}
	err := s.store.EachPosition(ctx, f, w.write)
	if err == nil {
		err = w.close()
	}
	var gone clientGone
	switch {
	case err == nil:
		return nil
	case errors.As(err, &gone) || ctx.Err() != nil:
		return nil // no one to tell; the reading stopped with the request
	case !c.Response().Committed:
		// Nothing sent: the error goes as JSON, not as the file's type.
		h.Del(echo.HeaderContentType)
		h.Del(echo.HeaderContentDisposition)
		return err
	}
	s.logger.Error("export cut short", "err", err, "route", c.Path(),
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	panic(http.ErrAbortHandler)
}

// exportWriter writes an export's fixes to the response through buf, the
// first of them once the store has read the first page (so a store error
// before it is still a JSON error).
type exportWriter struct {
	c     echo.Context
	buf   *bufio.Writer
	line  []byte // the row being written (the file's head before the first)
	row   func(b []byte, first bool, p *enroute.Position) []byte
	end   string // after the last row
	fixes int
}

// clientGone is a write that failed: the client went away.
type clientGone struct{ error }

func (w *exportWriter) write(p *enroute.Position) error {
	w.line = w.row(w.line, w.fixes == 0, p)
	w.fixes++
	if _, err := w.buf.Write(w.line); err != nil {
		return clientGone{err}
	}
	w.line = w.line[:0]
	return nil
}

// close writes what is left: the head of an export without fixes, and the
// end.
func (w *exportWriter) close() error {
	w.line = append(w.line, w.end...)
	if _, err := w.buf.Write(w.line); err != nil {
		return clientGone{err}
	}
	if err := w.buf.Flush(); err != nil {
		return clientGone{err}
	}
	return nil
}

// csvHeader is the CSV export's header row: the JSON form's field names.
const csvHeader = "technician_id,device_id,ts,lat,lng,accuracy_m,speed_mps,heading_deg,altitude_m,battery,received_at\r\n"

// appendCSVRow appends a fix's CSV row: numbers and RFC 3339 times (UTC),
// nothing to quote; an unknown accuracy, speed, heading or battery is an
// empty cell (a blank in Excel, NULL in QGIS), not -1.
func appendCSVRow(b []byte, _ bool, p *enroute.Position) []byte {
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, p.DeviceID, 10)
	b = append(b, ',')
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	for _, v := range [...]float64{p.Lat, p.Lng} {
		b = append(b, ',')
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	for i, v := range [...]float64{p.AccuracyM, p.SpeedMPS, p.HeadingDeg, p.AltitudeM, p.Battery} {
		b = append(b, ',')
		if v >= 0 || i == 3 { // altitude: any value is one
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
	}
	b = append(b, ',')
	b = p.ReceivedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '\r', '\n')
}

// appendFeature appends a fix's GeoJSON Point feature, a comma before all
// but the first: coordinates [lng, lat], the rest properties as
// fixProperties has them (unknown ones null).
func appendFeature(b []byte, first bool, p *enroute.Position) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, "\n"+`{"type":"Feature","geometry":{"type":"Point","coordinates":[`...)
	b = strconv.AppendFloat(b, p.Lng, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
	b = append(b, `]},"properties":{"technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"device_id":`...)
	b = strconv.AppendInt(b, p.DeviceID, 10)
	b = append(b, `,"ts":"`...)
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, f := range [...]struct {
		name  string
		v     float64
		known bool
	}{
		{"accuracy_m", p.AccuracyM, p.AccuracyM >= 0}, {"speed_mps", p.SpeedMPS, p.SpeedMPS >= 0},
		{"heading_deg", p.HeadingDeg, p.HeadingDeg >= 0}, {"altitude_m", p.AltitudeM, true},
		{"battery", p.Battery, p.Battery >= 0},
	} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if f.known {
			b = strconv.AppendFloat(b, f.v, 'f', -1, 64)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `,"received_at":"`...)
	b = p.ReceivedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}}`...)
}
