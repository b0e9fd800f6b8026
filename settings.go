package enroute

import "context"

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

// DefaultSettings returns the settings of a new company: everything off,
// default templates in place.
func DefaultSettings() *Settings {
	return &Settings{Dispatch: DispatchSettings{
		Late:     LateSettings{MarginMin: 10, TextTemplate: DefaultLateText, EmailSubject: DefaultLateSubject, EmailBody: DefaultLateBody},
		Tracking: TrackingSettings{AutoArrival: true, ArrivalRadiusM: 125, ArrivalDwellS: 60},
		Text:     TextSettings{Template: DefaultTextTemplate},
		Email:    EmailSettings{Subject: DefaultEmailSubject, Body: DefaultEmailBody},
	}}
}
