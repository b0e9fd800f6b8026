package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// The settings tabs as the screens show them.
type (
	textTab struct {
		FromNumber        string `json:"from_number"`
		FromNumberDisplay string `json:"from_number_display"` // as people in the company's country write it
		FromNumberStatus  string `json:"from_number_status"`
		Template          string `json:"template"`
		Enabled           bool   `json:"enabled"`
		Provider          string `json:"provider"`      // twilio, log
		ProviderNote      string `json:"provider_note"` // what the screen warns of; "" when all is well
	}
	emailTab struct {
		FromName     string `json:"from_name"`
		FromAddress  string `json:"from_address"`
		SenderStatus string `json:"sender_status"`
		Subject      string `json:"subject"`
		Body         string `json:"body"`
		Enabled      bool   `json:"enabled"`
		Provider     string `json:"provider"` // smtp, log, none
		ProviderNote string `json:"provider_note"`
	}
	trackingTab struct {
		Enabled        bool    `json:"enabled"`
		AutoArrival    bool    `json:"auto_arrival"`
		ArrivalRadiusM float64 `json:"arrival_radius_m"`
		ArrivalDwellS  int     `json:"arrival_dwell_s"`
		GPSReady       bool    `json:"gps_ready"`
		// The tracking page's: the code at the door, feedback into ratings.
		VerificationCode      bool `json:"verification_code"`
		FeedbackUpdatesRating bool `json:"feedback_updates_rating"`
	}
	generalTab struct {
		LimitWhenMultipleTechs bool               `json:"limit_when_multiple_techs"`
		QuietHours             enroute.QuietHours `json:"quiet_hours"`
	}
	allTabs struct {
		Text     textTab              `json:"text"`
		Email    emailTab             `json:"email"`
		Tracking trackingTab          `json:"tracking"`
		General  generalTab           `json:"general"`
		Late     enroute.LateSettings `json:"late"`
		// The moments after the dispatch.
		Nearby      enroute.NearbySettings `json:"nearby"`
		Arrived     enroute.MomentSettings `json:"arrived"`
		Completed   enroute.MomentSettings `json:"completed"`
		Cancelled   enroute.MomentSettings `json:"cancelled"`
		Rescheduled enroute.MomentSettings `json:"rescheduled"`
		Languages   languagesTab           `json:"languages"`
	}
	// languagesTab is the templates in other languages than the
	// company's own (CompanyLanguage, from its locale).
	languagesTab struct {
		CompanyLanguage string                              `json:"company_language"`
		Languages       map[string]enroute.LanguageSettings `json:"languages"`
	}
)

// tabsOf is v as the screens show it; numbers are shown as people in the
// company's country write them.
func (s *Server) tabsOf(ctx context.Context, v *enroute.DispatchSettingsView) (allTabs, error) {
	co, err := s.store.FindCompany(ctx)
	if err != nil {
		return allTabs{}, err
	}
	return allTabs{
		Text: textTab{v.Text.FromNumber, phone.Display(v.Text.FromNumber, co.Locale), v.TextFromNumberStatus, v.Text.Template, v.Text.Enabled,
			v.SMSProvider, v.SMSProviderNote},
		Email: emailTab{v.Email.FromName, v.Email.FromAddress, v.EmailSenderStatus, v.Email.Subject, v.Email.Body, v.Email.Enabled,
			v.EmailProvider, v.EmailProviderNote},
		Tracking: trackingTab{v.Tracking.Enabled, v.Tracking.AutoArrival, v.Tracking.ArrivalRadiusM, v.Tracking.ArrivalDwellS, v.GPSReady,
			v.Tracking.VerificationCode, v.Tracking.FeedbackUpdatesRating},
		General: generalTab{v.General.LimitWhenMultipleTechs, v.General.QuietHours},
		Late:    v.Late,
		Nearby:  v.Nearby, Arrived: v.Arrived, Completed: v.Completed, Cancelled: v.Cancelled, Rescheduled: v.Rescheduled,
		Languages: languagesTab{enroute.PrimaryLanguage(co.Locale), v.Languages},
	}, nil
}

// settingsTab serves GET and PUT of the tab at path: pick chooses it from
// the tabs; update applies a decoded U.
func settingsTab[U any](s *Server, g *echo.Group, path string, admin []echo.MiddlewareFunc, pick func(allTabs) any,
	update func(enroute.NotificationService, context.Context, U) (*enroute.DispatchSettingsView, error)) {
	g.GET(path, func(c echo.Context) error { return s.tab(c, nil, pick) }, admin...)
	g.PUT(path, func(c echo.Context) error {
		var u U
		if err := decode(c, &u); err != nil {
			return err
		}
		v, err := update(s.notify, c.Request().Context(), u)
		if err != nil {
			return err
		}
		return s.tab(c, v, pick)
	}, admin...)
}

// tab answers with what pick chooses from the tabs of v, or of the
// current settings when v is nil.
func (s *Server) tab(c echo.Context, v *enroute.DispatchSettingsView, pick func(allTabs) any) error {
	ctx := c.Request().Context()
	if v == nil {
		var err error
		if v, err = s.notify.DispatchSettings(ctx); err != nil {
			return err
		}
	}
	tabs, err := s.tabsOf(ctx, v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pick(tabs))
}

