package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enroutehq/enroute"
)

// The history keeps each value to its scale and reads back the decimal:
// coordinates to 1e-7 degrees, accuracy and altitude to 0.1 m, speed to
// 1 cm/s, heading to 0.1 degree (359.95 and up is north), battery to
// 0.1 %; unknown values (negative) read -1; times to the microsecond, a
// reception before the fix's time (a phone's fast clock) too.
func TestPositionPrecision(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)
	in := []enroute.Position{
		{TechnicianID: 1, DeviceID: 1, Time: t0, Lat: 41.14961234567, Lng: -8.61099996, AccuracyM: 4.849999904632568,
			SpeedMPS: 12.344999, HeadingDeg: 359.96, AltitudeM: -12.34, Battery: 77.25, ReceivedAt: t0.Add(1500 * time.Microsecond)},
		{TechnicianID: 1, DeviceID: 1, Time: t0.Add(time.Second), Lat: -33.8688197, Lng: 151.2092955, AccuracyM: -1,
			SpeedMPS: -1, HeadingDeg: -1, AltitudeM: 0, Battery: -1, ReceivedAt: t0.Add(-2 * time.Second)},
		{TechnicianID: 2, DeviceID: 2, Time: t0, Lat: 89.99999999, Lng: -180, AccuracyM: 200, SpeedMPS: 200,
			HeadingDeg: 0.04, AltitudeM: 19999.99, Battery: 100, ReceivedAt: t0.Add(36 * time.Hour)},
	}
	want := []enroute.Position{
		{TechnicianID: 1, DeviceID: 1, Time: t0, Lat: 41.1496123, Lng: -8.611, AccuracyM: 4.8,
			SpeedMPS: 12.34, HeadingDeg: 0, AltitudeM: -12.3, Battery: 77.3, ReceivedAt: t0.Add(1500 * time.Microsecond)},
		{TechnicianID: 2, DeviceID: 2, Time: t0, Lat: 90, Lng: -180, AccuracyM: 200, SpeedMPS: 200,
			HeadingDeg: 0, AltitudeM: 20000, Battery: 100, ReceivedAt: t0.Add(36 * time.Hour)},
		{TechnicianID: 1, DeviceID: 1, Time: t0.Add(time.Second), Lat: -33.8688197, Lng: 151.2092955, AccuracyM: -1,
			SpeedMPS: -1, HeadingDeg: -1, AltitudeM: 0, Battery: -1, ReceivedAt: t0.Add(-2 * time.Second)},
	}
	for _, staged := range []bool{false, true} {
		t.Run(map[bool]string{false: "History", true: "Staged"}[staged], func(t *testing.T) {
			s := openTest(t)
			if staged {
				for i := range in {
					if err := s.InsertPositions(ctx, in[i:i+1]); err != nil {
						t.Fatal(err)
					}
				}
				if n := stagedRows(t, s); n != len(in) {
					t.Fatalf("%d staged, want %d", n, len(in))
				}
			} else if err := s.InsertPositions(ctx, in); err != nil {
				t.Fatal(err)
			}
			got, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("read back (-want +got):\n%s", d)
			}
		})
	}
}
