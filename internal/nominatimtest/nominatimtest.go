// Package nominatimtest is a stand-in for the Nominatim search API
// (OpenStreetMap's geocoder), the third-party service Enroute geocodes
// addresses with. It answers in Nominatim's real wire format (format=jsonv2
// with addressdetails=1: an array of places, coordinates as strings) and
// refuses what the public service would: a path other than /search, a
// method other than GET, no q, another format, and a missing or stock
// User-Agent. Tests script the answers per query: a house-number match, a
// street-only match, no result, 429 with Retry-After, 500.
//
// Concurrency: safe for concurrent use; it serves from httptest's
// goroutines.
package nominatimtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Place is a place the stand-in answers with.
type Place struct {
	Lat, Lon    float64
	Category    string // "building", "highway", "place"...
	Type        string
	PlaceRank   int
	AddressType string
	Name        string
	DisplayName string
	Address     map[string]string // house_number, road, city, postcode, country_code...
}

// Answer is one answer to a search: a status other than 200 (with
// RetryAfter seconds, if any), or the places found (none: no match),
// after Delay (a slow service).
type Answer struct {
	Status     int
	RetryAfter int
	Places     []Place
	Delay      time.Duration
}

// Slow is a, answered after d.
func Slow(d time.Duration, a Answer) Answer {
	a.Delay = d
	return a
}

// House is a match to the house number, as Nominatim gives an addressed
// building.
func House(lat, lon float64, number, road, city, postcode string) Answer {
	return Answer{Places: []Place{{
		Lat: lat, Lon: lon, Category: "building", Type: "yes", PlaceRank: 30, AddressType: "building",
		DisplayName: strings.Join([]string{number, road, city, "Cook County", "Illinois", postcode, "United States"}, ", "),
		Address: map[string]string{"house_number": number, "road": road, "city": city, "county": "Cook County", "state": "Illinois",
			"ISO3166-2-lvl4": "US-IL", "postcode": postcode, "country": "United States", "country_code": "us"},
	}}}
}

// Street is a match to the street only: what Nominatim answers for an
// address whose house number it does not know.
func Street(lat, lon float64, road, city, postcode string) Answer {
	return Answer{Places: []Place{{
		Lat: lat, Lon: lon, Category: "highway", Type: "secondary", PlaceRank: 26, AddressType: "road", Name: road,
		DisplayName: strings.Join([]string{road, city, "Cook County", "Illinois", postcode, "United States"}, ", "),
		Address: map[string]string{"road": road, "city": city, "county": "Cook County", "state": "Illinois",
			"ISO3166-2-lvl4": "US-IL", "postcode": postcode, "country": "United States", "country_code": "us"},
	}}}
}

// None is no match: an empty array.
func None() Answer { return Answer{} }

// TooMany is 429 Too Many Requests with Retry-After in seconds (0: none).
func TooMany(retryAfterS int) Answer {
	return Answer{Status: http.StatusTooManyRequests, RetryAfter: retryAfterS}
}

// Broken is 500 Internal Server Error.
func Broken() Answer { return Answer{Status: http.StatusInternalServerError} }

// Request is a search the stand-in answered.
type Request struct {
	Query     string
	UserAgent string
	Params    map[string]string
	At        time.Time
	Status    int
}

// Server is the stand-in.
type Server struct {
	URL string

	mu       sync.Mutex
	scripts  map[string][]Answer // by query; the last answer stays
	requests []Request
	errors   []string
}

// Start runs a stand-in, closed when the test ends. A query without a
// script finds nothing.
func Start(t testing.TB) *Server {
	s := &Server{scripts: map[string][]Answer{}}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Script sets the answers to the next searches for query (its q, exactly),
// in order; the last one then answers every later search.
func (s *Server) Script(query string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[query] = answers
}

// Requests returns the searches answered so far, for query ("" for all).
func (s *Server) Requests(query string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if query == "" || r.Query == query {
			out = append(out, r)
		}
	}
	return out
}

// Errors returns the requests the public service would refuse; a test
// fails on any.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

func (s *Server) refuse(w http.ResponseWriter, status int, msg string) {
	s.mu.Lock()
	s.errors = append(s.errors, msg)
	s.mu.Unlock()
	writeError(w, status, msg)
}

// writeError answers as Nominatim's API does for a bad request.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ua := r.Header.Get("User-Agent")
	switch {
	case r.URL.Path != "/search":
		s.refuse(w, http.StatusNotFound, "no endpoint "+r.URL.Path)
		return
	case r.Method != http.MethodGet:
		s.refuse(w, http.StatusMethodNotAllowed, "method "+r.Method)
		return
	case ua == "" || strings.HasPrefix(ua, "Go-http-client"):
		// The usage policy: "stock User-Agents as set by http libraries
		// will not do".
		s.refuse(w, http.StatusForbidden, "a User-Agent identifying the application is required, not "+ua)
		return
	case strings.TrimSpace(q.Get("q")) == "":
		s.refuse(w, http.StatusBadRequest, "Nothing to search for.")
		return
	case q.Get("format") != "jsonv2":
		s.refuse(w, http.StatusBadRequest, "want format=jsonv2, got "+q.Get("format"))
		return
	case q.Get("addressdetails") != "1":
		s.refuse(w, http.StatusBadRequest, "want addressdetails=1")
		return
	}
	query := q.Get("q")
	params := map[string]string{}
	for k := range q {
		params[k] = q.Get(k)
	}
	s.mu.Lock()
	var a Answer
	if script := s.scripts[query]; len(script) > 0 {
		a = script[0]
		if len(script) > 1 {
			s.scripts[query] = script[1:]
		}
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	s.requests = append(s.requests, Request{Query: query, UserAgent: ua, Params: params, At: time.Now(), Status: status})
	n := len(s.requests)
	s.mu.Unlock()
	if a.Delay > 0 {
		t := time.NewTimer(a.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up
			t.Stop()
			return
		}
	}

	switch status {
	case http.StatusOK:
	case http.StatusTooManyRequests:
		if a.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(a.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body><h1>429 Too Many Requests</h1></body></html>")
		return
	default:
		writeError(w, status, "stand-in failure")
		return
	}
	limit := len(a.Places)
	if l := q.Get("limit"); l == "1" {
		limit = min(limit, 1)
	}
	out := make([]map[string]any, 0, limit)
	for i, p := range a.Places[:limit] {
		out = append(out, map[string]any{
			"place_id":     100000 + n*10 + i,
			"licence":      "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
			"osm_type":     "way",
			"osm_id":       200000 + n*10 + i,
			"lat":          fmt.Sprintf("%.7f", p.Lat),
			"lon":          fmt.Sprintf("%.7f", p.Lon),
			"category":     p.Category,
			"type":         p.Type,
			"place_rank":   p.PlaceRank,
			"importance":   0.00000999999999995449,
			"addresstype":  p.AddressType,
			"name":         p.Name,
			"display_name": p.DisplayName,
			"address":      p.Address,
			"boundingbox": []string{fmt.Sprintf("%.7f", p.Lat-0.0001), fmt.Sprintf("%.7f", p.Lat+0.0001),
				fmt.Sprintf("%.7f", p.Lon-0.0001), fmt.Sprintf("%.7f", p.Lon+0.0001)},
		})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(out)
}
