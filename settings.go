package enroute

import (
	"context"
	"time"
)

// Settings is the company's configuration that administrators change on
// the settings screens. It is stored as one document.
type Settings struct {
	GPS      GPSSettings      `json:"gps"`
	Dispatch DispatchSettings `json:"dispatch"`
}

// GPSSettings: native GPS lets technicians' phones report their position.
type GPSSettings struct {
	Enabled bool `json:"enabled"`
}

// DispatchSettings mirrors the tabs of the Dispatch Notifications screen.
type DispatchSettings struct {
	Text     TextSettings     `json:"text"`
	Email    EmailSettings    `json:"email"`
	Tracking TrackingSettings `json:"tracking"`
	General  GeneralSettings  `json:"general"`
	Late     LateSettings     `json:"late"`
	// The moments of a visit after the dispatch, each its own tab: the
	// technician nearly there, arrived, the visit completed, and a
	// visit the customer was told of cancelled or moved.
	Nearby      NearbySettings `json:"nearby"`
	Arrived     MomentSettings `json:"arrived"`
	Completed   MomentSettings `json:"completed"`
	Cancelled   MomentSettings `json:"cancelled"`
	Rescheduled MomentSettings `json:"rescheduled"`
	// Languages are the templates in other languages than the company's,
	// by primary language subtag ("es"): a customer whose language is one
	// that is on gets them (Templates).
	Languages map[string]LanguageSettings `json:"languages"`
}

// MomentSettings is the tab of one moment of a visit: whether the
// customer hears of it, and what they are told, on the channels dispatch
// notifications use (each message at most once per assignment).
type MomentSettings struct {
	Enabled      bool   `json:"enabled"`
	TextTemplate string `json:"text_template"`
	EmailSubject string `json:"email_subject"`
	EmailBody    string `json:"email_body"`
}

// NearbySettings is the Nearby tab: the message goes when the ETA first
// drops under Minutes.
type NearbySettings struct {
	MomentSettings
	Minutes int `json:"minutes"`
}

// Bounds of the nearby threshold.
const MinNearbyMinutes, MaxNearbyMinutes = 1, 60

// Moment returns the settings of a moment's kind, nil for another kind.
func (d *DispatchSettings) Moment(k MessageKind) *MomentSettings {
	switch k {
	case KindNearby:
		return &d.Nearby.MomentSettings
	case KindArrived:
		return &d.Arrived
	case KindCompleted:
		return &d.Completed
	case KindCancelled:
		return &d.Cancelled
	case KindRescheduled:
		return &d.Rescheduled
	}
	return nil
}

// LateSettings is the Running Late tab: when the ETA passes the end of the
// job's arrival window by more than MarginMin minutes, the customer gets
// one message, on the channels dispatch notifications use.
type LateSettings struct {
	Enabled      bool   `json:"enabled"`
	MarginMin    int    `json:"margin_min"`
	TextTemplate string `json:"text_template"`
	EmailSubject string `json:"email_subject"`
	EmailBody    string `json:"email_body"`
}

// TextSettings is the Text tab: the default outbound SMS number, the
// message template, and whether dispatch texts are sent.
type TextSettings struct {
	FromNumber string `json:"from_number"`
	Template   string `json:"template"`
	Enabled    bool   `json:"enabled"`
}

