// Package notify sends dispatch notifications: the settings tabs and their
// prerequisites, message templates and their tokens, the preview, the rules
// that decide who is told (the limit rule), the outbox worker that delivers
// through an SMS API and SMTP, and replies texted back (STOP, START, HELP).
//
// Concurrency: Service and Rules are safe for concurrent use; they keep no
// state of their own beyond their configuration. Worker is driven by one
// goroutine (Run) and may be woken from any.
package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// Config configures the Service.
type Config struct {
	// PublicURL is where customers reach the tracking page.
	PublicURL string
	// SMSProvider and EmailProvider name what the server sends texts and
	// e-mail with: "twilio" or "log" (development: it only logs), and
	// "smtp", "log" or "" (none: e-mail cannot be enabled). The settings
	// screens say what follows from them.
	SMSProvider, EmailProvider string
	// DeliveryReceipts says whether Twilio reports back what became of
	// each text (it needs a public URL it can reach); without, the Text
	// tab says so.
	DeliveryReceipts bool
}

// emailTransport says whether the server can take e-mail at all: one half
// of "an e-mail sender is configured"; the from address is the other.
func (c Config) emailTransport() bool { return c.EmailProvider != "" && c.EmailProvider != "none" }

// Service implements enroute.NotificationService.
type Service struct {
	store enroute.Store
	cfg   Config

	// ReplyHooks are told of each customer's reply, in the transaction
	// that stores it. Set them before the first request.
	ReplyHooks []enroute.ReplyHook
	// Wake, when set, runs once a queued message commits, so the outbox
	// worker sends it at once.
	Wake func()
}

var _ enroute.NotificationService = (*Service)(nil)

// NewService returns a Service over store.
func NewService(store enroute.Store, cfg Config) *Service {
	return &Service{store: store, cfg: cfg}
}

// DispatchSettings implements enroute.NotificationService.
func (s *Service) DispatchSettings(ctx context.Context) (*enroute.DispatchSettingsView, error) {
	st, err := s.store.FindSettings(ctx)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, st)
}

func (s *Service) view(ctx context.Context, st *enroute.Settings) (*enroute.DispatchSettingsView, error) {
	gps, err := s.gpsView(ctx, st)
	if err != nil {
		return nil, err
	}
	v := &enroute.DispatchSettingsView{DispatchSettings: st.Dispatch, TextFromNumberStatus: "missing", EmailSenderStatus: "missing", GPSReady: gps.Ready}
	if st.Dispatch.Text.FromNumber != "" {
		v.TextFromNumberStatus = "ok"
	}
	if st.Dispatch.Email.FromAddress != "" && s.cfg.emailTransport() {
		v.EmailSenderStatus = "ok"
	}
	v.SMSProvider, v.EmailProvider = s.cfg.SMSProvider, s.cfg.EmailProvider
	if !s.cfg.emailTransport() {
		v.EmailProvider = "none"
	}
	switch v.SMSProvider {
	case "log":
		v.SMSProviderNote = "This server only writes texts to its log (the development log provider): none reaches a customer. Whoever runs the server sets ENROUTE_SMS_PROVIDER=twilio and its Twilio account to send them."
	case "twilio":
		if !s.cfg.DeliveryReceipts {
			v.SMSProviderNote = "Texts are sent, but whether each one reaches the customer's phone is not reported: Twilio's delivery receipts need a server address Twilio can reach. Whoever runs the server sets ENROUTE_PUBLIC_URL to it."
		}
	case "":
		v.SMSProvider = "none"
	}
	switch v.EmailProvider {
	case "none":
		v.EmailProviderNote = "This server cannot send e-mail: it has no e-mail provider. Whoever runs the server sets ENROUTE_SMTP_URL (the mail provider's SMTP server) and restarts it; then e-mail notifications can be enabled."
	case "log":
		v.EmailProviderNote = "This server only writes e-mails to its log (the development log provider): none reaches a customer. Whoever runs the server sets ENROUTE_SMTP_URL to send them."
	}
	return v, nil
}

