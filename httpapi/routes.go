package httpapi

import (
	_ "embed"

	"net/http"

	"github.com/enroutehq/enroute"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed openapi.yaml
var openapiYAML []byte

// routes registers every endpoint. Keep openapi.yaml in step: a test checks
// that every route registered here is documented.
func (s *Server) routes() {
	e := s.echo
	e.GET("/", func(c echo.Context) error {
		s.pageHeaders(c)
		return s.page(c, http.StatusOK, "index.html")
	})
	e.GET("/api/v1/about", s.about, s.limitIP(s.limits.public))
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	e.GET("/static/*", s.serveAsset)
	e.GET("/api/v1/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", openapiYAML)
	})

	api := e.Group("/api/v1")
	admin := []echo.MiddlewareFunc{s.authenticate(adminOnly...), s.idempotent}
	staff := []echo.MiddlewareFunc{s.authenticate(staff...), s.idempotent}

	api.GET("/company", s.getCompany, staff...)
	api.PATCH("/company", s.patchCompany, admin...)

	if s.ingester != nil {
		api.POST("/positions", s.withDevice(s.postPositions))
		api.GET("/devices/stream", s.withDevice(s.deviceStream))
		api.POST("/owntracks", s.postOwnTracks)
	}
	if s.live != nil {
		api.GET("/technicians/positions", s.listLivePositions, staff...)
	}
	if s.hub != nil && s.live != nil {
		api.GET("/live", s.watchBoard, s.authenticate(enroute.RoleAdmin, enroute.RoleDispatcher))
		public := s.limitIP(s.limits.public)
		e.GET("/t/:token/live", s.watchAssignment, public)
		e.GET("/t/:token/state", s.trackingState, public)
		e.POST("/t/:token/opened", s.trackingOpened, public)
		e.POST("/t/:token/feedback", s.postFeedback, public)
		e.GET("/t/:token", s.trackingPage, public)
	}

	api.POST("/technicians", s.createTechnician, admin...)
	api.GET("/technicians", s.listTechnicians, staff...)
	api.GET("/technicians/:id", s.getTechnician, staff...)
	api.PATCH("/technicians/:id", s.patchTechnician, admin...)
	api.DELETE("/technicians/:id", s.deleteTechnician, admin...)
	api.GET("/technicians/:id/positions", s.listTechnicianPositions, staff...)
	api.GET("/technicians/:id/positions/export", s.exportTechnicianPositions, staff...)
	api.GET("/positions/export", s.exportFleetPositions, staff...)
	api.GET("/technicians/:id/feedback", s.listTechnicianFeedback, staff...)

	api.POST("/technicians/:id/devices", s.createDevice, admin...)
	api.GET("/technicians/:id/devices", s.listDevices, admin...)
	api.PATCH("/devices/:id", s.patchDevice, admin...)
	api.DELETE("/devices/:id", s.revokeDevice, admin...)
	api.POST("/devices/:id/token", s.replaceDeviceToken, admin...)

	api.POST("/customers", s.createCustomer, staff...)
	api.GET("/customers", s.listCustomers, staff...)
	api.GET("/customers/:id", s.getCustomer, staff...)
	api.PATCH("/customers/:id", s.patchCustomer, staff...)
	api.DELETE("/customers/:id", s.deleteCustomer, staff...)

	api.POST("/locations", s.createLocation, staff...)
	api.GET("/locations", s.listLocations, staff...)
	api.GET("/locations/:id", s.getLocation, staff...)
	api.PATCH("/locations/:id", s.patchLocation, staff...)
	api.DELETE("/locations/:id", s.deleteLocation, staff...)

	api.POST("/jobs", s.createJob, staff...)
	api.GET("/jobs", s.listJobs, staff...)
	api.GET("/jobs/:id", s.getJob, staff...)
	api.PATCH("/jobs/:id", s.patchJob, staff...)
	api.DELETE("/jobs/:id", s.deleteJob, staff...)

	api.POST("/jobs/:id/assignments", s.createAssignment, staff...)
	api.GET("/jobs/:id/assignments", s.listJobAssignments, staff...)
	api.GET("/assignments", s.listAssignments, staff...)
	api.GET("/map", func(c echo.Context) error {
		return c.JSON(http.StatusOK, stateMap{TileURL: s.cfg.TileURL, Attribution: s.cfg.TileAttribution})
	}, staff...)
	api.GET("/assignments/:id", s.getAssignment, staff...)
	api.POST("/assignments/:id/dispatch", s.dispatchAssignment, staff...)
	api.POST("/assignments/:id/start", s.startAssignment, staff...)
	api.POST("/assignments/:id/complete", s.completeAssignment, staff...)
	api.POST("/assignments/:id/cancel", s.cancelAssignment, staff...)
	api.POST("/assignments/:id/tracking-link", s.createTrackingLink, staff...)

	api.GET("/jobs/:id/messages", s.listJobMessages, staff...)
	api.POST("/jobs/:id/messages", s.sendJobText, staff...)
	api.POST("/messages/:id/resend", s.resendMessage, staff...)
	api.GET("/jobs/:id/replies", s.listReplies, staff...)
	api.GET("/replies", s.listReplies, staff...)
	api.GET("/jobs/:id/feedback", s.listJobFeedback, staff...)
	s.settingsRoutes(api, admin)
	api.POST("/sms/inbound", s.inboundSMS, s.limitIP(s.limits.webhook))
	api.POST("/sms/status", s.smsStatus, s.limitIP(s.limits.webhook))

	api.POST("/session", s.login, s.limitIP(s.limits.login))
	api.DELETE("/session", s.logout)
	e.GET("/settings/dispatch-notifications", func(c echo.Context) error {
		s.pageHeaders(c)
		return s.page(c, http.StatusOK, "settings.html")
	})
	e.GET("/dispatch", func(c echo.Context) error {
		s.pageHeaders(c)
		return s.page(c, http.StatusOK, "dispatch.html")
	})

	api.POST("/import/technicians", s.importTechnicians, admin...)
	api.POST("/import/customers", s.importCustomers, staff...)
	api.POST("/import/locations", s.importLocations, staff...)
	api.POST("/import/jobs", s.importJobs, staff...)

	api.POST("/keys", s.createAPIKey, admin...)
	api.GET("/keys", s.listAPIKeys, admin...)
	api.DELETE("/keys/:id", s.revokeAPIKey, admin...)

	if s.webhooks != nil {
		api.POST("/webhooks", s.createWebhook, admin...)
		api.GET("/webhooks", s.listWebhooks, admin...)
		api.GET("/webhooks/:id", s.getWebhook, admin...)
		api.PATCH("/webhooks/:id", s.patchWebhook, admin...)
		api.DELETE("/webhooks/:id", s.deleteWebhook, admin...)
		api.POST("/webhooks/:id/rotate-secret", s.rotateWebhookSecret, admin...)
		api.POST("/webhooks/:id/test", s.testWebhook, admin...)
		api.GET("/webhooks/:id/deliveries", s.listWebhookDeliveries, admin...)
	}
}

// Routes lists the registered routes as "METHOD /path/{param}", for the
// OpenAPI coverage test.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		out = append(out, r.Method+" "+openapiPath(r.Path))
	}
	return out
}

// openapiPath turns echo's /a/:id into OpenAPI's /a/{id}.
func openapiPath(p string) string {
	b := []byte{}
	for i := 0; i < len(p); i++ {
		if p[i] == '*' {
			b = append(b, "{path}"...)
			continue
		}
		if p[i] == ':' {
			j := i + 1
			for j < len(p) && p[j] != '/' {
				j++
			}
			b = append(b, '{')
			b = append(b, p[i+1:j]...)
			b = append(b, '}')
			i = j - 1
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}
