package httpapi

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// importPath prefixes the import routes, whose files may be larger than
// other bodies (limitBody).
const importPath = "/api/v1/import/"

// maxImportRows bounds an import's rows.
const maxImportRows = 50_000

// csvFile is an imported file: its columns by name, and its records.
type csvFile struct {
	cols    map[string]int // column name -> index
	records [][]string
}

// cell returns a record's value in column name, and whether the file has
// that column.
func (f *csvFile) cell(rec []string, name string) (*string, bool) {
	i, ok := f.cols[name]
	if !ok {
		return nil, false
	}
	v := strings.TrimSpace(rec[i])
	return &v, true
}

// readCSV reads the request's CSV file: the body itself (text/csv), or
// the "file" field of a form upload (multipart/form-data, as the settings
// screen sends). The first row names the columns, in any order and any
// case; every column must be one of known, and required ones must be
// there.
func readCSV(c echo.Context, known, required []string) (*csvFile, error) {
	r := c.Request()
	var body io.Reader = r.Body
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		fh, err := c.FormFile("file")
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge(mbe.Limit)
			}
			return nil, enroute.FieldErrors(map[string]string{"file": "upload the CSV file as the form's file field"})
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		body = f
	case "text/csv", "application/csv", "text/plain", "":
	default:
		return nil, errorf(enroute.EINVALID, "Send the file as text/csv, or as multipart/form-data with a file field (got %s).", mt)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(mbe.Limit) // a file sent without its length
		}
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))) // a spreadsheet's byte order mark
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errorf(enroute.EINVALID, "The file is empty: its first row names the columns (%s).", strings.Join(known, ", "))
	}
	if err != nil {
		return nil, csvError(err)
	}
	f := &csvFile{cols: map[string]int{}}
	var errs []enroute.RowError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch _, dup := f.cols[name]; {
		case !slices.Contains(known, name):
			errs = append(errs, enroute.RowError{Row: 1, Column: h, Message: "unknown column; known: " + strings.Join(known, ", ")})
		case dup:
			errs = append(errs, enroute.RowError{Row: 1, Column: h, Message: "the column appears twice"})
		}
		f.cols[name] = i
	}
	for _, name := range required {
		if _, ok := f.cols[name]; !ok {
			errs = append(errs, enroute.RowError{Row: 1, Column: name, Message: "required column missing"})
		}
	}
	if err := enroute.RowErrors(errs, 0); err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(f.records) == maxImportRows {
			return nil, errorf(enroute.EINVALID, "The file has more than %d rows: split it.", maxImportRows)
		}
		f.records = append(f.records, rec)
	}
	return f, nil
}

// csvError says where a file stopped being CSV.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errorf(enroute.EINVALID, "The file is not valid CSV at row %d, column %d: %v.", pe.StartLine, pe.Column, pe.Err)
	}
	return err
}

// rowErrs collects an import's invalid values.
type rowErrs []enroute.RowError

func (e *rowErrs) add(row int, col, msg string) {
	*e = append(*e, enroute.RowError{Row: row, Column: col, Message: msg})
}

// fields adds a record's validation errors (by field: the columns have
// the fields' names).
func (e *rowErrs) fields(row int, err error) {
	if err == nil {
		return
	}
	fs := enroute.ErrorFields(err)
	if len(fs) == 0 {
		e.add(row, "", enroute.ErrorMessage(err))
	}
	for col, msg := range fs {
		e.add(row, col, msg)
	}
}

// unique reports rows whose external_id repeats an earlier row's.
func (e *rowErrs) unique(row int, ext string, seen map[string]int) {
	if first, ok := seen[ext]; ok {
		e.add(row, "external_id", fmt.Sprintf("repeats row %d", first))
		return
	}
	seen[ext] = row
}

