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
	// Language is the page's ("en" or "es"), Locale the BCP 47 tag it
	// formats dates and numbers with (pageLanguage).
	Language string `json:"language"`
	Locale   string `json:"locale"`
	// Only while en route to a verified address: position, distance, ETA.
	stateEnRoute
	// ArrivedAt is when the assignment became working (arrival).
	ArrivedAt *time.Time `json:"arrived_at,omitempty"`
	// CompletedAt is when the visit was done.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Feedback is the customer's, once given (a done visit's page then
	// thanks rather than asks).
	Feedback *stateFeedback `json:"feedback,omitempty"`
	// Crew is the other technicians of the visit (crewOf), each as the
	// link's own technician is shown; never null, so a page reads an
	// empty crew as none.
	Crew []stateCrewMember `json:"crew"`
}

// stateEnRoute is where a technician on the way to a verified address
// is and when they will be there; all nil otherwise.
type stateEnRoute struct {
	Position  *positionMsg `json:"position,omitempty"`
	DistanceM *float64     `json:"distance_m,omitempty"`
	ETA       *time.Time   `json:"eta,omitempty"`
	ETAS      *float64     `json:"eta_s,omitempty"`
	// The ETA's range ("10:42-10:50"), once the model has one.
	ETAEarly *time.Time `json:"eta_early,omitempty"`
	ETALate  *time.Time `json:"eta_late,omitempty"`
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
// position, distance and ETA; for a done visit, the feedback once given;
// the page's language; and the visit's crew, each shown by the same
// rules. An unknown or expired token is 404 and says nothing more.
func (s *Server) trackingState(c echo.Context) error {
	ctx := c.Request().Context()
	a, loc, err := s.trackedAssignment(ctx, c.Param("token"))
	if err != nil {
		if enroute.ErrorCode(err) == enroute.ENOTFOUND {
			return errorf(enroute.ENOTFOUND, "This link is no longer active.")
		}
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
	cust, err := s.store.FindCustomerByID(ctx, job.CustomerID)
	if err != nil {
		return err
	}
	settings, err := s.store.FindSettings(ctx)
	if err != nil {
		return err
	}
	crew, err := s.crewOf(ctx, a, loc)
	if err != nil {
		return err
	}
	techs, err := s.shownTechnicians(ctx, append([]*enroute.Assignment{a}, crew...), settings)
	if err != nil {
		return err
	}
	st := trackingState{
		Status:      a.Status,
		ArrivedAt:   a.WorkingAt,
		CompletedAt: a.DoneAt,
		Company: stateCompany{Name: co.Name, Phone: co.Phone, PhoneDisplay: phone.Display(co.Phone, co.Locale), LogoURL: co.LogoURL,
			TimeZone: co.TimeZone, BrandColor: co.BrandColor},
		Technician:   techs[0],
		Destination:  stateDestination{Address: loc.Address, Verified: loc.Verified},
		Window:       stateWindow{Start: job.WindowStart, End: job.WindowEnd},
		Map:          stateMap{TileURL: s.cfg.TileURL, Attribution: s.cfg.TileAttribution},
		stateEnRoute: s.enRoute(a, loc, settings.Dispatch.Tracking.Enabled),
		Crew:         make([]stateCrewMember, len(crew)),
	}
	st.Language, st.Locale = pageLanguage(cust.Language, co.Locale)
	for i, m := range crew {
		st.Crew[i] = stateCrewMember{AssignmentID: m.ID, Status: m.Status, Technician: techs[i+1], ArrivedAt: m.WorkingAt, stateEnRoute: s.enRoute(m, loc, settings.Dispatch.Tracking.Enabled)}
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
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, st)
}

// shownTechnicians returns the technician of each assignment as a
// customer is shown them: the first name, the photo, the effective
// rating only when it is enroute.MinShownRating or more, and the
// verification code while the company shows codes and that assignment is
// not finished.
func (s *Server) shownTechnicians(ctx context.Context, as []*enroute.Assignment, settings *enroute.Settings) ([]stateTechnician, error) {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.TechnicianID
	}
	sums, err := s.store.FeedbackSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	tt := settings.Dispatch.Tracking
	out := make([]stateTechnician, len(as))
	for i, a := range as {
		tech, err := s.store.FindTechnicianByID(ctx, a.TechnicianID)
		if err != nil {
			return nil, err
		}
		out[i] = stateTechnician{FirstName: strings.Fields(tech.Name + " ")[0], PhotoURL: tech.PhotoURL}
		if r := enroute.EffectiveRating(tech.Rating, sums[tech.ID], tt.FeedbackUpdatesRating); r >= enroute.MinShownRating {
			out[i].Rating = &r
		}
		if tt.VerificationCode && !a.Status.Finished() {
			out[i].VerificationCode = a.VerificationCode
		}
	}
	return out, nil
}

// enRoute is a's technician's live position, distance and ETA while a is
// on the way to loc, loc is verified and the company has arrival tracking
// on; nothing otherwise (an unverified address is never shown a position,
// and a link sent while tracking is off, for feedback, shows none).
func (s *Server) enRoute(a *enroute.Assignment, loc *enroute.Location, tracking bool) stateEnRoute {
	var r stateEnRoute
	if !tracking || !loc.Verified || a.Status != enroute.StatusDispatched {
		return r
	}
	if p, ok := s.live.LivePosition(a.TechnicianID); ok {
		m := positionOf(&p)
		r.Position = &m
	}
	if s.progress != nil {
		if pr, ok := s.progress.Progress(a.ID); ok {
			eta, left := pr.ETA, etaSeconds(pr)
			r.DistanceM, r.ETA, r.ETAS = &pr.DistanceM, &eta, &left
			if !pr.ETALate.IsZero() {
				early, late := pr.ETAEarly, pr.ETALate
				r.ETAEarly, r.ETALate = &early, &late
			}
		}
	}
	return r
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
