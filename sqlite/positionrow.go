package sqlite

import (
	"database/sql"
	"math"
	"time"

	"github.com/enroutehq/enroute"
)

// positionCols in table order (migrations/sqlite/00019): times are Unix
// microseconds, the rest integers in the scales below, which SQLite
// stores in 1 to 8 bytes by magnitude where a REAL always took 8.
const positionCols = "technician_id, ts, device_id, lat_e7, lng_e7, accuracy_dm, speed_cmps, heading_ddeg, altitude_dm, battery_pm, received_after_us"

// The history's scales, PostgreSQL's too (so both stores round a fix
// alike): coordinates to 1e-7 degrees (about 1 cm), accuracy and altitude
// to 0.1 m, speed to 1 cm/s, heading to 0.1 degree, battery to 0.1 %.
const (
	perDegree      = 1e7
	perMetre       = 10
	perMetreSecond = 100
	perDegreeHead  = 10
	perPercent     = 10
)

// scaled is v in units of 1/scale, rounded half away from zero as
// SQLite's round() (migration 00019) does.
func scaled(v, scale float64) int64 { return int64(math.Round(v * scale)) }

// scaledOpt is scaled for a value that is unknown when negative: -1.
func scaledOpt(v, scale float64) int64 {
	if v < 0 {
		return -1
	}
	return scaled(v, scale)
}

// unscaled is v units of 1/scale: the float64 nearest the decimal, so
// 411496000 (1e-7 degrees) reads 41.1496.
func unscaled(v int64, scale float64) float64 { return float64(v) / scale }

// unscaledOpt is unscaled for a value stored -1 (any negative) when
// unknown, which reads -1.
func unscaledOpt(v int64, scale float64) float64 {
	if v < 0 {
		return -1
	}
	return unscaled(v, scale)
}

// appendRow appends p's values in positionCols' order.
func appendRow(args []any, p *enroute.Position) []any {
	ts := micros(p.Time)
	heading := scaledOpt(p.HeadingDeg, perDegreeHead)
	if heading == 360*perDegreeHead { // 359.95 and above round to north
		heading = 0
	}
	return append(args, p.TechnicianID, ts, p.DeviceID, scaled(p.Lat, perDegree), scaled(p.Lng, perDegree),
		scaledOpt(p.AccuracyM, perMetre), scaledOpt(p.SpeedMPS, perMetreSecond), heading,
		scaled(p.AltitudeM, perMetre), scaledOpt(p.Battery, perPercent), micros(p.ReceivedAt)-ts)
}

// scanPosition reads a row of positionCols into p.
func scanPosition(rows *sql.Rows, p *enroute.Position) error {
	var ts, lat, lng, accuracy, speed, heading, altitude, battery, after int64
	if err := rows.Scan(&p.TechnicianID, &ts, &p.DeviceID, &lat, &lng, &accuracy, &speed, &heading, &altitude, &battery, &after); err != nil {
		return err
	}
	p.Time, p.ReceivedAt = time.UnixMicro(ts).UTC(), time.UnixMicro(ts+after).UTC()
	p.Lat, p.Lng = unscaled(lat, perDegree), unscaled(lng, perDegree)
	p.AccuracyM, p.SpeedMPS = unscaledOpt(accuracy, perMetre), unscaledOpt(speed, perMetreSecond)
	p.HeadingDeg, p.AltitudeM = unscaledOpt(heading, perDegreeHead), unscaled(altitude, perMetre)
	p.Battery, p.Cell = unscaledOpt(battery, perPercent), 0
	return nil
}
