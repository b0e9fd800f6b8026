package enroute_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
)

func TestValidPhone(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"+14155550123", true},
		{"+351912345678", true},
		{"14155550123", false},
		{"+0155550123", false},
		{"+1 415 555 0123", false},
		{"+1415555012345678", false},
		{"", false},
	} {
		if got := enroute.ValidPhone(tc.in); got != tc.want {
			t.Errorf("ValidPhone(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidEmail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"maria@example.com", true},
		{"a.b+c@sub.example.pt", true},
		{"Maria <maria@example.com>", false},
		{"maria@", false},
		{"maria", false},
		{strings.Repeat("a", 250) + "@x.pt", false},
	} {
		if got := enroute.ValidEmail(tc.in); got != tc.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidMQTTIdentity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ana/pixel", true},
		{"ana.silva/Pixel-8_a", true},
		{"joão/telemóvel", true},
		{strings.Repeat("a", 64) + "/" + strings.Repeat("é", 64), true},
		{strings.Repeat("a", 65) + "/pixel", false},
		{"ana", false},
		{"ana/", false},
		{"/pixel", false},
		{"owntracks/ana/pixel", false},
		{"ana/+", false},
		{"#/pixel", false},
		{"ana /pixel", false},
		{"ana/pi\x00xel", false},
		{"ana/\xff", false},
		{"", false},
	} {
		if got := enroute.ValidMQTTIdentity(tc.in); got != tc.want {
			t.Errorf("ValidMQTTIdentity(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzValidMQTTIdentity: what passes is two non-empty topic levels that
// match themselves only (no wildcard), as a device's topic needs.
func FuzzValidMQTTIdentity(f *testing.F) {
	for _, s := range []string{"ana/pixel", "owntracks/ana/pixel", "ana/+", "a/b/c", "é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !enroute.ValidMQTTIdentity(s) {
			return
		}
		user, device, _ := strings.Cut(s, "/")
		if user == "" || device == "" || strings.ContainsAny(s, "+#\x00 ") || strings.Count(s, "/") != 1 || !utf8.ValidString(s) {
			t.Fatalf("ValidMQTTIdentity(%q) = true", s)
		}
	})
}

func TestTechnicianValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tech  enroute.Technician
		field string
	}{
		{"OK", enroute.Technician{Name: "Ana", Rating: 4.8, PhotoURL: "https://x.pt/a.jpg"}, ""},
		{"Zero", enroute.Technician{Name: "Ana", Rating: 0}, ""},
		{"Five", enroute.Technician{Name: "Ana", Rating: 5}, ""},
		{"NoName", enroute.Technician{Rating: 4}, "name"},
		{"TooHigh", enroute.Technician{Name: "Ana", Rating: 5.1}, "rating"},
		{"Negative", enroute.Technician{Name: "Ana", Rating: -0.1}, "rating"},
		{"TwoDecimals", enroute.Technician{Name: "Ana", Rating: 4.05}, "rating"},
		{"NaN", enroute.Technician{Name: "Ana", Rating: math.NaN()}, "rating"},
		{"BadPhotoURL", enroute.Technician{Name: "Ana", PhotoURL: "file:///etc/passwd"}, "photo_url"},
		{"TooLong", enroute.Technician{Name: strings.Repeat("a", 201)}, "name"},
		{"BadUTF8", enroute.Technician{Name: "\xff"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.tech.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if enroute.ErrorCode(err) != enroute.EINVALID || enroute.ErrorFields(err)[tc.field] == "" {
				t.Fatalf("Validate() = %v (fields %v), want %s invalid", err, enroute.ErrorFields(err), tc.field)
			}
		})
	}
}

func TestStatusTransitions(t *testing.T) {
	all := []enroute.AssignmentStatus{enroute.StatusScheduled, enroute.StatusDispatched, enroute.StatusWorking, enroute.StatusDone, enroute.StatusCancelled}
	allowed := map[[2]enroute.AssignmentStatus]bool{
		{enroute.StatusScheduled, enroute.StatusDispatched}: true,
		{enroute.StatusDispatched, enroute.StatusWorking}:   true,
		{enroute.StatusWorking, enroute.StatusDone}:         true,
		{enroute.StatusScheduled, enroute.StatusCancelled}:  true,
		{enroute.StatusDispatched, enroute.StatusCancelled}: true,
		{enroute.StatusWorking, enroute.StatusCancelled}:    true,
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				a := &enroute.Assignment{Status: from}
				err := a.Transition(to, now)
				if want := allowed[[2]enroute.AssignmentStatus{from, to}]; want != (err == nil) {
					t.Fatalf("Transition = %v, allowed %v", err, want)
				} else if err != nil {
					if enroute.ErrorCode(err) != enroute.EINVALID || a.Status != from {
						t.Fatalf("refused move changed state or has code %s", enroute.ErrorCode(err))
					}
					return
				}
				if a.Status != to || !a.UpdatedAt.Equal(now) {
					t.Fatalf("after move = %+v", a)
				}
			})
		}
	}
}

