package webhook

import (
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// Service implements enroute.WebhookService over a store.
type Service struct {
	Store  enroute.Store
	Sealer *Sealer
	// AllowPrivate accepts plain http URLs (as Config.AllowPrivate lets the
	// worker reach private addresses): for development and tests.
	AllowPrivate bool
	// Wake, when set, runs after a test event commits (Worker.Wake).
	Wake func()
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

var _ enroute.WebhookService = (*Service)(nil)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// validate checks e as the server's policy has it: https, and, unless
// AllowPrivate, no host that is plainly private (an address literal or
// localhost). Names resolving to private addresses are refused when
// dialled.
func (s *Service) validate(e *enroute.WebhookEndpoint) error {
	if err := e.Validate(s.AllowPrivate); err != nil || s.AllowPrivate {
		return err
	}
	u, _ := url.Parse(e.URL) // parsed by Validate
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip, err := netip.ParseAddr(host); (err == nil && privateAddr(ip)) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return enroute.FieldErrors(map[string]string{"url": "must not be a private or loopback address"})
	}
	return nil
}

// CreateWebhookEndpoint implements enroute.WebhookService.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, e *enroute.WebhookEndpoint) (string, error) {
	if err := s.validate(e); err != nil {
		return "", err
	}
	secret := NewSecret()
	if err := s.Store.CreateWebhookEndpoint(ctx, e, s.Sealer.Seal(secret)); err != nil {
		return "", err
	}
	return secret, nil
}

// UpdateWebhookEndpoint implements enroute.WebhookService.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, id int64, u enroute.WebhookEndpointUpdate) (*enroute.WebhookEndpoint, error) {
	var out *enroute.WebhookEndpoint
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		e, err := s.Store.FindWebhookEndpointByID(ctx, id)
		if err != nil {
			return err
		}
		if u.URL != nil {
			e.URL = *u.URL
		}
		if u.Description != nil {
			e.Description = *u.Description
		}
		if u.Events != nil {
			e.Events = *u.Events
		}
		if err := s.validate(e); err != nil {
			return err
		}
		out, err = s.Store.UpdateWebhookEndpoint(ctx, id, u)
		return err
	})
	return out, err
}

// RotateWebhookSecret implements enroute.WebhookService.
func (s *Service) RotateWebhookSecret(ctx context.Context, id int64) (string, error) {
	secret := NewSecret()
	if err := s.Store.RotateWebhookSecret(ctx, id, s.Sealer.Seal(secret), s.now().Add(enroute.WebhookSecretOverlap)); err != nil {
		return "", err
	}
	return secret, nil
}

// SendTestWebhook implements enroute.WebhookService.
func (s *Service) SendTestWebhook(ctx context.Context, id int64) (*enroute.WebhookEvent, error) {
	data, _ := json.Marshal(map[string]any{"endpoint_id": id, "message": "A test event from Enroute."})
	ev := &enroute.WebhookEvent{Type: enroute.EventWebhookTest, Data: data}
	if _, err := s.Store.CreateWebhookEvent(ctx, ev, id); err != nil {
		return nil, err
	}
	if s.Wake != nil {
		s.Store.AfterCommit(ctx, s.Wake)
	}
	return ev, nil
}