// EmailSettings is the Email tab.
type EmailSettings struct {
	FromName    string `json:"from_name"`
	FromAddress string `json:"from_address"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	Enabled     bool   `json:"enabled"`
}

// TrackingSettings is the Arrival Tracking tab: whether dispatch messages
// carry a link to the live tracking page, and whether a technician who
// reaches a verified address is marked arrived (working) automatically.
type TrackingSettings struct {
	Enabled     bool `json:"enabled"`
	AutoArrival bool `json:"auto_arrival"`
	// A technician counts as arrived within ArrivalRadiusM of a verified
	// address for ArrivalDwellS seconds, or stopped within 125 m of it.
	ArrivalRadiusM float64 `json:"arrival_radius_m"`
	ArrivalDwellS  int     `json:"arrival_dwell_s"`
	// VerificationCode shows the assignment's code on the tracking page
	// (Assignment.VerificationCode), for the customer to ask for at the
	// door. Off by default.
	VerificationCode bool `json:"verification_code"`
	// FeedbackUpdatesRating lets the customers' feedback feed the
	// technician's rating (EffectiveRating). Off by default: the rating is
	// the one an administrator sets.
	FeedbackUpdatesRating bool `json:"feedback_updates_rating"`
}

// Bounds of the arrival rule: closer than GPS can tell, or so far or so
// long that a drive past or a wait nearby would count, are refused.
const (
	MinArrivalRadiusM, MaxArrivalRadiusM = 25, 1000
	MinArrivalDwellS, MaxArrivalDwellS   = 15, 900
)

// GeneralSettings is the Settings tab.
type GeneralSettings struct {
	// LimitWhenMultipleTechs suppresses a dispatch notification while
	// another technician is dispatched to, or working at, the same job site.
	// It applies to text and e-mail alike.
	LimitWhenMultipleTechs bool `json:"limit_when_multiple_techs"`
	// QuietHours hold customers' messages back at night.
	QuietHours QuietHours `json:"quiet_hours"`
}

// QuietHours is when customers get no messages, in the company's time
// zone, as "HH:MM" (24-hour) times; Start after End spans midnight
// (21:00-08:00). A message that would go inside waits until End, and is
// dropped then if it is no longer true (the technician arrived, the
// visit finished). A dispatcher's own text or resend goes at once.
type QuietHours struct {
	Enabled bool   `json:"enabled"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

// Validate returns EINVALID naming a malformed or empty window, when
// quiet hours are on.
func (q QuietHours) Validate() error {
	if !q.Enabled {
		return nil
	}
	bad := map[string]string{}
	s, okS := clockMinutes(q.Start)
	e, okE := clockMinutes(q.End)
	if !okS {
		bad["quiet_hours.start"] = "must be a time of day, HH:MM (24-hour), like 21:00"
	}
	if !okE {
		bad["quiet_hours.end"] = "must be a time of day, HH:MM (24-hour), like 08:00"
	}
	if okS && okE && s == e {
		bad["quiet_hours.end"] = "must differ from the start"
	}
	if len(bad) > 0 {
		return FieldErrors(bad)
	}
	return nil
}

// Until returns when the quiet hours that now falls in end, in the zone
// tz (UTC when unknown), and whether now falls in them at all.
func (q QuietHours) Until(now time.Time, tz string) (time.Time, bool) {
	start, okS := clockMinutes(q.Start)
	end, okE := clockMinutes(q.End)
	if !q.Enabled || !okS || !okE || start == end {
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	inside := (start < end && m >= start && m < end) || (start > end && (m >= start || m < end))
	if !inside {
		return time.Time{}, false
	}
	day := local
	if m >= end { // the window runs past midnight: it ends tomorrow
		day = local.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), end/60, end%60, 0, 0, loc), true
}

// clockMinutes parses "HH:MM" (24-hour) into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// SettingsStore persists Settings. A store that has none yet returns
// DefaultSettings.
type SettingsStore interface {
	// FindSettings returns the settings.
	FindSettings(ctx context.Context) (*Settings, error)
	// UpdateSettings applies fn to the settings and saves them, with the
	// settings locked so concurrent updates of different tabs both hold.
	// An error from fn is returned and nothing is saved.
	UpdateSettings(ctx context.Context, fn func(*Settings) error) (*Settings, error)
}

// Default message templates: each channel works the moment it is turned on.
// The tokens are documented in the notify package.
const (
	DefaultTextTemplate = "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} is on the way to {ServiceAddress}. {TechTrackingURL}"
	DefaultEmailSubject = "{TechnicianFirstName} from {CompanyName} is on the way"
	DefaultEmailBody    = "Hi {CustomerFirstName},\n\n" +
		"{TechnicianName} from {CompanyName} is on the way to {ServiceAddress} for job {JobNumber}, arriving {ArrivalWindow}.\n\n" +
		"{TechTrackingURL}\n\n" +
		"Questions? Call us at {CompanyPhone}."
)

// Default running-late templates.
const (
	DefaultLateText    = "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} is running late and now expects to arrive around {NewETA}. Sorry for the wait. {TechTrackingURL}"
	DefaultLateSubject = "{TechnicianFirstName} is running late"
	DefaultLateBody    = "Hi {CustomerFirstName},\n\n{TechnicianName} from {CompanyName} is running late and now expects to arrive around {NewETA}, after your arrival window ({ArrivalWindow}). We are sorry for the wait.\n\n{TechTrackingURL}\n\nQuestions? Call us at {CompanyPhone}."
)

// Default texts of the moments after the dispatch, by kind.
var DefaultMoments = map[MessageKind]MomentSettings{
	KindNearby: {
		TextTemplate: "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} is almost there: arriving around {ETA}. {TechTrackingURL}",
		EmailSubject: "{TechnicianFirstName} is almost there",
		EmailBody:    "Hi {CustomerFirstName},\n\n{TechnicianName} from {CompanyName} is almost at {ServiceAddress} and should arrive around {ETA}.\n\n{TechTrackingURL}\n\nQuestions? Call us at {CompanyPhone}.",
	},
	KindArrived: {
		TextTemplate: "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} has arrived at {ServiceAddress}.",
		EmailSubject: "{TechnicianFirstName} has arrived",
		EmailBody:    "Hi {CustomerFirstName},\n\n{TechnicianName} from {CompanyName} has arrived at {ServiceAddress} for job {JobNumber}.\n\nQuestions? Call us at {CompanyPhone}.",
	},
	KindCompleted: {
		TextTemplate: "Thanks for choosing {CompanyName}, {CustomerFirstName}! {TechnicianFirstName} has finished. How did we do? {FeedbackURL}",
		EmailSubject: "Your visit from {CompanyName} is complete",
		EmailBody:    "Hi {CustomerFirstName},\n\n{TechnicianName} has finished job {JobNumber} at {ServiceAddress}. Thank you for choosing {CompanyName}.\n\nHow did we do? Tell us in a minute: {FeedbackURL}\n\nQuestions? Call us at {CompanyPhone}.",
	},
	KindCancelled: {
		TextTemplate: "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} is no longer coming for your visit ({ArrivalWindow}). Call us at {CompanyPhone} to rebook.",
		EmailSubject: "Your visit from {CompanyName} is cancelled",
		EmailBody:    "Hi {CustomerFirstName},\n\n{TechnicianName} from {CompanyName} is no longer coming to {ServiceAddress} for job {JobNumber} ({ArrivalWindow}).\n\nCall us at {CompanyPhone} to rebook.",
	},
	KindRescheduled: {
		TextTemplate: "Hi {CustomerFirstName}, your visit from {CompanyName} has moved: {TechnicianFirstName} now arrives {ArrivalWindow}. Questions? Call {CompanyPhone}.",
		EmailSubject: "Your visit from {CompanyName} has moved",
		EmailBody:    "Hi {CustomerFirstName},\n\nYour visit from {CompanyName} to {ServiceAddress} (job {JobNumber}) has moved: {TechnicianName} now arrives {ArrivalWindow}.\n\nQuestions? Call us at {CompanyPhone}.",
	},
}

// DefaultSettings returns the settings of a new company: everything off,
// default templates in place.
func DefaultSettings() *Settings {
	return &Settings{Dispatch: DispatchSettings{
		Nearby:      NearbySettings{MomentSettings: DefaultMoments[KindNearby], Minutes: 10},
		Arrived:     DefaultMoments[KindArrived],
		Completed:   DefaultMoments[KindCompleted],
		Cancelled:   DefaultMoments[KindCancelled],
		Rescheduled: DefaultMoments[KindRescheduled],
		Late:        LateSettings{MarginMin: 10, TextTemplate: DefaultLateText, EmailSubject: DefaultLateSubject, EmailBody: DefaultLateBody},
		Tracking:    TrackingSettings{AutoArrival: true, ArrivalRadiusM: 125, ArrivalDwellS: 60},
		General:     GeneralSettings{QuietHours: QuietHours{Start: "21:00", End: "08:00"}},
		Languages:   defaultLanguages(),
		Text:        TextSettings{Template: DefaultTextTemplate},
		Email:       EmailSettings{Subject: DefaultEmailSubject, Body: DefaultEmailBody},
	}}
}
