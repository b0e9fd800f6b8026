package sqlstore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/enroutehq/enroute/internal/sqlstore"
)

// driverError stands for a driver's error type.
type driverError struct{ code string }

func (e *driverError) Error() string { return "driver: " + e.code }

func TestConstraintCodes(t *testing.T) {
	of := sqlstore.ConstraintCodes(func(e *driverError) string { return e.code }, map[string]sqlstore.Constraint{
		"unique": sqlstore.Unique, "fk": sqlstore.ForeignKey,
	})
	for _, tc := range []struct {
		name string
		err  error
		want sqlstore.Constraint
	}{
		{"Nil", nil, sqlstore.NoConstraint},
		{"Code", &driverError{"unique"}, sqlstore.Unique},
		{"Wrapped", fmt.Errorf("insert job: %w", &driverError{"fk"}), sqlstore.ForeignKey},
		{"OtherCode", &driverError{"deadlock"}, sqlstore.NoConstraint},
		{"OtherType", errors.New("unique"), sqlstore.NoConstraint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := of(tc.err); got != tc.want {
				t.Fatalf("ConstraintOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
