package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// claimIDs claims every due location and returns their IDs.
func claimIDs(t *testing.T, s enroute.Store) []int64 {
	t.Helper()
	ls, err := s.ClaimGeocoding(context.Background(), 100, time.Minute)
	must(t, err)
	var ids []int64
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

var house = &enroute.GeocodeMatch{Lat: 41.8743, Lng: -87.6571, Precision: enroute.PrecisionHouse, Name: "1200, West Harrison Street, Chicago"}

// testGeocoding: a location with an address and no pin waits for the
// geocoder, is claimed once at a time, and takes its outcome only while
// it still has that address and no dispatcher decided.
func testGeocoding(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	c := newCustomer(t, s)
	newPending := func(t *testing.T, address string) *enroute.Location {
		t.Helper()
		l := &enroute.Location{CustomerID: c.ID, Address: address}
		must(t, s.CreateLocation(ctx, l))
		v := l.Verification
		if v.Status != enroute.VerificationPending || v.Source != enroute.SourceGeocoder || v.NextAttemptAt == nil || l.Verified || l.Located() {
			t.Fatalf("new location without a pin = %+v", l)
		}
		got, err := s.FindLocationByID(ctx, l.ID)
		must(t, err)
		diff(t, got, l)
		return l
	}

	t.Run("RetryThenVerified", func(t *testing.T) {
		l := newPending(t, "1200 W Harrison St, Chicago, IL")
		diff(t, claimIDs(t, s), []int64{l.ID})
		if ids := claimIDs(t, s); len(ids) != 0 {
			t.Fatalf("claimed again while leased: %v", ids)
		}
		// The geocoder did not answer: still pending, due again (here at
		// once), the claim released.
		retry, err := s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{RetryAt: time.Now().Add(-time.Second)})
		must(t, err)
		if v := retry.Verification; v.Status != enroute.VerificationPending || v.Reason != enroute.ReasonGeocoderUnavailable || v.CheckedAt == nil || v.NextAttemptAt == nil || v.Attempts != 1 {
			t.Fatalf("after a retry = %+v", v)
		}
		ls, err := s.ClaimGeocoding(ctx, 10, time.Minute)
		must(t, err)
		if len(ls) != 1 || ls[0].ID != l.ID || ls[0].Verification.Attempts != 2 {
			t.Fatalf("claimed after the retry = %+v", ls)
		}
		done, err := s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{Match: house})
		must(t, err)
		v := done.Verification
		if !done.Verified || done.Lat != house.Lat || done.Lng != house.Lng || v.Status != enroute.VerificationVerified ||
			v.Source != enroute.SourceGeocoder || v.Match != house.Name || v.Reason != "" || v.NextAttemptAt != nil || v.CheckedAt == nil {
			t.Fatalf("verified = %+v", done)
		}
		got, err := s.FindLocationByID(ctx, l.ID)
		must(t, err)
		diff(t, got, done)
		if ids := claimIDs(t, s); len(ids) != 0 {
			t.Fatalf("claimed once settled: %v", ids)
		}
		_, err = s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{})
		wantCode(t, err, enroute.ECONFLICT)
	})

	t.Run("Coarse", func(t *testing.T) {
		street := newPending(t, "W Harrison St, Chicago")
		claimIDs(t, s)
		got, err := s.RecordGeocode(ctx, street.ID, street.Address, enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.66, Precision: enroute.PrecisionStreet, Name: "West Harrison Street"}})
		must(t, err)
		if v := got.Verification; got.Verified || got.Lat != 41.87 || v.Status != enroute.VerificationUnverified || v.Reason != "matched the street only" || v.Source != enroute.SourceGeocoder {
			t.Fatalf("street match = %+v", got)
		}
		none := newPending(t, "Nowhere 1")
		claimIDs(t, s)
		got, err = s.RecordGeocode(ctx, none.ID, none.Address, enroute.GeocodeResult{})
		must(t, err)
		if v := got.Verification; got.Verified || got.Located() || v.Status != enroute.VerificationUnverified || v.Reason != enroute.ReasonNoMatch {
			t.Fatalf("no match = %+v", got)
		}
	})

	t.Run("DispatcherWins", func(t *testing.T) {
		l := newPending(t, "1200 W Harrison St, Chicago, IL")
		diff(t, claimIDs(t, s), []int64{l.ID})
		// The dispatcher moves the pin and verifies it while the geocoder
		// works: the geocoder's answer, when it comes, changes nothing.
		manual, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{Lat: ptr(41.8745), Lng: ptr(-87.6575), Verified: ptr(true)})
		must(t, err)
		if v := manual.Verification; !manual.Verified || v.Status != enroute.VerificationManual || v.Source != enroute.SourceDispatcher {
			t.Fatalf("moved pin = %+v", manual)
		}
		_, err = s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{Match: house})
		wantCode(t, err, enroute.ECONFLICT)
		got, err := s.FindLocationByID(ctx, l.ID)
		must(t, err)
		diff(t, got, manual)
		// A new address clears the pin and asks the geocoder again, at
		// once; an answer for the old address is refused.
		moved, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{Address: ptr("1300 W Harrison St, Chicago, IL")})
		must(t, err)
		if v := moved.Verification; moved.Verified || moved.Located() || v.Status != enroute.VerificationPending || v.Attempts != 0 {
			t.Fatalf("new address = %+v", moved)
		}
		diff(t, claimIDs(t, s), []int64{l.ID})
		_, err = s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{Match: house})
		wantCode(t, err, enroute.ECONFLICT)
		_, err = s.RecordGeocode(ctx, l.ID, moved.Address, enroute.GeocodeResult{})
		must(t, err)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		// Verified needs a pin.
		wantCode(t, s.CreateLocation(ctx, &enroute.Location{CustomerID: c.ID, Address: "Rua A 1", Verified: true}), enroute.EINVALID)
		l := newPending(t, "Rua B 2")
		_, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{Verified: ptr(true)})
		wantCode(t, err, enroute.EINVALID)
		_, err = s.RecordGeocode(ctx, 999999, "x", enroute.GeocodeResult{})
		wantCode(t, err, enroute.ENOTFOUND)
		// A dispatcher may confirm the geocoder's coarse pin.
		claimIDs(t, s)
		_, err = s.RecordGeocode(ctx, l.ID, l.Address, enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.15, Lng: -8.61, Precision: enroute.PrecisionStreet}})
		must(t, err)
		ok, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{Verified: ptr(true)})
		must(t, err)
		if ok.Verification.Status != enroute.VerificationManual || ok.Lat != 41.15 {
			t.Fatalf("confirmed = %+v", ok)
		}
	})
}

// testGeocodingConcurrentClaims has workers race for pending locations:
// each is claimed once.
func testGeocodingConcurrentClaims(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	c := newCustomer(t, s)
	var want []int64
	for range 10 {
		l := &enroute.Location{CustomerID: c.ID, Address: "Rua de Santa Catarina 1, Porto"}
		must(t, s.CreateLocation(ctx, l))
		want = append(want, l.ID)
	}
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				ls, err := s.ClaimGeocoding(ctx, 2, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					return
				}
				mu.Lock()
				for _, l := range ls {
					got = append(got, l.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	diff(t, got, want)
}
