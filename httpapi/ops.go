package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// healthz answers while the process is alive.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// about names the product, the company and the version, for the home page
// and the log-in forms: public, as the company's name is on every message
// its customers get.
func (s *Server) about(c echo.Context) error {
	co, err := s.store.FindCompany(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"product": "Enroute", "company": co.Name, "version": s.cfg.Version})
}

// readyz answers 200 while the store is reachable and the server is not
// shutting down, so a load balancer stops sending before connections close.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Warn("store not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
	}
	if s.ingester != nil && s.ingester.Failing() { // reads work, writes do not (a full disk)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "position history not writable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

type companyRequest struct {
	Name       *string `json:"name"`
	Phone      *string `json:"phone"`
	LogoURL    *string `json:"logo_url"`
	TimeZone   *string `json:"time_zone"`
	Locale     *string `json:"locale"`
	BrandColor *string `json:"brand_color"`
}

// companyResponse is the company with its phone number also as people in
// its region write it.
type companyResponse struct {
	*enroute.Company
	PhoneDisplay string `json:"phone_display"`
}

func companyOf(co *enroute.Company) companyResponse {
	return companyResponse{Company: co, PhoneDisplay: phone.Display(co.Phone, co.Locale)}
}

func (s *Server) getCompany(c echo.Context) error {
	co, err := s.store.FindCompany(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, companyOf(co))
}

func (s *Server) patchCompany(c echo.Context) error {
	var req companyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.phonesIn(c.Request().Context(), req.Locale, req.Phone); err != nil {
		return err
	}
	co, err := s.store.UpdateCompany(c.Request().Context(), enroute.CompanyUpdate(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, companyOf(co))
}