// parseFloat reads an optional number ("" leaves it unset).
func (e *rowErrs) parseFloat(row int, col string, v *string) *float64 {
	if v == nil || *v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(*v, 64)
	if err != nil {
		e.add(row, col, "must be a number")
		return nil
	}
	return &f
}

// parseBool reads an optional yes/no ("" leaves it unset).
func (e *rowErrs) parseBool(row int, col string, v *string) *bool {
	if v == nil || *v == "" {
		return nil
	}
	switch strings.ToLower(*v) {
	case "true", "yes", "y", "1":
		b := true
		return &b
	case "false", "no", "n", "0":
		b := false
		return &b
	}
	e.add(row, col, "must be true or false")
	return nil
}

// importTechnicians is POST /api/v1/import/technicians: a CSV with the
// columns external_id and name, and optionally photo_url, rating and
// active. A column left out leaves that value as it is on a technician
// already imported (a new one gets the default); every row is checked
// before anything is written, and a file with any bad row imports
// nothing.
func (s *Server) importTechnicians(c echo.Context) error {
	f, err := readCSV(c, []string{"external_id", "name", "photo_url", "rating", "active"}, []string{"external_id", "name"})
	if err != nil {
		return err
	}
	var errs rowErrs
	seen := map[string]int{}
	rows := make([]enroute.TechnicianUpdate, len(f.records))
	for i, rec := range f.records {
		row := i + 2
		u := &rows[i]
		u.ExternalID, _ = f.cell(rec, "external_id")
		u.Name, _ = f.cell(rec, "name")
		u.PhotoURL, _ = f.cell(rec, "photo_url")
		rating, _ := f.cell(rec, "rating")
		u.Rating = errs.parseFloat(row, "rating", rating)
		active, _ := f.cell(rec, "active")
		u.Active = errs.parseBool(row, "active", active)
		if *u.ExternalID == "" {
			errs.add(row, "external_id", "is required: a second import finds the first's records by it")
		} else {
			errs.unique(row, *u.ExternalID, seen)
		}
		t := &enroute.Technician{Active: true}
		u.Apply(t)
		errs.fields(row, t.Validate())
	}
	if err := enroute.RowErrors(errs, len(rows)); err != nil {
		return err
	}
	res, err := s.store.ImportTechnicians(c.Request().Context(), rows)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// importCustomers is POST /api/v1/import/customers: a CSV with the
// columns external_id and name, and optionally phone (as people write it:
// read with the company's country), email and language, as
// importTechnicians. An import never changes whether a customer texted
// STOP.
func (s *Server) importCustomers(c echo.Context) error {
	f, err := readCSV(c, []string{"external_id", "name", "phone", "email", "language"}, []string{"external_id", "name"})
	if err != nil {
		return err
	}
	co, err := s.store.FindCompany(c.Request().Context())
	if err != nil {
		return err
	}
	var errs rowErrs
	seen := map[string]int{}
	rows := make([]enroute.CustomerUpdate, len(f.records))
	for i, rec := range f.records {
		row := i + 2
		u := &rows[i]
		u.ExternalID, _ = f.cell(rec, "external_id")
		u.Name, _ = f.cell(rec, "name")
		u.Phone, _ = f.cell(rec, "phone")
		if u.Phone != nil {
			*u.Phone = phone.Normalize(*u.Phone, co.Locale)
		}
		u.Email, _ = f.cell(rec, "email")
		if lang, ok := f.cell(rec, "language"); ok && *lang != "" {
			u.Language = lang
		}
		if *u.ExternalID == "" {
			errs.add(row, "external_id", "is required: a second import finds the first's records by it")
		} else {
			errs.unique(row, *u.ExternalID, seen)
		}
		cu := &enroute.Customer{Language: "en"}
		u.Apply(cu)
		errs.fields(row, cu.Validate())
	}
	if err := enroute.RowErrors(errs, len(rows)); err != nil {
		return err
	}
	res, err := s.store.ImportCustomers(c.Request().Context(), rows)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