// Prerequisite errors, in the words of the settings screens.
var (
	errNoSMSNumber = func() error {
		msg := "A default SMS number must be set up before text notifications can be enabled. Set from_number (Edit phone number) first."
		return &enroute.Error{Code: enroute.EINVALID, Message: msg, Fields: map[string]string{"from_number": "is required to enable text notifications"}}
	}
	errNoGPS = func() error {
		msg := "Native GPS must be set up before arrival tracking can be enabled: turn GPS on in the GPS settings (View GPS settings: PUT /api/v1/settings/gps) and register at least one technician device."
		return &enroute.Error{Code: enroute.EINVALID, Message: msg, Fields: map[string]string{"enabled": "native GPS is not set up"}}
	}
)

// errNoEmailSender names what keeps e-mail notifications from being
// enabled: the server's missing e-mail provider first (the screen cannot
// fix it), else the missing from address.
func errNoEmailSender(transport bool) error {
	if !transport {
		return &enroute.Error{Code: enroute.EINVALID,
			Message: "This server cannot send e-mail: it has no e-mail provider. Whoever runs the server sets ENROUTE_SMTP_URL and restarts it; then e-mail notifications can be enabled.",
			Fields:  map[string]string{"enabled": "this server cannot send e-mail: ENROUTE_SMTP_URL is not set"}}
	}
	return &enroute.Error{Code: enroute.EINVALID, Message: "Set the from address before enabling e-mail notifications.",
		Fields: map[string]string{"from_address": "is required to enable e-mail notifications"}}
}

// UpdateText implements enroute.NotificationService.
func (s *Service) UpdateText(ctx context.Context, u enroute.TextUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		t := &st.Dispatch.Text
		set(&t.FromNumber, u.FromNumber)
		set(&t.Template, u.Template)
		set(&t.Enabled, u.Enabled)
		if t.FromNumber != "" && !enroute.ValidPhone(t.FromNumber) {
			return enroute.FieldErrors(map[string]string{"from_number": "must be a phone number: +14155550123, or as it is written in the company's country"})
		}
		if err := (templates{text: t.Template}).valid(templates{text: "template"}); err != nil {
			return err
		}
		if t.Enabled && t.FromNumber == "" {
			return errNoSMSNumber()
		}
		return nil
	})
}

// UpdateEmail implements enroute.NotificationService.
func (s *Service) UpdateEmail(ctx context.Context, u enroute.EmailUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		e := &st.Dispatch.Email
		set(&e.FromName, u.FromName)
		set(&e.FromAddress, u.FromAddress)
		set(&e.Subject, u.Subject)
		set(&e.Body, u.Body)
		set(&e.Enabled, u.Enabled)
		if e.FromAddress != "" && !enroute.ValidEmail(e.FromAddress) {
			return enroute.FieldErrors(map[string]string{"from_address": "must be an e-mail address, like dispatch@example.com"})
		}
		if strings.ContainsAny(e.FromName, "\r\n") || len(e.FromName) > 200 {
			return enroute.FieldErrors(map[string]string{"from_name": "must be one line of at most 200 characters"})
		}
		if err := (templates{subject: e.Subject, body: e.Body}).valid(templates{subject: "subject", body: "body"}); err != nil {
			return err
		}
		if e.Enabled && (e.FromAddress == "" || !s.cfg.emailTransport()) {
			return errNoEmailSender(s.cfg.emailTransport())
		}
		return nil
	})
}

// UpdateTracking implements enroute.NotificationService.
func (s *Service) UpdateTracking(ctx context.Context, u enroute.TrackingUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		tr := &st.Dispatch.Tracking
		set(&tr.Enabled, u.Enabled)
		set(&tr.AutoArrival, u.AutoArrival)
		set(&tr.ArrivalRadiusM, u.ArrivalRadiusM)
		set(&tr.ArrivalDwellS, u.ArrivalDwellS)
		set(&tr.VerificationCode, u.VerificationCode)
		set(&tr.FeedbackUpdatesRating, u.FeedbackUpdatesRating)
		bad := map[string]string{}
		if !(tr.ArrivalRadiusM >= enroute.MinArrivalRadiusM && tr.ArrivalRadiusM <= enroute.MaxArrivalRadiusM) {
			bad["arrival_radius_m"] = fmt.Sprintf("must be between %d and %d metres", enroute.MinArrivalRadiusM, enroute.MaxArrivalRadiusM)
		}
		if tr.ArrivalDwellS < enroute.MinArrivalDwellS || tr.ArrivalDwellS > enroute.MaxArrivalDwellS {
			bad["arrival_dwell_s"] = fmt.Sprintf("must be between %d and %d seconds", enroute.MinArrivalDwellS, enroute.MaxArrivalDwellS)
		}
		if len(bad) > 0 {
			return enroute.FieldErrors(bad)
		}
		if !st.Dispatch.Tracking.Enabled || u.Enabled == nil {
			return nil
		}
		gps, err := s.gpsView(ctx, st)
		if err != nil {
			return err
		} else if !gps.Ready {
			return errNoGPS()
		}
		return nil
	})
}

