package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// Locations and jobs are imported through the same rules as their API
// (a location's pin and verification, the geocoder, the location hooks; a
// job's customer and site), row by row inside one transaction: a row the
// store refuses rolls every row back, and is reported with its row.

// importRefs finds, in the store, the records an imported row names by
// their external ids, each looked up once.
type importRefs struct {
	s         *Server
	customers map[string]int64
	locations map[string]*enroute.Location
}

func (r *importRefs) customer(ctx context.Context, ext string) (int64, error) {
	if id, ok := r.customers[ext]; ok {
		return id, nil
	}
	cs, err := r.s.store.FindCustomers(ctx, enroute.CustomerFilter{ExternalID: &ext})
	if err != nil {
		return 0, err
	}
	var id int64
	if len(cs) == 1 {
		id = cs[0].ID
	}
	r.customers[ext] = id
	return id, nil
}

func (r *importRefs) location(ctx context.Context, ext string) (*enroute.Location, error) {
	if l, ok := r.locations[ext]; ok {
		return l, nil
	}
	ls, err := r.s.store.FindLocations(ctx, enroute.LocationFilter{ExternalID: &ext})
	if err != nil {
		return nil, err
	}
	var l *enroute.Location
	if len(ls) == 1 {
		l = ls[0]
	}
	r.locations[ext] = l
	return l, nil
}

// rowFailed turns what the store refused of one row into that row's
// errors, and anything else into itself.
func rowFailed(row int, err error) error {
	switch enroute.ErrorCode(err) {
	case enroute.EINVALID, enroute.ECONFLICT:
		var errs rowErrs
		errs.fields(row, err)
		return enroute.RowErrors(errs, 0)
	}
	return err
}

// locationRow is one row of a locations file.
type locationRow struct {
	row      int
	customer string
	upd      enroute.LocationUpdate
}

