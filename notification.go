package enroute

import "context"

// NotificationService is what the HTTP API asks of the notifications
// feature: the settings tabs (validated, with their prerequisites), the
// preview and inbound SMS. notify.Service implements it.
type NotificationService interface {
	// DispatchSettings returns the tabs with their derived state.
	DispatchSettings(ctx context.Context) (*DispatchSettingsView, error)
	// UpdateText, UpdateEmail, UpdateTracking and UpdateGeneral save one tab.
	// They return EINVALID naming the field, or a missing prerequisite
	// (no SMS number, no e-mail sender, GPS not set up).
	UpdateText(ctx context.Context, u TextUpdate) (*DispatchSettingsView, error)
	UpdateEmail(ctx context.Context, u EmailUpdate) (*DispatchSettingsView, error)
	UpdateTracking(ctx context.Context, u TrackingUpdate) (*DispatchSettingsView, error)
	UpdateGeneral(ctx context.Context, u GeneralUpdate) (*DispatchSettingsView, error)
	UpdateLate(ctx context.Context, u LateUpdate) (*DispatchSettingsView, error)
	// UpdateMoment saves the tab of a moment after the dispatch: arrived,
	// completed, cancelled or rescheduled (EINVALID for another kind);
	// UpdateNearby the Nearby tab.
	UpdateMoment(ctx context.Context, kind MessageKind, u MomentUpdate) (*DispatchSettingsView, error)
	UpdateNearby(ctx context.Context, u NearbyUpdate) (*DispatchSettingsView, error)
	// UpdateLanguage saves a language's templates (a new language starts
	// from the company's own, to translate); DeleteLanguage removes one the
	// company added (ECONFLICT for one shipped with Enroute: it is turned
	// off instead). EINVALID names the template.
	UpdateLanguage(ctx context.Context, lang string, u LanguageUpdate) (*DispatchSettingsView, error)
	DeleteLanguage(ctx context.Context, lang string) (*DispatchSettingsView, error)
	// GPSSettings and UpdateGPS read and change native GPS. Turning GPS off
	// while arrival tracking is on is refused (ECONFLICT).
	GPSSettings(ctx context.Context) (*GPSSettingsView, error)
	UpdateGPS(ctx context.Context, enabled bool) (*GPSSettingsView, error)
	// Preview renders a template. Returns EINVALID for a bad template,
	// ENOTFOUND for an unknown job.
	Preview(ctx context.Context, r PreviewRequest) (*Preview, error)
	// InboundSMS handles a text sent to the company's number: STOP, START
	// and HELP are answered (the answer to text back is returned); anything
	// else is stored as the customer's Reply on the job it answers.
	InboundSMS(ctx context.Context, in InboundText) (answer string, err error)
	// SendText queues a text a dispatcher wrote to job's customer, from
	// the company's number (a KindManual message). EINVALID for an empty or
	// too long body or no number to send from; ECONFLICT when the customer
	// has no phone or opted out of texts.
	SendText(ctx context.Context, jobID int64, body, author string) (*Message, error)
	// Resend sends a finished message again, as the customer got it, to
	// their current phone or e-mail, with a new tracking link where it had
	// one. ECONFLICT while it is still queued, or when the customer cannot
	// be reached on its channel.
	Resend(ctx context.Context, messageID int64, author string) (*Message, error)
	// Tokens lists the template tokens, for the token picker.
	Tokens() []TokenInfo
}

// TokenInfo documents a template token.
type TokenInfo struct {
	Token       string `json:"token"`
	Description string `json:"description"`
}

// DispatchSettingsView is the dispatch settings with what derives from them.
type DispatchSettingsView struct {
	DispatchSettings
	// TextFromNumberStatus is "ok" when the default SMS number is set,
	// "missing" when not.
	TextFromNumberStatus string `json:"text_from_number_status"`
	// EmailSenderStatus is "ok" when e-mail can be sent: a from address is
	// set and the server has an e-mail transport.
	EmailSenderStatus string `json:"email_sender_status"`
	// SMSProvider and EmailProvider are what the server sends with
	// ("twilio", "smtp", "log": development, only logged; "none"), and the
	// notes say what follows for the company ("" when all is well).
	SMSProvider       string `json:"sms_provider"`
	SMSProviderNote   string `json:"sms_provider_note"`
	EmailProvider     string `json:"email_provider"`
	EmailProviderNote string `json:"email_provider_note"`
	// GPSReady says whether native GPS is set up, the prerequisite of
	// arrival tracking.
	GPSReady bool `json:"gps_ready"`
}

