package nominatim_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/nominatimtest"
	"github.com/enroutehq/enroute/nominatim"
)

const ua = "Enroute/test (https://enroute.test)"

// clock is a settable time for the client's cache and back-off.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClient(t *testing.T, srv *nominatimtest.Server, adjust ...func(*nominatim.Config)) (*nominatim.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	cfg := nominatim.Config{URL: srv.URL, UserAgent: ua, Now: clk.now}
	for _, f := range adjust {
		f(&cfg)
	}
	c, err := nominatim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if errs := srv.Errors(); len(errs) > 0 {
			t.Errorf("requests Nominatim would refuse: %v", errs)
		}
	})
	return c, clk
}

const (
	houseQ  = "1200 W Harrison St, Chicago, IL 60607"
	streetQ = "W Harrison St, Chicago, IL"
	noneQ   = "Nowhere Lane 99, Atlantis"
)

func TestGeocode(t *testing.T) {
	srv := nominatimtest.Start(t)
	srv.Script(houseQ, nominatimtest.House(41.8743, -87.6571, "1200", "West Harrison Street", "Chicago", "60607"))
	srv.Script(streetQ, nominatimtest.Street(41.8742, -87.6600, "West Harrison Street", "Chicago", "60607"))
	c, _ := newClient(t, srv, func(c *nominatim.Config) { c.Email = "ops@enroute.test"; c.CountryCodes = "us" })
	ctx := context.Background()

	t.Run("House", func(t *testing.T) {
		m, err := c.Geocode(ctx, houseQ)
		if err != nil {
			t.Fatal(err)
		}
		if m == nil || m.Precision != enroute.PrecisionHouse || m.Lat != 41.8743 || m.Lng != -87.6571 ||
			m.Name != "1200, West Harrison Street, Chicago, Cook County, Illinois, 60607, United States" {
			t.Fatalf("match = %+v", m)
		}
		r := srv.Requests(houseQ)
		if len(r) != 1 {
			t.Fatalf("requests = %v", r)
		}
		want := map[string]string{"q": houseQ, "format": "jsonv2", "addressdetails": "1", "limit": "1", "email": "ops@enroute.test", "countrycodes": "us"}
		for k, v := range want {
			if r[0].Params[k] != v {
				t.Errorf("param %s = %q, want %q", k, r[0].Params[k], v)
			}
		}
		if r[0].UserAgent != ua {
			t.Errorf("User-Agent = %q", r[0].UserAgent)
		}
	})
	t.Run("Street", func(t *testing.T) {
		m, err := c.Geocode(ctx, streetQ)
		if err != nil || m == nil || m.Precision != enroute.PrecisionStreet || m.Lat != 41.8742 {
			t.Fatalf("match = %+v, %v", m, err)
		}
	})
	t.Run("None", func(t *testing.T) {
		m, err := c.Geocode(ctx, noneQ)
		if err != nil || m != nil {
			t.Fatalf("match = %+v, %v", m, err)
		}
	})
}

func TestGeocodeUnavailable(t *testing.T) {
	srv := nominatimtest.Start(t)
	c, clk := newClient(t, srv)
	ctx := context.Background()

	t.Run("ErrServer", func(t *testing.T) {
		srv.Script("a", nominatimtest.Broken(), nominatimtest.House(1, 2, "1", "R", "C", "P"))
		_, err := c.Geocode(ctx, "a")
		var ge *enroute.GeocoderError
		if !errors.As(err, &ge) || ge.RetryAfter != 0 {
			t.Fatalf("err = %v", err)
		}
		// Errors are not cached: the next call asks again.
		if m, err := c.Geocode(ctx, "a"); err != nil || m == nil || m.Precision != enroute.PrecisionHouse {
			t.Fatalf("after the 500: %+v, %v", m, err)
		}
	})
	t.Run("ErrTooManyRequests", func(t *testing.T) {
		srv.Script("b", nominatimtest.TooMany(30), nominatimtest.House(1, 2, "1", "R", "C", "P"))
		_, err := c.Geocode(ctx, "b")
		var ge *enroute.GeocoderError
		if !errors.As(err, &ge) || ge.RetryAfter != 30*time.Second {
			t.Fatalf("err = %v", err)
		}
		// Until Retry-After has passed, nothing is asked of the service.
		before := len(srv.Requests(""))
		clk.add(10 * time.Second)
		_, err = c.Geocode(ctx, "c")
		if !errors.As(err, &ge) || ge.RetryAfter != 20*time.Second {
			t.Fatalf("while told to wait: %v", err)
		}
		if n := len(srv.Requests("")); n != before {
			t.Fatalf("%d requests while told to wait", n-before)
		}
		clk.add(20 * time.Second)
		if m, err := c.Geocode(ctx, "b"); err != nil || m == nil {
			t.Fatalf("after Retry-After: %+v, %v", m, err)
		}
	})
}

