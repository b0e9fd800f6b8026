package httpapi

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
	"github.com/enroutehq/enroute/static"
)

// trackingState is what the customer's tracking page shows.
type trackingState struct {
	Status      enroute.AssignmentStatus `json:"status"`
	Company     stateCompany             `json:"company"`
	Technician  stateTechnician          `json:"technician"`
	Destination stateDestination         `json:"destination"`
	Window      stateWindow              `json:"window"`
	Map         stateMap                 `json:"map"`
	// Only while en route to a verified address:
	Position  *positionMsg `json:"position,omitempty"`
	DistanceM *float64     `json:"distance_m,omitempty"`
	ETA       *time.Time   `json:"eta,omitempty"`
	ETAS      *float64     `json:"eta_s,omitempty"`
	// ArrivedAt is when the assignment became working (arrival).
	ArrivedAt *time.Time `json:"arrived_at,omitempty"`
	// CompletedAt is when the visit was done.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Feedback is the customer's, once given (a done visit's page then
	// thanks rather than asks).
	Feedback *stateFeedback `json:"feedback,omitempty"`
}

type stateFeedback struct {
	Rating int `json:"rating"`
}

type stateCompany struct {
	Name         string `json:"name"`
	Phone        string `json:"phone"`         // E.164, for tel: links
	PhoneDisplay string `json:"phone_display"` // as people in the company's region write it
	LogoURL      string `json:"logo_url"`
	// TimeZone (IANA) is the zone the page gives times in, as the
	// customer's messages do: the window and the ETA read the same on the
	// page as in the text, wherever the customer's phone thinks it is.
	TimeZone string `json:"time_zone"`
	// BrandColor (#rrggbb, or "") colours the page's header and accents.
	BrandColor string `json:"brand_color"`
}

type stateTechnician struct {
	FirstName string   `json:"first_name"`
	PhotoURL  string   `json:"photo_url"`
	Rating    *float64 `json:"rating,omitempty"` // only when 4.0 or more
	// VerificationCode, only while the company shows codes and the visit
	// is not finished: the customer asks for it at the door.
	VerificationCode string `json:"verification_code,omitempty"`
}

type stateDestination struct {
	Address  string   `json:"address"`
	Verified bool     `json:"verified"`
	Lat      *float64 `json:"lat,omitempty"` // only when verified
	Lng      *float64 `json:"lng,omitempty"`
}

type stateMap struct {
	TileURL     string `json:"tile_url"`
	Attribution string `json:"attribution"`
}

type stateWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// trackingState serves /t/{token}/state: the technician's first name and
// photo, the rating (enroute.EffectiveRating) only when it is 4.0 or
// more, the verification code when the company shows codes, the status
// and the destination; for a verified address en route, also the
// position, distance and ETA; for a done visit, the feedback once given.
// An unknown or expired token is 404 and says nothing more.
func (s *Server) trackingState(c echo.Context) error {
	ctx := c.Request().Context()
	a, loc, err := s.trackedAssignment(ctx, c.Param("token"))
	if err != nil {
		if enroute.ErrorCode(err) == enroute.ENOTFOUND {
			return errorf(enroute.ENOTFOUND, "This link is no longer active.")
		}
		return err
	}
	tech, err := s.store.FindTechnicianByID(ctx, a.TechnicianID)
	if err != nil {
		return err
	}
	co, err := s.store.FindCompany(ctx)
	if err != nil {
		return err
	}
	job, err := s.store.FindJobByID(ctx, a.JobID)
	if err != nil {
		return err
	}
	settings, err := s.store.FindSettings(ctx)
	if err != nil {
		return err
	}
	sums, err := s.store.FeedbackSummaries(ctx, []int64{tech.ID})
	if err != nil {
		return err
	}
	st := trackingState{
		Status:      a.Status,
		ArrivedAt:   a.WorkingAt,
		CompletedAt: a.DoneAt,
		Company: stateCompany{Name: co.Name, Phone: co.Phone, PhoneDisplay: phone.Display(co.Phone, co.Locale), LogoURL: co.LogoURL,
			TimeZone: co.TimeZone, BrandColor: co.BrandColor},
		Technician:  stateTechnician{FirstName: strings.Fields(tech.Name + " ")[0], PhotoURL: tech.PhotoURL},
		Destination: stateDestination{Address: loc.Address, Verified: loc.Verified},
		Window:      stateWindow{Start: job.WindowStart, End: job.WindowEnd},
		Map:         stateMap{TileURL: s.cfg.TileURL, Attribution: s.cfg.TileAttribution},
	}
	if r := enroute.EffectiveRating(tech.Rating, sums[tech.ID], settings.Dispatch.Tracking.FeedbackUpdatesRating); r >= enroute.MinShownRating {
		st.Technician.Rating = &r
	}
	if settings.Dispatch.Tracking.VerificationCode && !a.Status.Finished() {
		st.Technician.VerificationCode = a.VerificationCode
	}
	if a.Status == enroute.StatusDone {
		fs, err := s.store.FindFeedback(ctx, enroute.FeedbackFilter{AssignmentID: &a.ID})
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			st.Feedback = &stateFeedback{Rating: fs[0].Rating}
		}
	}
	if loc.Verified {
		st.Destination.Lat, st.Destination.Lng = &loc.Lat, &loc.Lng
		if a.Status == enroute.StatusDispatched {
			if p, ok := s.live.LivePosition(a.TechnicianID); ok {
				m := positionOf(&p)
				st.Position = &m
			}
			if s.progress != nil {
				if pr, ok := s.progress.Progress(a.ID); ok {
					eta, left := pr.ETA, etaSeconds(pr)
					st.DistanceM, st.ETA, st.ETAS = &pr.DistanceM, &eta, &left
				}
			}
		}
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, st)
}

// pageHeaders are set on every page: the token in the URL must not leak
// (no referrer to tile servers or photo hosts), and scripts and connections
// stay with this server.
func (s *Server) pageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https: http:; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set(echo.HeaderCacheControl, "no-store")
}

// trackingPage serves /t/{token}: the page, or for an unknown or expired
// token a plain page that reveals nothing (404).
func (s *Server) trackingPage(c echo.Context) error {
	s.pageHeaders(c)
	if _, _, err := s.trackedAssignment(c.Request().Context(), c.Param("token")); err != nil {
		if enroute.ErrorCode(err) != enroute.ENOTFOUND {
			return err
		}
		return s.page(c, http.StatusNotFound, "inactive.html")
	}
	return s.page(c, http.StatusOK, "tracking.html")
}

// trackingOpened is POST /t/{token}/opened, which the tracking page sends
// once each time it is opened, from the browser: the dispatcher's receipt
// (tracking_opened_at, tracking_opens on the assignment). Counted from
// the page's script, not from fetching the page, so the previews that
// messaging apps fetch of a link do not count as the customer opening it.
func (s *Server) trackingOpened(c echo.Context) error {
	ctx := c.Request().Context()
	link, err := s.store.FindTrackingLink(ctx, enroute.HashSecret(c.Param("token")))
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		a, err := s.store.RecordTrackingOpen(ctx, link.AssignmentID)
		if err != nil || a.TrackingOpens != 1 {
			return err
		}
		for _, h := range s.trackHooks {
			if err := h.TrackingOpened(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) page(c echo.Context, status int, name string) error {
	b, err := fs.ReadFile(static.FS(), name)
	if err != nil {
		return err
	}
	return c.HTMLBlob(status, b)
}
