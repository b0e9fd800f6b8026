package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

// importer is what importRows needs of one kind of record.
type importer[T any, U any] struct {
	table    string // its table, with an external_id column
	cols     string // what scan reads
	scan     func(scanner) (T, error)
	key      func(T) string    // a record's external id
	rowKey   func(U) *string   // a row's
	fresh    func() T          // a new record's defaults
	apply    func(U, T) T      // the row applied to a copy of the record
	same     func(a, b T) bool // unchanged by the row
	validate func(T) error     // the record's own rules
	stamp    func(t T, created, updated time.Time, id int64)
	id       func(T) int64
	insert   func(context.Context, T) error // sets the id
	update   func(context.Context, T) error
}

// importRows applies rows in one transaction: all of them, or none when
// one is invalid. Each row's external id finds its record among those
// stored with one (one query), so an import of N rows is N writes at
// most, and none for a row that changes nothing.
func importRows[T any, U any](ctx context.Context, s *Store, im importer[T, U], rows []U) (*enroute.ImportResult, error) {
	res := &enroute.ImportResult{}
	seen := make(map[string]int, len(rows))
	for i, r := range rows {
		ext := im.rowKey(r)
		if ext == nil || *ext == "" {
			return nil, enroute.Errorf(enroute.EINVALID, "Record %d has no external_id: an import finds records by it.", i+1)
		}
		if j, ok := seen[*ext]; ok {
			return nil, enroute.Errorf(enroute.EINVALID, "Records %d and %d have the same external_id.", j+1, i+1)
		}
		seen[*ext] = i
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		// Locked: a change committed meanwhile (a customer's STOP) is
		// either seen here or waits for the import, never written over
		// with what was read before it (PostgreSQL reads committed data
		// without locks; SQLite's writers take turns anyway).
		stored, err := list(ctx, s.q(ctx), "SELECT "+im.cols+" FROM "+im.table+" WHERE external_id IS NOT NULL"+s.d.ForUpdate, nil, im.scan)
		if err != nil {
			return fmt.Errorf("read %s: %w", im.table, err)
		}
		byExt := make(map[string]T, len(stored))
		for _, t := range stored {
			byExt[im.key(t)] = t
		}
		now := s.now()
		for i, r := range rows {
			old, ok := byExt[*im.rowKey(r)]
			if !ok {
				t := im.apply(r, im.fresh())
				if err := im.validate(t); err != nil {
					return rowError(i, err)
				}
				im.stamp(t, now, now, 0)
				if err := im.insert(ctx, t); err != nil {
					return err
				}
				res.Created++
				continue
			}
			t := im.apply(r, old)
			if im.same(old, t) {
				res.Unchanged++
				continue
			}
			if err := im.validate(t); err != nil {
				return rowError(i, err)
			}
			im.stamp(t, time.Time{}, now, im.id(old))
			if err := im.update(ctx, t); err != nil {
				return err
			}
			res.Updated++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// externalIDTaken turns a unique violation on a record's write into
// ECONFLICT: the only unique column of technicians and customers is
// external_id.
func (s *Store) externalIDTaken(err error, kind, ext string) error {
	if s.d.ConstraintOf(err) == Unique {
		return enroute.Errorf(enroute.ECONFLICT, "Another %s has the external_id %q.", kind, ext)
	}
	return err
}

// rowError names the row of an invalid record.
func rowError(i int, err error) error {
	if enroute.ErrorCode(err) == enroute.EINVALID {
		return &enroute.Error{Code: enroute.EINVALID, Message: fmt.Sprintf("Record %d: %s", i+1, enroute.ErrorMessage(err)), Fields: enroute.ErrorFields(err)}
	}
	return err
}
