package enroute

import (
	"fmt"
	"sort"
)

// ImportResult is what an import did: how many records it created,
// updated and found already as they were (importing the same file twice
// changes nothing the second time).
type ImportResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// RowError is one invalid value of an imported file: its row (the header
// is row 1, as a spreadsheet numbers it), its column, and the problem.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// MaxRowErrors is how many row errors an import reports at most.
const MaxRowErrors = 100

// RowErrors returns an EINVALID error listing errs (sorted by row, then
// column; at most MaxRowErrors), or nil when there are none. Nothing of
// the file is imported.
func RowErrors(errs []RowError, rows int) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Row != errs[j].Row {
			return errs[i].Row < errs[j].Row
		}
		return errs[i].Column < errs[j].Column
	})
	bad := map[int]bool{}
	for _, e := range errs {
		bad[e.Row] = true
	}
	msg := fmt.Sprintf("%d of %d rows have errors; nothing was imported.", len(bad), rows)
	if len(bad) == 1 {
		msg = fmt.Sprintf("Row %d has errors; nothing was imported.", errs[0].Row)
	}
	if len(errs) > MaxRowErrors {
		errs = errs[:MaxRowErrors]
	}
	return &Error{Code: EINVALID, Message: msg, Rows: errs}
}