// UpdateGeneral implements enroute.NotificationService.
func (s *Service) UpdateGeneral(ctx context.Context, u enroute.GeneralUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		set(&st.Dispatch.General.LimitWhenMultipleTechs, u.LimitWhenMultipleTechs)
		set(&st.Dispatch.General.QuietHours, u.QuietHours)
		return st.Dispatch.General.QuietHours.Validate()
	})
}

// UpdateLate implements enroute.NotificationService.
func (s *Service) UpdateLate(ctx context.Context, u enroute.LateUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		l := &st.Dispatch.Late
		set(&l.Enabled, u.Enabled)
		set(&l.MarginMin, u.MarginMin)
		set(&l.TextTemplate, u.TextTemplate)
		set(&l.EmailSubject, u.EmailSubject)
		set(&l.EmailBody, u.EmailBody)
		if l.MarginMin < 0 || l.MarginMin > 24*60 {
			return enroute.FieldErrors(map[string]string{"margin_min": "must be between 0 and 1440 minutes"})
		}
		return templates{l.TextTemplate, l.EmailSubject, l.EmailBody}.valid(templates{"text_template", "email_subject", "email_body"})
	})
}

// UpdateMoment implements enroute.NotificationService.
func (s *Service) UpdateMoment(ctx context.Context, kind enroute.MessageKind, u enroute.MomentUpdate) (*enroute.DispatchSettingsView, error) {
	if kind == enroute.KindNearby {
		return s.UpdateNearby(ctx, enroute.NearbyUpdate{MomentUpdate: u})
	}
	return s.update(ctx, func(st *enroute.Settings) error {
		m := st.Dispatch.Moment(kind)
		if m == nil {
			return enroute.FieldErrors(map[string]string{"kind": "must be nearby, arrived, completed, cancelled or rescheduled"})
		}
		return applyMoment(m, u)
	})
}

// UpdateNearby implements enroute.NotificationService.
func (s *Service) UpdateNearby(ctx context.Context, u enroute.NearbyUpdate) (*enroute.DispatchSettingsView, error) {
	return s.update(ctx, func(st *enroute.Settings) error {
		n := &st.Dispatch.Nearby
		set(&n.Minutes, u.Minutes)
		if n.Minutes < enroute.MinNearbyMinutes || n.Minutes > enroute.MaxNearbyMinutes {
			return enroute.FieldErrors(map[string]string{"minutes": fmt.Sprintf("must be between %d and %d minutes", enroute.MinNearbyMinutes, enroute.MaxNearbyMinutes)})
		}
		return applyMoment(&n.MomentSettings, u.MomentUpdate)
	})
}