func (s *Server) settingsRoutes(g *echo.Group, admin []echo.MiddlewareFunc) {
	const base = "/settings/dispatch-notifications"
	g.GET(base, func(c echo.Context) error {
		return s.tab(c, nil, func(t allTabs) any { return t })
	}, admin...)
	settingsTab(s, g, base+"/text", admin, func(t allTabs) any { return t.Text },
		func(n enroute.NotificationService, ctx context.Context, u enroute.TextUpdate) (*enroute.DispatchSettingsView, error) {
			if err := s.phonesIn(ctx, nil, u.FromNumber); err != nil {
				return nil, err
			}
			return n.UpdateText(ctx, u)
		})
	settingsTab(s, g, base+"/email", admin, func(t allTabs) any { return t.Email }, enroute.NotificationService.UpdateEmail)
	settingsTab(s, g, base+"/tracking", admin, func(t allTabs) any { return t.Tracking }, enroute.NotificationService.UpdateTracking)
	settingsTab(s, g, base+"/general", admin, func(t allTabs) any { return t.General }, enroute.NotificationService.UpdateGeneral)
	settingsTab(s, g, base+"/late", admin, func(t allTabs) any { return t.Late }, enroute.NotificationService.UpdateLate)
	settingsTab(s, g, base+"/nearby", admin, func(t allTabs) any { return t.Nearby }, enroute.NotificationService.UpdateNearby)
	for kind, pick := range map[enroute.MessageKind]func(allTabs) any{
		enroute.KindArrived:     func(t allTabs) any { return t.Arrived },
		enroute.KindCompleted:   func(t allTabs) any { return t.Completed },
		enroute.KindCancelled:   func(t allTabs) any { return t.Cancelled },
		enroute.KindRescheduled: func(t allTabs) any { return t.Rescheduled },
	} {
		settingsTab(s, g, base+"/"+string(kind), admin, pick,
			func(n enroute.NotificationService, ctx context.Context, u enroute.MomentUpdate) (*enroute.DispatchSettingsView, error) {
				return n.UpdateMoment(ctx, kind, u)
			})
	}
	g.GET(base+"/languages", func(c echo.Context) error { return s.tab(c, nil, func(t allTabs) any { return t.Languages }) }, admin...)
	g.PUT(base+"/languages/:lang", func(c echo.Context) error {
		var u enroute.LanguageUpdate
		if err := decode(c, &u); err != nil {
			return err
		}
		v, err := s.notify.UpdateLanguage(c.Request().Context(), c.Param("lang"), u)
		if err != nil {
			return err
		}
		return s.tab(c, v, func(t allTabs) any { return t.Languages })
	}, admin...)
	g.DELETE(base+"/languages/:lang", func(c echo.Context) error {
		v, err := s.notify.DeleteLanguage(c.Request().Context(), c.Param("lang"))
		if err != nil {
			return err
		}
		return s.tab(c, v, func(t allTabs) any { return t.Languages })
	}, admin...)
	g.POST(base+"/preview", s.preview, admin...)
	g.GET(base+"/tokens", s.tokens, admin...)
	g.GET("/settings/gps", s.getGPS, admin...)
	g.PUT("/settings/gps", s.putGPS, admin...)
}

func (s *Server) preview(c echo.Context) error {
	var r enroute.PreviewRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.Channel == "" {
		return enroute.FieldErrors(map[string]string{"channel": "is required (sms or email)"})
	}
	p, err := s.notify.Preview(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) tokens(c echo.Context) error {
	return c.JSON(http.StatusOK, listOf(s.notify.Tokens()))
}

// gpsView is the GPS settings with where each app sends its fixes, for
// the steps that set a phone up.
type gpsView struct {
	*enroute.GPSSettingsView
	Apps gpsApps `json:"apps"`
}

type gpsApps struct {
	OsmAndURL    string `json:"osmand_url"`    // Traccar Client's server URL; "" when the listener is off
	OwnTracksURL string `json:"owntracks_url"` // OwnTracks' HTTP URL
	NativeURL    string `json:"native_url"`    // Enroute's own protocol: POST here with the device's token
}

func (s *Server) gpsView(v *enroute.GPSSettingsView) gpsView {
	return gpsView{GPSSettingsView: v, Apps: gpsApps{OsmAndURL: s.cfg.OsmAndURL,
		OwnTracksURL: s.cfg.PublicURL + "/api/v1/owntracks", NativeURL: s.cfg.PublicURL + "/api/v1/positions"}}
}

func (s *Server) getGPS(c echo.Context) error {
	v, err := s.notify.GPSSettings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.gpsView(v))
}

func (s *Server) putGPS(c echo.Context) error {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return enroute.FieldErrors(map[string]string{"enabled": "is required"})
	}
	v, err := s.notify.UpdateGPS(c.Request().Context(), *req.Enabled)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.gpsView(v))
}
