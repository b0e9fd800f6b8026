package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

type webhookRequest struct {
	URL         *string                     `json:"url"`
	Description *string                     `json:"description"`
	Events      *[]enroute.WebhookEventType `json:"events"`
	Enabled     *bool                       `json:"enabled"`
}

// webhookWithSecret is the one response that carries an endpoint's
// signing secret: at creation and rotation. Secret is null in a replay of
// an idempotent request: it was shown once.
type webhookWithSecret struct {
	*enroute.WebhookEndpoint
	Secret *string `json:"secret"`
}

func (s *Server) createWebhook(c echo.Context) error {
	var req webhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"url": req.URL != nil, "events": req.Events != nil})
	if req.Enabled != nil {
		errs["enabled"] = "cannot be set at creation: an endpoint starts enabled"
	}
	if err := errs.err(); err != nil {
		return err
	}
	e := &enroute.WebhookEndpoint{URL: *req.URL, Events: *req.Events}
	if req.Description != nil {
		e.Description = *req.Description
	}
	secret, err := s.webhooks.CreateWebhookEndpoint(c.Request().Context(), e)
	if err != nil {
		return err
	}
	return jsonWithSecret(c, http.StatusCreated, webhookWithSecret{e, &secret}, webhookWithSecret{WebhookEndpoint: e})
}

func (s *Server) listWebhooks(c echo.Context) error {
	q := newQuery(c)
	p := q.page()
	if err := q.err(); err != nil {
		return err
	}
	es, err := s.store.FindWebhookEndpoints(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(es))
}

func (s *Server) getWebhook(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	e, err := s.store.FindWebhookEndpointByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) patchWebhook(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	e, err := s.webhooks.UpdateWebhookEndpoint(c.Request().Context(), id, enroute.WebhookEndpointUpdate{
		URL: req.URL, Description: req.Description, Events: req.Events, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhookEndpoint(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) rotateWebhookSecret(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	secret, err := s.webhooks.RotateWebhookSecret(ctx, id)
	if err != nil {
		return err
	}
	e, err := s.store.FindWebhookEndpointByID(ctx, id)
	if err != nil {
		return err
	}
	return jsonWithSecret(c, http.StatusOK, webhookWithSecret{e, &secret}, webhookWithSecret{WebhookEndpoint: e})
}

func (s *Server) testWebhook(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ev, err := s.webhooks.SendTestWebhook(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, ev)
}

func (s *Server) listWebhookDeliveries(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	q := newQuery(c)
	f := enroute.WebhookDeliveryFilter{EndpointID: &id, EventID: q.string("event_id"), WithAttempts: true, Page: q.page()}
	if st := q.string("status"); st != nil {
		switch v := enroute.WebhookDeliveryStatus(*st); v {
		case enroute.WebhookQueued, enroute.WebhookDelivered, enroute.WebhookFailed:
			f.Status = &v
		default:
			q.errs["status"] = "must be queued, delivered or failed"
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.store.FindWebhookEndpointByID(ctx, id); err != nil {
		return err
	}
	ds, err := s.store.FindWebhookDeliveries(ctx, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(ds))
}