// GPSSettingsView is the GPS settings with the devices that report.
type GPSSettingsView struct {
	GPSSettings
	ActiveDevices int  `json:"active_devices"`
	Ready         bool `json:"ready"`
}

// TextUpdate changes the Text tab; nil fields are left unchanged.
type TextUpdate struct {
	FromNumber *string `json:"from_number"`
	Template   *string `json:"template"`
	Enabled    *bool   `json:"enabled"`
}

// EmailUpdate changes the Email tab; nil fields are left unchanged.
type EmailUpdate struct {
	FromName    *string `json:"from_name"`
	FromAddress *string `json:"from_address"`
	Subject     *string `json:"subject"`
	Body        *string `json:"body"`
	Enabled     *bool   `json:"enabled"`
}

// TrackingUpdate changes the Arrival Tracking tab.
type TrackingUpdate struct {
	Enabled        *bool    `json:"enabled"`
	AutoArrival    *bool    `json:"auto_arrival"`
	ArrivalRadiusM *float64 `json:"arrival_radius_m"`
	ArrivalDwellS  *int     `json:"arrival_dwell_s"`
	// VerificationCode and FeedbackUpdatesRating: TrackingSettings'.
	VerificationCode      *bool `json:"verification_code"`
	FeedbackUpdatesRating *bool `json:"feedback_updates_rating"`
}

// LateUpdate changes the Running Late tab; nil fields are left unchanged.
type LateUpdate struct {
	Enabled      *bool   `json:"enabled"`
	MarginMin    *int    `json:"margin_min"`
	TextTemplate *string `json:"text_template"`
	EmailSubject *string `json:"email_subject"`
	EmailBody    *string `json:"email_body"`
}

// MomentUpdate changes a moment's tab; nil fields are left unchanged.
type MomentUpdate struct {
	Enabled      *bool   `json:"enabled"`
	TextTemplate *string `json:"text_template"`
	EmailSubject *string `json:"email_subject"`
	EmailBody    *string `json:"email_body"`
}

// NearbyUpdate changes the Nearby tab.
type NearbyUpdate struct {
	MomentUpdate
	Minutes *int `json:"minutes"`
}

// LanguageUpdate changes a language: whether its customers get its
// templates, and the templates of the kinds given (others are kept).
type LanguageUpdate struct {
	Enabled   *bool                            `json:"enabled"`
	Templates map[MessageKind]MessageTemplates `json:"templates"`
}

// GeneralUpdate changes the Settings tab.
type GeneralUpdate struct {
	LimitWhenMultipleTechs *bool       `json:"limit_when_multiple_techs"`
	QuietHours             *QuietHours `json:"quiet_hours"`
}

// PreviewRequest asks for a rendering of a template: the saved one of
// Channel, or Template (and Subject, for e-mail) as drafted; with sample
// data, or the data of JobID.
type PreviewRequest struct {
	Channel Channel     `json:"channel"`
	Kind    MessageKind `json:"kind"` // dispatch (the default), late or a moment's: whose saved templates, and the sample ETA
	// Language picks the saved templates of a language ("es"); "": the
	// company's own.
	Language string `json:"language"`

	Template *string `json:"template"`
	Subject  *string `json:"subject"`
	JobID    *int64  `json:"job_id"`
}

// Preview is a rendered message.
type Preview struct {
	Channel  Channel  `json:"channel"`
	Subject  string   `json:"subject,omitempty"`
	Body     string   `json:"body"`
	HTML     string   `json:"html,omitempty"`
	SMS      *SMSInfo `json:"sms,omitempty"`
	Warnings []string `json:"warnings"`
}

// SMSInfo is how a text is billed: its length, encoding and segments.
type SMSInfo struct {
	Characters int    `json:"characters"`
	Encoding   string `json:"encoding"` // GSM-7 or UCS-2
	Segments   int    `json:"segments"`
}