// importLocations is POST /api/v1/import/locations: a CSV with the columns
// external_id, customer_external_id and address, and optionally lat, lng
// (a pin: both or neither) and verified. A site without a pin is left to
// the geocoder, as one created through the API; a new address clears the
// pin the site had, unless the row gives one.
func (s *Server) importLocations(c echo.Context) error {
	f, err := readCSV(c, []string{"external_id", "customer_external_id", "address", "lat", "lng", "verified"}, []string{"external_id", "customer_external_id", "address"})
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var errs rowErrs
	seen := map[string]int{}
	rows := make([]locationRow, len(f.records))
	for i, rec := range f.records {
		r := &rows[i]
		r.row = i + 2
		u := &r.upd
		u.ExternalID, _ = f.cell(rec, "external_id")
		cust, _ := f.cell(rec, "customer_external_id")
		r.customer = *cust
		u.Address, _ = f.cell(rec, "address")
		lat, _ := f.cell(rec, "lat")
		lng, _ := f.cell(rec, "lng")
		u.Lat, u.Lng = errs.parseFloat(r.row, "lat", lat), errs.parseFloat(r.row, "lng", lng)
		if (u.Lat == nil) != (u.Lng == nil) {
			errs.add(r.row, "lng", "a pin needs both lat and lng")
		}
		verified, _ := f.cell(rec, "verified")
		u.Verified = errs.parseBool(r.row, "verified", verified)
		if *u.ExternalID == "" {
			errs.add(r.row, "external_id", "is required: a second import finds the first's records by it")
		} else {
			errs.unique(r.row, *u.ExternalID, seen)
		}
		if r.customer == "" {
			errs.add(r.row, "customer_external_id", "is required")
		}
		l := &enroute.Location{CustomerID: 1}
		u.Apply(l, s.now())
		l.InitVerification(s.now())
		errs.fields(r.row, l.Validate())
	}
	if err := enroute.RowErrors(errs, len(rows)); err != nil {
		return err
	}
	refs := &importRefs{s: s, customers: map[string]int64{}, locations: map[string]*enroute.Location{}}
	res := &enroute.ImportResult{}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		for _, r := range rows {
			custID, err := refs.customer(ctx, r.customer)
			if err != nil {
				return err
			}
			if custID == 0 {
				return enroute.RowErrors([]enroute.RowError{{Row: r.row, Column: "customer_external_id", Message: "no customer has this external_id"}}, 0)
			}
			old, err := refs.location(ctx, *r.upd.ExternalID)
			if err != nil {
				return err
			}
			var l *enroute.Location
			switch {
			case old == nil:
				l = &enroute.Location{CustomerID: custID}
				r.upd.Apply(l, s.now())
				if err := s.store.CreateLocation(ctx, l); err != nil {
					return rowFailed(r.row, err)
				}
				res.Created++
			case old.CustomerID != custID:
				return enroute.RowErrors([]enroute.RowError{{Row: r.row, Column: "customer_external_id", Message: "the site belongs to another customer: a site's customer never changes"}}, 0)
			case locationUnchanged(old, r.upd):
				res.Unchanged++
				continue
			default:
				if l, err = enroute.UpdateLocation(ctx, s.store, old.ID, r.upd, s.locHooks...); err != nil {
					return rowFailed(r.row, err)
				}
				res.Updated++
			}
			if l.Verification.Status == enroute.VerificationPending && s.geocoding != nil {
				s.store.AfterCommit(ctx, s.geocoding.Wake)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// locationUnchanged reports whether u would leave l as it is: the same
// address, and a pin and verification (when given) that l already has.
func locationUnchanged(l *enroute.Location, u enroute.LocationUpdate) bool {
	same := func(p *float64, v float64) bool { return p == nil || *p == v }
	return (u.Address == nil || *u.Address == l.Address) && same(u.Lat, l.Lat) && same(u.Lng, l.Lng) &&
		(u.Verified == nil || *u.Verified == l.Verified)
}

// importTime reads a window's time: RFC 3339, or a date and time of day
// ("2026-12-07 09:00") in the company's time zone, as spreadsheets write
// them.
func importTime(errs *rowErrs, row int, col string, v *string, tz *time.Location) *time.Time {
	if v == nil || *v == "" {
		errs.add(row, col, "is required")
		return nil
	}
	if t, err := time.Parse(time.RFC3339, *v); err == nil {
		return &t
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, *v, tz); err == nil {
			return &t
		}
	}
	errs.add(row, col, "must be a time: 2026-12-07 09:00 (the company's time zone) or 2026-12-07T09:00:00-06:00")
	return nil
}

// jobRow is one row of a jobs file.
type jobRow struct {
	row                int
	customer, location string
	upd                enroute.JobUpdate
}

// importJobs is POST /api/v1/import/jobs: a CSV with the columns
// external_id, number, customer_external_id, location_external_id,
// window_start and window_end, and optionally notes. A job's customer and
// site never change; the other columns update the job that the row's
// external_id finds.
func (s *Server) importJobs(c echo.Context) error {
	f, err := readCSV(c, []string{"external_id", "number", "customer_external_id", "location_external_id", "window_start", "window_end", "notes"},
		[]string{"external_id", "number", "customer_external_id", "location_external_id", "window_start", "window_end"})
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	co, err := s.store.FindCompany(ctx)
	if err != nil {
		return err
	}
	tz, err := time.LoadLocation(co.TimeZone)
	if err != nil {
		tz = time.UTC
	}
	var errs rowErrs
	seen := map[string]int{}
	rows := make([]jobRow, len(f.records))
	for i, rec := range f.records {
		r := &rows[i]
		r.row = i + 2
		u := &r.upd
		u.ExternalID, _ = f.cell(rec, "external_id")
		u.Number, _ = f.cell(rec, "number")
		cust, _ := f.cell(rec, "customer_external_id")
		loc, _ := f.cell(rec, "location_external_id")
		r.customer, r.location = *cust, *loc
		start, _ := f.cell(rec, "window_start")
		end, _ := f.cell(rec, "window_end")
		u.WindowStart = importTime(&errs, r.row, "window_start", start, tz)
		u.WindowEnd = importTime(&errs, r.row, "window_end", end, tz)
		u.Notes, _ = f.cell(rec, "notes")
		if *u.ExternalID == "" {
			errs.add(r.row, "external_id", "is required: a second import finds the first's records by it")
		} else {
			errs.unique(r.row, *u.ExternalID, seen)
		}
		for col, v := range map[string]string{"customer_external_id": r.customer, "location_external_id": r.location} {
			if v == "" {
				errs.add(r.row, col, "is required")
			}
		}
		if u.WindowStart != nil && u.WindowEnd != nil {
			j := &enroute.Job{CustomerID: 1, LocationID: 1}
			u.Apply(j)
			errs.fields(r.row, j.Validate())
		}
	}
	if err := enroute.RowErrors(errs, len(rows)); err != nil {
		return err
	}
	refs := &importRefs{s: s, customers: map[string]int64{}, locations: map[string]*enroute.Location{}}
	res := &enroute.ImportResult{}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		for _, r := range rows {
			bad := func(col, msg string) error {
				return enroute.RowErrors([]enroute.RowError{{Row: r.row, Column: col, Message: msg}}, 0)
			}
			custID, err := refs.customer(ctx, r.customer)
			if err != nil {
				return err
			} else if custID == 0 {
				return bad("customer_external_id", "no customer has this external_id")
			}
			loc, err := refs.location(ctx, r.location)
			if err != nil {
				return err
			} else if loc == nil {
				return bad("location_external_id", "no location has this external_id")
			}
			jobs, err := s.store.FindJobs(ctx, enroute.JobFilter{ExternalID: r.upd.ExternalID})
			if err != nil {
				return err
			}
			if len(jobs) == 0 {
				j := &enroute.Job{CustomerID: custID, LocationID: loc.ID}
				r.upd.Apply(j)
				if err := s.store.CreateJob(ctx, j); err != nil {
					return rowFailed(r.row, err)
				}
				res.Created++
				continue
			}
			old := jobs[0]
			switch {
			case old.CustomerID != custID || old.LocationID != loc.ID:
				return bad("location_external_id", fmt.Sprintf("job %s is at another site or for another customer: those never change", strconv.Quote(old.ExternalID)))
			case jobUnchanged(old, r.upd):
				res.Unchanged++
			default:
				if _, err := s.updateJob(ctx, old.ID, r.upd); err != nil {
					return rowFailed(r.row, err)
				}
				res.Updated++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// jobUnchanged reports whether u would leave j as it is.
func jobUnchanged(j *enroute.Job, u enroute.JobUpdate) bool {
	return *u.Number == j.Number && u.WindowStart.Equal(j.WindowStart) && u.WindowEnd.Equal(j.WindowEnd) &&
		(u.Notes == nil || *u.Notes == j.Notes)
}