func TestErrors(t *testing.T) {
	wrapped := fmt.Errorf("find job 1: %w", enroute.Errorf(enroute.ENOTFOUND, "Job 1 not found."))
	if enroute.ErrorCode(wrapped) != enroute.ENOTFOUND || enroute.ErrorMessage(wrapped) != "Job 1 not found." {
		t.Fatalf("wrapped = %s %q", enroute.ErrorCode(wrapped), enroute.ErrorMessage(wrapped))
	}
	other := errors.New("connection reset by peer 10.0.0.1")
	if enroute.ErrorCode(other) != enroute.EINTERNAL || enroute.ErrorMessage(other) != "Internal error." {
		t.Fatal("internal errors must not leak their text")
	}
	if enroute.ErrorCode(nil) != "" || enroute.FieldErrors(nil) != nil {
		t.Fatal("nil error has a code")
	}
}

func TestSecrets(t *testing.T) {
	a, b := enroute.NewAPIKeySecret(), enroute.NewAPIKeySecret()
	if a == b || len(a) != len(enroute.APIKeyPrefix)+43 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if id := enroute.NewDeviceIdentifier(); len(id) < 20 || !strings.HasPrefix(id, enroute.DeviceIDPrefix) {
		t.Fatalf("identifier %q", id)
	}
	if string(enroute.HashSecret(a)) == string(enroute.HashSecret(b)) || len(enroute.HashSecret(a)) != 32 {
		t.Fatal("hashes")
	}
}

func TestPageNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want enroute.Page }{
		{enroute.Page{}, enroute.Page{Limit: enroute.DefaultLimit}},
		{enroute.Page{Limit: 5000, Offset: -1}, enroute.Page{Limit: enroute.MaxLimit}},
		{enroute.Page{Limit: 7, Offset: 3}, enroute.Page{Limit: 7, Offset: 3}},
	} {
		if got := tc.in.Normalize(); got != tc.want {
			t.Errorf("%+v.Normalize() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestEachPage(t *testing.T) {
	for _, n := range []int{0, 4, 5} { // none, whole pages, a short last page
		items := make([]int, n)
		for i := range items {
			items[i] = i
		}
		var got []int
		calls := 0
		err := enroute.EachPage(2, func(p enroute.Page) ([]int, error) {
			calls++
			return items[min(p.Offset, n):min(p.Offset+p.Limit, n)], nil
		}, func(x int) error { got = append(got, x); return nil })
		if err != nil || len(got) != n || calls != n/2+1 {
			t.Fatalf("%d items: got %v in %d calls, %v", n, got, calls, err)
		}
		for i, x := range got {
			if x != i {
				t.Fatalf("%d items: got %v", n, got)
			}
		}
	}
	stop := errors.New("stop")
	seen := 0
	err := enroute.EachPage(2, func(p enroute.Page) ([]int, error) { return []int{1, 2}, nil }, func(int) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if err != stop || seen != 3 {
		t.Fatalf("an error from fn: %v after %d", err, seen)
	}
}

func TestDeliveryStatusRank(t *testing.T) {
	order := []enroute.DeliveryStatus{enroute.DeliveryQueued, enroute.DeliverySending, enroute.DeliverySent, enroute.DeliveryDelivered}
	for i := 1; i < len(order); i++ {
		if order[i].Rank() <= order[i-1].Rank() {
			t.Errorf("%s does not come after %s", order[i], order[i-1])
		}
	}
	for _, final := range []enroute.DeliveryStatus{enroute.DeliveryUndelivered, enroute.DeliveryFailed} {
		if final.Rank() != enroute.DeliveryDelivered.Rank() {
			t.Errorf("%s is not final", final)
		}
	}
	for _, other := range []enroute.DeliveryStatus{"", "accepted", "read", "DELIVERED"} {
		if other.Rank() != 0 {
			t.Errorf("%q has rank %d", other, other.Rank())
		}
	}
	if len(enroute.DeliveryStatuses) != 6 {
		t.Errorf("DeliveryStatuses = %v", enroute.DeliveryStatuses)
	}
}

func TestCarrierError(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{
		{0, ""},
		{30003, "unreachable"},
		{30005, "unknown number"},
		{30006, "landline"},
		{30007, "filtered"},
		{30034, "not registered for US A2P 10DLC"},
		{30410, "carrier error 30410"},
	} {
		got := enroute.CarrierError(tc.code)
		if !strings.Contains(got, tc.want) || (tc.code != 0 && !strings.HasSuffix(got, fmt.Sprintf("carrier error %d)", tc.code)) && got != fmt.Sprintf("carrier error %d", tc.code)) {
			t.Errorf("CarrierError(%d) = %q, want it to say %q", tc.code, got, tc.want)
		}
	}
}