func TestGeocodeCache(t *testing.T) {
	srv := nominatimtest.Start(t)
	srv.Script(houseQ, nominatimtest.House(41.8743, -87.6571, "1200", "West Harrison Street", "Chicago", "60607"))
	c, clk := newClient(t, srv, func(c *nominatim.Config) { c.CacheSize = 2; c.CacheTTL = time.Hour })
	ctx := context.Background()
	asks := func() int { return len(srv.Requests("")) }

	m1, _ := c.Geocode(ctx, houseQ)
	m2, _ := c.Geocode(ctx, "  1200 w harrison st,   Chicago, IL 60607 ")
	if asks() != 1 || m1 == nil || m2 == nil || *m1 != *m2 {
		t.Fatalf("%d requests for one address; %+v, %+v", asks(), m1, m2)
	}
	m2.Lat = 0 // a caller's copy: the cache keeps its own
	if m, _ := c.Geocode(ctx, houseQ); m.Lat != 41.8743 {
		t.Fatalf("the cache was changed through a result: %+v", m)
	}
	// No match is an answer too.
	c.Geocode(ctx, noneQ)
	c.Geocode(ctx, noneQ)
	if asks() != 2 {
		t.Fatalf("%d requests, want 2", asks())
	}
	// Past the TTL, asked again.
	clk.add(time.Hour)
	c.Geocode(ctx, houseQ)
	if asks() != 3 {
		t.Fatalf("%d requests after the TTL, want 3", asks())
	}
	// Bounded: a third address pushes out the least recently used.
	c.Geocode(ctx, "third")
	c.Geocode(ctx, noneQ)
	if asks() != 5 {
		t.Fatalf("%d requests, want 5", asks())
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		url  string
		set  float64
		want float64
	}{
		{nominatim.PublicURL, 0, 1},
		{nominatim.PublicURL, 5, 1}, // never more than the usage policy allows
		{"https://NOMINATIM.openstreetmap.org/", 0.5, 0.5},
		{"http://nominatim.internal:8080", 0, math.Inf(1)},
		{"http://nominatim.internal:8080", 20, 20},
	} {
		c, err := nominatim.New(nominatim.Config{URL: tc.url, UserAgent: ua, RatePerSecond: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Rate(); got != tc.want {
			t.Errorf("%s at %v: rate %v, want %v", tc.url, tc.set, got, tc.want)
		}
	}
	for _, cfg := range []nominatim.Config{{UserAgent: ""}, {URL: "ftp://x", UserAgent: ua}, {URL: "nominatim", UserAgent: ua}} {
		if _, err := nominatim.New(cfg); err == nil {
			t.Errorf("New(%+v) took it", cfg)
		}
	}
}

// TestRateSpacesRequests: the limiter spaces the requests themselves,
// whoever asks.
func TestRateSpacesRequests(t *testing.T) {
	srv := nominatimtest.Start(t)
	c, _ := newClient(t, srv, func(c *nominatim.Config) { c.RatePerSecond = 20 })
	var wg sync.WaitGroup
	for _, q := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			if _, err := c.Geocode(context.Background(), q); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rs := srv.Requests("")
	if len(rs) != 4 {
		t.Fatalf("%d requests", len(rs))
	}
	// 20 a second: sent 50 ms apart, 150 ms from the first to the last.
	// They are timed on arrival, after each one's connection is made
	// (the first's took 14 ms longer once, on a loaded machine): a gap's
	// worth is allowed for that. Unpaced, the four arrive within a few
	// milliseconds.
	if span := rs[3].At.Sub(rs[0].At); span < 100*time.Millisecond {
		t.Fatalf("4 requests within %v at 20 a second", span)
	}
}

func TestPrecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    nominatim.Place
		want enroute.Precision
	}{
		{"building with a house number", nominatim.Place{Category: "building", Type: "yes", PlaceRank: 30, AddressType: "building", Address: map[string]string{"house_number": "1200", "road": "West Harrison Street"}}, enroute.PrecisionHouse},
		{"interpolated house", nominatim.Place{Category: "place", Type: "house", PlaceRank: 30, AddressType: "place"}, enroute.PrecisionHouse},
		{"shop without a number", nominatim.Place{Category: "shop", Type: "bakery", PlaceRank: 30, AddressType: "shop", Address: map[string]string{"road": "Rua de Santa Catarina"}}, enroute.PrecisionPlace},
		{"street", nominatim.Place{Category: "highway", Type: "residential", PlaceRank: 26, AddressType: "road", Address: map[string]string{"road": "Rua B"}}, enroute.PrecisionStreet},
		{"postcode", nominatim.Place{Category: "place", Type: "postcode", PlaceRank: 21, AddressType: "postcode"}, enroute.PrecisionPostcode},
		{"city", nominatim.Place{Category: "boundary", Type: "administrative", PlaceRank: 16, AddressType: "city"}, enroute.PrecisionCity},
		{"suburb", nominatim.Place{Category: "place", Type: "suburb", PlaceRank: 19, AddressType: "suburb"}, enroute.PrecisionCity},
		{"state", nominatim.Place{Category: "boundary", Type: "administrative", PlaceRank: 8, AddressType: "state"}, enroute.PrecisionArea},
	} {
		if got := tc.p.Precision(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
