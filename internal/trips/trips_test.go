package trips

import (
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	in := "trip_id,seq,t,lat,lon\na,0,100,41.1,-8.6\nb,0,50,1,2\na,1,115,41.2,-8.7\n"
	ts, err := Read(strings.NewReader(in), 2)
	if err != nil || len(ts) != 1 || ts[0].ID != "a" || len(ts[0].Fixes) != 2 || ts[0].Fixes[1].Lng != -8.7 || ts[0].Fixes[1].Time.Unix() != 115 {
		t.Fatalf("Read = %+v, %v", ts, err)
	}
	for _, bad := range []string{"", "h\na,0,x,1,2\n", "h\na,0\n"} {
		if _, err := Read(strings.NewReader(bad), 1); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
