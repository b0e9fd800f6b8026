package notify_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/sqlite"
)

// TestServiceUpdates: each settings tab refuses what it cannot save with
// the first problem it finds, in the words the settings screens show, and
// saves the rest.
func TestServiceUpdates(t *testing.T) {
	ptr := func(s string) *string { return &s }
	yes := true
	long := func(n int) *string { return ptr(strings.Repeat("é", n)) }
	invalid := func(field, problem string) *enroute.Error {
		return &enroute.Error{Code: enroute.EINVALID, Message: "Invalid " + field + ": " + problem + ".", Fields: map[string]string{field: problem}}
	}
	const phone = "must be a phone number: +14155550123, or as it is written in the company's country"
	noSMSNumber := &enroute.Error{Code: enroute.EINVALID,
		Message: "A default SMS number must be set up before text notifications can be enabled. Set from_number (Edit phone number) first.",
		Fields:  map[string]string{"from_number": "is required to enable text notifications"}}
	noFromAddress := &enroute.Error{Code: enroute.EINVALID, Message: "Set the from address before enabling e-mail notifications.",
		Fields: map[string]string{"from_address": "is required to enable e-mail notifications"}}
	noEmailProvider := &enroute.Error{Code: enroute.EINVALID,
		Message: "This server cannot send e-mail: it has no e-mail provider. Whoever runs the server sets ENROUTE_SMTP_URL and restarts it; then e-mail notifications can be enabled.",
		Fields:  map[string]string{"enabled": "this server cannot send e-mail: ENROUTE_SMTP_URL is not set"}}
	noGPS := &enroute.Error{Code: enroute.EINVALID,
		Message: "Native GPS must be set up before arrival tracking can be enabled: turn GPS on in the GPS settings (View GPS settings: PUT /api/v1/settings/gps) and register at least one technician device.",
		Fields:  map[string]string{"enabled": "native GPS is not set up"}}
	badToken := func(field string) *enroute.Error {
		msg := "Unknown token {Nope}. Known tokens: {CustomerName}, {CustomerFirstName}, {TechnicianName}, {TechnicianFirstName}, {CompanyName}, {CompanyPhone}, {JobNumber}, {ServiceAddress}, {ArrivalWindow}, {TechTrackingURL}, {NewETA}, {ETA}, {FeedbackURL}."
		return &enroute.Error{Code: enroute.EINVALID, Message: msg, Fields: map[string]string{field: msg}}
	}

	for _, tc := range []struct {
		name   string
		noMail bool // a server without an e-mail provider
		update func(context.Context, *notify.Service) error
		want   *enroute.Error // nil: saved
	}{
		{"Text/OK", false, text(enroute.TextUpdate{FromNumber: ptr("+13125550100"), Template: ptr("{CompanyName}: on the way."), Enabled: &yes}), nil},
		{"Text/ErrFromNumber", false, text(enroute.TextUpdate{FromNumber: ptr("555"), Template: ptr("")}), invalid("from_number", phone)},
		{"Text/ErrTemplateEmpty", false, text(enroute.TextUpdate{Template: ptr(" ")}), invalid("template", "is required")},
		{"Text/ErrTemplateLong", false, text(enroute.TextUpdate{Template: long(1601)}), invalid("template", "must be at most 1600 characters")},
		{"Text/TemplateLongest", false, text(enroute.TextUpdate{Template: long(1600)}), nil},
		{"Text/ErrTemplateToken", false, text(enroute.TextUpdate{Template: ptr("{Nope}")}), badToken("template")},
		{"Text/ErrTemplateBeforeEnabled", false, text(enroute.TextUpdate{Enabled: &yes, Template: ptr("")}), invalid("template", "is required")},
		{"Text/ErrEnabledNoNumber", false, text(enroute.TextUpdate{Enabled: &yes}), noSMSNumber},

		{"Email/OK", false, email(enroute.EmailUpdate{FromName: ptr("Cool Air"), FromAddress: ptr("dispatch@coolair.test"), Subject: ptr("{CompanyName}"), Body: ptr("Hi"), Enabled: &yes}), nil},
		{"Email/ErrFromAddress", false, email(enroute.EmailUpdate{FromAddress: ptr("dispatch"), FromName: ptr("a\nb")}), invalid("from_address", "must be an e-mail address, like dispatch@example.com")},
		{"Email/ErrFromNameLines", false, email(enroute.EmailUpdate{FromName: ptr("a\r\nBcc: x@example.com"), Subject: ptr("")}), invalid("from_name", "must be one line of at most 200 characters")},
		{"Email/ErrFromNameLong", false, email(enroute.EmailUpdate{FromName: ptr(strings.Repeat("a", 201))}), invalid("from_name", "must be one line of at most 200 characters")},
		{"Email/ErrSubjectEmpty", false, email(enroute.EmailUpdate{Subject: ptr(""), Body: ptr("")}), invalid("subject", "is required")},
		{"Email/ErrSubjectLong", false, email(enroute.EmailUpdate{Subject: long(301)}), invalid("subject", "must be at most 300 characters")},
		{"Email/ErrSubjectToken", false, email(enroute.EmailUpdate{Subject: ptr("{Nope}\n")}), badToken("subject")},
		{"Email/ErrSubjectLines", false, email(enroute.EmailUpdate{Subject: ptr("a\nb"), Body: ptr("")}), invalid("subject", "must be one line")},
		{"Email/ErrBodyEmpty", false, email(enroute.EmailUpdate{Body: ptr("\n")}), invalid("body", "is required")},
		{"Email/ErrBodyLong", false, email(enroute.EmailUpdate{Body: long(20001)}), invalid("body", "must be at most 20000 characters")},
		{"Email/BodyLongest", false, email(enroute.EmailUpdate{Body: long(20000)}), nil},
		{"Email/ErrBodyToken", false, email(enroute.EmailUpdate{Body: ptr("{Nope}")}), badToken("body")},
		{"Email/ErrEnabledNoAddress", false, email(enroute.EmailUpdate{Enabled: &yes}), noFromAddress},
		{"Email/ErrEnabledNoProvider", true, email(enroute.EmailUpdate{FromAddress: ptr("dispatch@coolair.test"), Enabled: &yes}), noEmailProvider},
		{"Email/ErrEnabledNoProviderNoAddress", true, email(enroute.EmailUpdate{Enabled: &yes}), noEmailProvider},
		{"Email/NoProviderDisabled", true, email(enroute.EmailUpdate{FromAddress: ptr("dispatch@coolair.test")}), nil},

		{"Tracking/OK", false, tracking(enroute.TrackingUpdate{ArrivalRadiusM: ptrTo(300.0), ArrivalDwellS: ptrTo(15)}), nil},
		{"Tracking/ErrRadius", false, tracking(enroute.TrackingUpdate{ArrivalRadiusM: ptrTo(-1.0)}), invalid("arrival_radius_m", "must be between 25 and 1000 metres")},
		{"Tracking/ErrBoth", false, tracking(enroute.TrackingUpdate{ArrivalRadiusM: ptrTo(1e9), ArrivalDwellS: ptrTo(-1), Enabled: &yes}),
			&enroute.Error{Code: enroute.EINVALID, Message: "Invalid input.", Fields: map[string]string{
				"arrival_radius_m": "must be between 25 and 1000 metres", "arrival_dwell_s": "must be between 15 and 900 seconds"}}},
		{"Tracking/ErrNoGPS", false, tracking(enroute.TrackingUpdate{Enabled: &yes}), noGPS},

		{"General/OK", false, func(ctx context.Context, s *notify.Service) error {
			_, err := s.UpdateGeneral(ctx, enroute.GeneralUpdate{LimitWhenMultipleTechs: &yes})
			return err
		}, nil},

		{"Late/OK", false, late(enroute.LateUpdate{Enabled: &yes, MarginMin: ptrTo(1440), TextTemplate: ptr("{NewETA}"), EmailSubject: ptr("Late"), EmailBody: ptr("{NewETA}")}), nil},
		{"Late/ErrMargin", false, late(enroute.LateUpdate{MarginMin: ptrTo(1441), TextTemplate: ptr("")}), invalid("margin_min", "must be between 0 and 1440 minutes")},
		{"Late/ErrMarginNegative", false, late(enroute.LateUpdate{MarginMin: ptrTo(-1)}), invalid("margin_min", "must be between 0 and 1440 minutes")},
		{"Late/ErrTextEmpty", false, late(enroute.LateUpdate{TextTemplate: ptr(""), EmailSubject: ptr("")}), invalid("text_template", "is required")},
		{"Late/ErrTextLong", false, late(enroute.LateUpdate{TextTemplate: long(1601)}), invalid("text_template", "must be at most 1600 characters")},
		{"Late/ErrTextToken", false, late(enroute.LateUpdate{TextTemplate: ptr("{Nope}")}), badToken("text_template")},
		{"Late/ErrSubjectEmpty", false, late(enroute.LateUpdate{EmailSubject: ptr(""), EmailBody: ptr("")}), invalid("email_subject", "is required")},
		{"Late/ErrSubjectLong", false, late(enroute.LateUpdate{EmailSubject: long(301)}), invalid("email_subject", "must be at most 300 characters")},
		{"Late/ErrSubjectLines", false, late(enroute.LateUpdate{EmailSubject: ptr("a\r")}), invalid("email_subject", "must be one line")},
		{"Late/ErrSubjectToken", false, late(enroute.LateUpdate{EmailSubject: ptr("{Nope}")}), badToken("email_subject")},
		{"Late/ErrBodyEmpty", false, late(enroute.LateUpdate{EmailBody: ptr("")}), invalid("email_body", "is required")},
		{"Late/ErrBodyLong", false, late(enroute.LateUpdate{EmailBody: long(20001)}), invalid("email_body", "must be at most 20000 characters")},
		{"Late/ErrBodyToken", false, late(enroute.LateUpdate{EmailBody: ptr("{Nope}")}), badToken("email_body")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "enroute.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			cfg := notify.Config{PublicURL: "https://enroute.test", SMSProvider: "twilio", EmailProvider: "smtp"}
			if tc.noMail {
				cfg.EmailProvider = ""
			}
			s := notify.NewService(store, cfg)
			before, err := s.DispatchSettings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.update(ctx, s)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("update = %v, want it saved", err)
				}
				return
			}
			var got *enroute.Error
			if !errors.As(err, &got) {
				t.Fatalf("update = %v, want %+v", err, tc.want)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			after, err := s.DispatchSettings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Fatalf("a refused update changed the settings (-before +after):\n%s", diff)
			}
		})
	}
}

func text(u enroute.TextUpdate) func(context.Context, *notify.Service) error {
	return func(ctx context.Context, s *notify.Service) error { _, err := s.UpdateText(ctx, u); return err }
}

func email(u enroute.EmailUpdate) func(context.Context, *notify.Service) error {
	return func(ctx context.Context, s *notify.Service) error { _, err := s.UpdateEmail(ctx, u); return err }
}

func tracking(u enroute.TrackingUpdate) func(context.Context, *notify.Service) error {
	return func(ctx context.Context, s *notify.Service) error { _, err := s.UpdateTracking(ctx, u); return err }
}

func late(u enroute.LateUpdate) func(context.Context, *notify.Service) error {
	return func(ctx context.Context, s *notify.Service) error { _, err := s.UpdateLate(ctx, u); return err }
}

func ptrTo[T any](v T) *T { return &v }
