// Package nominatim is Enroute's geocoder: a client of the Nominatim
// search API (OpenStreetMap's geocoder), the public service or one's own,
// in plain net/http. It implements enroute.Geocoder.
//
// It keeps to the public service's usage policy: a User-Agent naming the
// installation, at most one request a second (a self-hosted service sets
// its own rate), results cached, and no request at all while the service
// asked to be left alone (429 or 503 with Retry-After).
//
// Concurrency: a Client is safe for concurrent use; its rate limit, cache
// and back-off are shared by every caller.
package nominatim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/enroutehq/enroute"
)

// PublicURL is the public Nominatim service of the OpenStreetMap
// Foundation.
const PublicURL = "https://nominatim.openstreetmap.org"

// publicRate is the most the public service's usage policy allows: one
// request a second, for the whole installation.
const publicRate = 1

// Config configures a Client. Zero values mean the defaults.
type Config struct {
	// URL is the service's base URL (searches go to URL/search). Default
	// PublicURL.
	URL string
	// UserAgent identifies the installation, as the public service
	// requires: "Enroute/1.4 (https://track.example.com)". Required.
	UserAgent string
	// Email, if set, is sent as the email parameter: a contact the public
	// service's operators may write to.
	Email string
	// CountryCodes limits matches to these countries (ISO 3166-1 alpha-2,
	// comma-separated: "us,ca"); default anywhere.
	CountryCodes string
	// RatePerSecond is the most requests a second. Default 1 for the
	// public service, which never gets more; unlimited for another.
	RatePerSecond float64
	// CacheSize is how many addresses' answers are kept (default 1000),
	// and CacheTTL for how long (default 24 h). No answer (an error) is
	// cached.
	CacheSize int
	CacheTTL  time.Duration
	// HTTPClient makes the requests; default one with a 10 s timeout.
	HTTPClient *http.Client
	// Now returns the current time; tests replace it. Default time.Now.
	Now func() time.Time
}

// Client asks a Nominatim service where addresses are.
type Client struct {
	cfg     Config
	search  string // URL of the search endpoint
	limiter *rate.Limiter
	cache   *cache

	mu           sync.Mutex
	blockedUntil time.Time // the service asked for no requests before then
}

var _ enroute.Geocoder = (*Client)(nil)

// New returns a client. It returns an error for a URL that is not http(s)
// or a missing User-Agent.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = PublicURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("nominatim: invalid URL %q: want http(s)://host[/path]", cfg.URL)
	}
	if strings.TrimSpace(cfg.UserAgent) == "" {
		return nil, errors.New("nominatim: a User-Agent naming the installation is required")
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 24 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	limit := rate.Inf
	if cfg.RatePerSecond > 0 {
		limit = rate.Limit(cfg.RatePerSecond)
	}
	if IsPublic(cfg.URL) && (limit == rate.Inf || limit > publicRate) {
		limit = publicRate
	}
	return &Client{
		cfg:     cfg,
		search:  strings.TrimRight(cfg.URL, "/") + "/search",
		limiter: rate.NewLimiter(limit, 1),
		cache:   newCache(cfg.CacheSize, cfg.CacheTTL),
	}, nil
}

// IsPublic reports whether rawURL is the public service, whose usage
// policy allows one request a second.
func IsPublic(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && strings.EqualFold(u.Hostname(), "nominatim.openstreetmap.org")
}

// Rate is the most requests a second the client makes (+Inf: unlimited).
func (c *Client) Rate() float64 {
	if l := c.limiter.Limit(); l != rate.Inf {
		return float64(l)
	}
	return math.Inf(1)
}

// Geocode implements enroute.Geocoder: the best match for address
// (limit=1), from the cache when it was asked lately.
func (c *Client) Geocode(ctx context.Context, address string) (*enroute.GeocodeMatch, error) {
	key := cacheKey(address)
	if m, ok := c.cache.get(key, c.cfg.Now()); ok {
		return m, nil
	}
	c.mu.Lock()
	wait := c.blockedUntil.Sub(c.cfg.Now())
	c.mu.Unlock()
	if wait > 0 {
		return nil, &enroute.GeocoderError{RetryAfter: wait, Err: errors.New("the service asked to wait")}
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, &enroute.GeocoderError{Err: err}
	}
	m, err := c.ask(ctx, address)
	if err != nil {
		return nil, err
	}
	c.cache.put(key, m, c.cfg.Now())
	return clone(m), nil
}

