// Package trips reads recorded drives in the CSV layout of ../shared/data
// (trip_id,seq,t,lat,lon; t in Unix seconds): the load generator, the ETA
// evaluation, the demo and tests replay them.
package trips

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Fix is one recorded position.
type Fix struct {
	Time     time.Time
	Lat, Lng float64
}

// Trip is a recorded drive, fixes in order.
type Trip struct {
	ID    string
	Fixes []Fix
}

// Read reads every trip, in the order they first appear; trips with fewer
// than minFixes fixes are left out.
func Read(r io.Reader, minFixes int) ([]Trip, error) {
	cr := csv.NewReader(r)
	if _, err := cr.Read(); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	index := map[string]int{}
	var out []Trip
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if len(rec) < 5 {
			return nil, fmt.Errorf("line %d: want trip_id,seq,t,lat,lon", line)
		}
		t, err1 := strconv.ParseInt(rec[2], 10, 64)
		lat, err2 := strconv.ParseFloat(rec[3], 64)
		lng, err3 := strconv.ParseFloat(rec[4], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("line %d: bad number", line)
		}
		i, ok := index[rec[0]]
		if !ok {
			i = len(out)
			index[rec[0]] = i
			out = append(out, Trip{ID: rec[0]})
		}
		out[i].Fixes = append(out[i].Fixes, Fix{Time: time.Unix(t, 0).UTC(), Lat: lat, Lng: lng})
	}
	kept := out[:0]
	for _, t := range out {
		if len(t.Fixes) >= minFixes {
			kept = append(kept, t)
		}
	}
	return kept, nil
}
