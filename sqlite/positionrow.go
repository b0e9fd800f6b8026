package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"time"

	"github.com/enroutehq/enroute"
	u "github.com/enroutehq/enroute/internal/fixunits"
)

// positionCols in table order (migrations/sqlite/00019): times are Unix
// microseconds, the rest integers in fixunits' scales, which SQLite
// stores in 1 to 8 bytes by magnitude where a REAL always took 8.
const positionCols = "technician_id, ts, device_id, lat_e7, lng_e7, accuracy_dm, speed_cmps, heading_ddeg, altitude_dm, battery_pm, received_after_us"

// appendRow appends p's values in positionCols' order, numbered on from
// the arguments before them.
func appendRow(args []driver.NamedValue, p *enroute.Position) []driver.NamedValue {
	ts := micros(p.Time)
	for _, v := range [...]int64{p.TechnicianID, ts, p.DeviceID, u.Scaled(p.Lat, u.PerDegree), u.Scaled(p.Lng, u.PerDegree),
		u.ScaledOpt(p.AccuracyM, u.PerMetre), u.ScaledOpt(p.SpeedMPS, u.PerMetreSecond), u.Heading(p.HeadingDeg),
		u.Scaled(p.AltitudeM, u.PerMetre), u.ScaledOpt(p.Battery, u.PerPercent), micros(p.ReceivedAt) - ts} {
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
	}
	return args
}

// scanPosition reads a row of positionCols into p.
func scanPosition(rows *sql.Rows, p *enroute.Position) error {
	var ts, lat, lng, accuracy, speed, heading, altitude, battery, after int64
	if err := rows.Scan(&p.TechnicianID, &ts, &p.DeviceID, &lat, &lng, &accuracy, &speed, &heading, &altitude, &battery, &after); err != nil {
		return err
	}
	p.Time, p.ReceivedAt = time.UnixMicro(ts).UTC(), time.UnixMicro(ts+after).UTC()
	p.Lat, p.Lng = u.Unscaled(lat, u.PerDegree), u.Unscaled(lng, u.PerDegree)
	p.AccuracyM, p.SpeedMPS = u.UnscaledOpt(accuracy, u.PerMetre), u.UnscaledOpt(speed, u.PerMetreSecond)
	p.HeadingDeg, p.AltitudeM = u.UnscaledOpt(heading, u.PerDegreeHead), u.Unscaled(altitude, u.PerMetre)
	p.Battery, p.Cell = u.UnscaledOpt(battery, u.PerPercent), 0
	return nil
}