// UpdateLanguage implements enroute.NotificationService.
func (s *Service) UpdateLanguage(ctx context.Context, lang string, u enroute.LanguageUpdate) (*enroute.DispatchSettingsView, error) {
	if !enroute.ValidLanguage(lang) {
		return nil, enroute.FieldErrors(map[string]string{"language": "must be a language subtag in lower case, like es or pt"})
	}
	return s.update(ctx, func(st *enroute.Settings) error {
		ds := &st.Dispatch
		l, ok := ds.Languages[lang]
		if !ok { // new: every kind starts from the shipped or the company's own, to translate
			l = enroute.LanguageSettings{Templates: map[enroute.MessageKind]enroute.MessageTemplates{}}
			for _, k := range enroute.TemplateKinds {
				t, shipped := ds.LanguageTemplates(k, lang)
				if !shipped {
					t, _ = ds.Base(k)
				}
				l.Templates[k] = t
			}
		}
		set(&l.Enabled, u.Enabled)
		ts := make(map[enroute.MessageKind]enroute.MessageTemplates, len(l.Templates)+len(u.Templates))
		for k, t := range l.Templates {
			ts[k] = t
		}
		for k, t := range u.Templates {
			if _, ok := ds.Base(k); !ok {
				return enroute.FieldErrors(map[string]string{"templates." + string(k): "is not a kind of message: dispatch, late, nearby, arrived, completed, cancelled or rescheduled"})
			}
			name := "templates." + string(k) + "."
			if err := (templates{t.Text, t.EmailSubject, t.EmailBody}).valid(templates{name + "text_template", name + "email_subject", name + "email_body"}); err != nil {
				return err
			}
			ts[k] = t
		}
		l.Templates = ts
		if ds.Languages == nil {
			ds.Languages = map[string]enroute.LanguageSettings{}
		}
		ds.Languages[lang] = l
		return nil
	})
}

// DeleteLanguage implements enroute.NotificationService.
func (s *Service) DeleteLanguage(ctx context.Context, lang string) (*enroute.DispatchSettingsView, error) {
	if _, shipped := enroute.DefaultLanguages[lang]; shipped {
		return nil, enroute.Errorf(enroute.ECONFLICT, "The %s templates ship with Enroute: turn them off instead (enabled false).", lang)
	}
	return s.update(ctx, func(st *enroute.Settings) error {
		if _, ok := st.Dispatch.Languages[lang]; !ok {
			return enroute.Errorf(enroute.ENOTFOUND, "No %s templates.", lang)
		}
		delete(st.Dispatch.Languages, lang)
		return nil
	})
}

func applyMoment(m *enroute.MomentSettings, u enroute.MomentUpdate) error {
	set(&m.Enabled, u.Enabled)
	set(&m.TextTemplate, u.TextTemplate)
	set(&m.EmailSubject, u.EmailSubject)
	set(&m.EmailBody, u.EmailBody)
	return templates{m.TextTemplate, m.EmailSubject, m.EmailBody}.valid(templates{"text_template", "email_subject", "email_body"})
}

func (s *Service) update(ctx context.Context, fn func(*enroute.Settings) error) (*enroute.DispatchSettingsView, error) {
	var v *enroute.DispatchSettingsView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		st, err := s.store.UpdateSettings(ctx, fn)
		if err != nil {
			return err
		}
		v, err = s.view(ctx, st)
		return err
	})
	return v, err
}

// GPSSettings implements enroute.NotificationService. Native GPS is set up
// when it is turned on and at least one active technician has a device
// that is not revoked.
func (s *Service) GPSSettings(ctx context.Context) (*enroute.GPSSettingsView, error) {
	st, err := s.store.FindSettings(ctx)
	if err != nil {
		return nil, err
	}
	return s.gpsView(ctx, st)
}