// ask makes one request.
func (c *Client) ask(ctx context.Context, address string) (*enroute.GeocodeMatch, error) {
	q := url.Values{"q": {address}, "format": {"jsonv2"}, "addressdetails": {"1"}, "limit": {"1"}}
	if c.cfg.Email != "" {
		q.Set("email", c.cfg.Email)
	}
	if c.cfg.CountryCodes != "" {
		q.Set("countrycodes", c.cfg.CountryCodes)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.search+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("nominatim: %w", err)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "application/json")
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, &enroute.GeocoderError{Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, &enroute.GeocoderError{Err: fmt.Errorf("read the answer: %w", err)}
	}
	if res.StatusCode != http.StatusOK {
		e := &enroute.GeocoderError{Err: fmt.Errorf("HTTP %d", res.StatusCode)}
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = retryAfter(res.Header.Get("Retry-After"), c.cfg.Now())
			if e.RetryAfter > 0 {
				c.mu.Lock()
				c.blockedUntil = c.cfg.Now().Add(e.RetryAfter)
				c.mu.Unlock()
			}
		}
		return nil, e
	}
	var places []Place
	if err := json.Unmarshal(body, &places); err != nil {
		return nil, &enroute.GeocoderError{Err: fmt.Errorf("not a jsonv2 search answer: %w", err)}
	}
	if len(places) == 0 {
		return nil, nil
	}
	return places[0].match()
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Place is one result of a jsonv2 search with addressdetails=1, as far as
// Enroute reads it.
type Place struct {
	Lat         string            `json:"lat"` // strings, in every Nominatim format
	Lon         string            `json:"lon"`
	Category    string            `json:"category"` // jsonv2's name for json's class
	Type        string            `json:"type"`
	PlaceRank   int               `json:"place_rank"`
	AddressType string            `json:"addresstype"`
	DisplayName string            `json:"display_name"`
	Address     map[string]string `json:"address"`
}

// match turns p into a match.
func (p Place) match() (*enroute.GeocodeMatch, error) {
	lat, err1 := strconv.ParseFloat(p.Lat, 64)
	lng, err2 := strconv.ParseFloat(p.Lon, 64)
	if err := errors.Join(err1, err2); err != nil || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return nil, &enroute.GeocoderError{Err: fmt.Errorf("a place without valid coordinates (%q, %q)", p.Lat, p.Lon)}
	}
	return &enroute.GeocodeMatch{Lat: lat, Lng: lng, Precision: p.Precision(), Name: p.DisplayName}, nil
}

// cityTypes are the address types of a match to a settlement or a part of
// one.
var cityTypes = map[string]bool{
	"city": true, "town": true, "village": true, "hamlet": true, "municipality": true, "borough": true,
	"suburb": true, "quarter": true, "neighbourhood": true, "city_district": true, "district": true,
	"isolated_dwelling": true, "croft": true,
}

// Precision says how exactly p places the address: a house-number match
// (the address has a house number, or it is an interpolated or TIGER
// house, category place, type house) verifies it; anything coarser does
// not. Search ranks: 30 houses and points of interest, 26-27 streets,
// 13-25 settlements and their parts (postcodes among them), lower larger
// areas.
func (p Place) Precision() enroute.Precision {
	switch {
	case p.Address["house_number"] != "" || (p.Category == "place" && p.Type == "house"):
		return enroute.PrecisionHouse
	case p.AddressType == "postcode" || p.Type == "postcode":
		return enroute.PrecisionPostcode
	case p.PlaceRank >= 28:
		return enroute.PrecisionPlace
	case p.AddressType == "road" || p.Category == "highway" || p.PlaceRank >= 26:
		return enroute.PrecisionStreet
	case cityTypes[p.AddressType] || p.PlaceRank >= 13:
		return enroute.PrecisionCity
	}
	return enroute.PrecisionArea
}