func (s *Service) gpsView(ctx context.Context, st *enroute.Settings) (*enroute.GPSSettingsView, error) {
	active := map[int64]bool{}
	err := enroute.EachPage(enroute.MaxLimit, func(p enroute.Page) ([]*enroute.Technician, error) {
		return s.store.FindTechnicians(ctx, enroute.TechnicianFilter{Active: ptr(true), Page: p})
	}, func(t *enroute.Technician) error {
		active[t.ID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := &enroute.GPSSettingsView{GPSSettings: st.GPS}
	err = enroute.EachPage(enroute.MaxLimit, func(p enroute.Page) ([]*enroute.Device, error) {
		return s.store.FindDevices(ctx, enroute.DeviceFilter{Page: p})
	}, func(d *enroute.Device) error {
		if active[d.TechnicianID] {
			v.ActiveDevices++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v.Ready = st.GPS.Enabled && v.ActiveDevices > 0
	return v, nil
}

// UpdateGPS implements enroute.NotificationService.
func (s *Service) UpdateGPS(ctx context.Context, enabled bool) (*enroute.GPSSettingsView, error) {
	var v *enroute.GPSSettingsView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		st, err := s.store.UpdateSettings(ctx, func(st *enroute.Settings) error {
			if !enabled && st.Dispatch.Tracking.Enabled {
				return enroute.Errorf(enroute.ECONFLICT, "Arrival tracking needs native GPS; turn arrival tracking off first.")
			}
			st.GPS.Enabled = enabled
			return nil
		})
		if err != nil {
			return err
		}
		v, err = s.gpsView(ctx, st)
		return err
	})
	return v, err
}

// valid checks the templates of a settings tab, each as what it becomes
// (a text, an e-mail's subject, an e-mail's body: the dispatch and the
// running late tabs alike), and returns the first problem under the
// template's name on the wire in names. A template without a name is not on
// the tab and is not checked.
func (tpl templates) valid(names templates) error {
	for _, t := range []struct {
		name, src string
		maxRunes  int
		oneLine   bool
	}{
		{names.text, tpl.text, 1600, false},
		{names.subject, tpl.subject, 300, true},
		{names.body, tpl.body, 20000, false},
	} {
		switch {
		case t.name == "":
		case strings.TrimSpace(t.src) == "":
			return enroute.FieldErrors(map[string]string{t.name: "is required"})
		case len([]rune(t.src)) > t.maxRunes:
			return enroute.FieldErrors(map[string]string{t.name: fmt.Sprintf("must be at most %d characters", t.maxRunes)})
		default:
			if _, err := ParseTemplate(t.name, t.src); err != nil {
				return err
			}
			if t.oneLine && strings.ContainsAny(t.src, "\r\n") {
				return enroute.FieldErrors(map[string]string{t.name: "must be one line"})
			}
		}
	}
	return nil
}

// Preview implements enroute.NotificationService.
func (s *Service) Preview(ctx context.Context, r enroute.PreviewRequest) (*enroute.Preview, error) {
	st, err := s.store.FindSettings(ctx)
	if err != nil {
		return nil, err
	}
	ds := st.Dispatch
	sub, err := s.previewSubject(ctx, r.JobID)
	if err != nil {
		return nil, err
	}
	// The sample link is as long as a real one, so that the preview counts
	// the characters and segments the customer's text will have.
	link := ""
	if ds.Tracking.Enabled {
		link = TrackingURL(s.cfg.PublicURL, sampleToken)
	}
	// The saved templates of the kind asked for, in the language asked for
	// (the company's own when "", or when it has none of its own); running
	// late's NewETA is then the end of the window plus the margin and a
	// little more (the job's, or the sample's), nearby's ETA the minutes
	// from now.
	kind := r.Kind
	if kind == "" {
		kind = enroute.KindDispatch
	}
	if _, ok := ds.Base(kind); !ok {
		return nil, enroute.FieldErrors(map[string]string{"kind": "must be dispatch, late, nearby, arrived, completed, cancelled or rescheduled"})
	}
	if r.Language != "" && !enroute.ValidLanguage(r.Language) {
		return nil, enroute.FieldErrors(map[string]string{"language": "must be a language, like es"})
	}
	tpl := sub.templates(ds, kind)
	if r.Language != "" { // a language's own, on or off: the screen edits them
		t, ok := ds.LanguageTemplates(kind, r.Language)
		if !ok {
			t, _ = ds.Base(kind)
		}
		tpl, sub.lang = templates{t.Text, t.EmailSubject, t.EmailBody}, r.Language
	}
	text, subject, email := tpl.text, tpl.subject, tpl.body
	values := sub.values(link)
	switch kind {
	case enroute.KindLate:
		values[TokenNewETA] = clock(sub.job.WindowEnd.Add(time.Duration(ds.Late.MarginMin+12)*time.Minute), sub.company.TimeZone, sub.lang)
		values[TokenETA] = values[TokenNewETA]
	case enroute.KindNearby:
		values[TokenETA] = clock(time.Now().Add(time.Duration(ds.Nearby.Minutes)*time.Minute), sub.company.TimeZone, sub.lang)
	}
	values[TokenFeedbackURL] = TrackingURL(s.cfg.PublicURL, sampleToken)
	p := &enroute.Preview{Channel: r.Channel, Warnings: []string{}}
	var body *Template
	switch r.Channel {
	case enroute.ChannelSMS:
		src := text
		if r.Template != nil {
			src = *r.Template
		}
		if body, err = ParseTemplate("template", src); err != nil {
			return nil, err
		}
		p.Body = body.Text(values)
		info := SMSInfo(p.Body)
		p.SMS = &info
		if c, ok := FirstNonGSM(p.Body); ok {
			p.Warnings = append(p.Warnings, fmt.Sprintf("The character %q is not in the GSM-7 alphabet, so this text is sent as UCS-2: 70 characters per segment instead of 160.", c))
		}
		if info.Segments > 1 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("This text is %d segments long; each segment is billed as a text.", info.Segments))
		}
	case enroute.ChannelEmail:
		subjSrc, bodySrc := subject, email
		if r.Subject != nil {
			subjSrc = *r.Subject
		}
		if r.Template != nil {
			bodySrc = *r.Template
		}
		subj, err := ParseTemplate("subject", subjSrc)
		if err != nil {
			return nil, err
		}
		if body, err = ParseTemplate("body", bodySrc); err != nil {
			return nil, err
		}
		p.Subject, p.Body, p.HTML = subj.Text(values), body.Text(values), body.HTML(values)
		if subj.Has(TokenTechTrackingURL) {
			body = &Template{parts: append(append([]part{}, subj.parts...), body.parts...)}
		}
	default:
		return nil, enroute.FieldErrors(map[string]string{"channel": "must be sms or email"})
	}
	for _, tok := range []struct{ token, missing string }{
		{TokenCompanyPhone, "phone number"}, {TokenCompanyName, "name"},
	} {
		if body.Has(tok.token) && values[tok.token] == "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("The template uses {%s} but the company profile has no %s, so it will be blank (set it with PATCH /api/v1/company).", tok.token, tok.missing))
		}
	}
	if r.Kind != enroute.KindLate && body.Has(TokenNewETA) {
		p.Warnings = append(p.Warnings, "{NewETA} is filled in running-late messages only; here it is blank.")
	}
	if r.Kind != enroute.KindLate && r.Kind != enroute.KindNearby && body.Has(TokenETA) {
		p.Warnings = append(p.Warnings, "{ETA} is filled in nearby and running-late messages only; here it is blank.")
	}
	switch has := body.Has(TokenTechTrackingURL); {
	case ds.Tracking.Enabled && !has:
		p.Warnings = append(p.Warnings, "Arrival tracking is on but the template has no tracking URL token, so no link will be sent.")
	case !ds.Tracking.Enabled && has:
		p.Warnings = append(p.Warnings, "The template has a tracking URL token but arrival tracking is off, so no link will be sent.")
	}
	return p, nil
}

// previewSubject is the job's real data, or a sample with the company's own.
func (s *Service) previewSubject(ctx context.Context, jobID *int64) (subject, error) {
	company, err := s.store.FindCompany(ctx)
	if err != nil {
		return subject{}, err
	}
	if jobID == nil {
		start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
		return subject{
			company:  company,
			customer: &enroute.Customer{Name: "Jordan Smith"},
			tech:     &enroute.Technician{Name: "Alex Rivera"},
			job:      &enroute.Job{Number: "10234", WindowStart: start, WindowEnd: start.Add(2 * time.Hour)},
			location: &enroute.Location{Address: "123 Main St, Springfield"},
		}, nil
	}
	as, err := s.store.FindAssignments(ctx, enroute.AssignmentFilter{JobID: jobID})
	if err != nil {
		return subject{}, err
	}
	var techID int64 // the latest assignment's technician, or a sample
	if len(as) > 0 {
		techID = as[len(as)-1].TechnicianID
	}
	sub, err := load(ctx, s.store, *jobID, techID)
	if sub.tech == nil {
		sub.tech = &enroute.Technician{Name: "Alex Rivera"}
	}
	return sub, err
}

// Tokens implements enroute.NotificationService.
func (s *Service) Tokens() []enroute.TokenInfo { return Tokens }

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func ptr[T any](v T) *T { return &v }

// sampleToken stands for a tracking token in previews: as long as a real
// one (enroute.NewTrackingToken), so a previewed text counts what the
// customer's will.
var sampleToken = func() string {
	n := len(enroute.NewTrackingToken())
	return ("SAMPLE-LINK-" + strings.Repeat("0", n))[:n]
}()
