package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

type apiKeyRequest struct {
	Name *string `json:"name"`
	Role *string `json:"role"`
}

// apiKeyCreated is the one response that carries a key's secret. Key is
// null in a replay of an idempotent request: it was shown once.
type apiKeyCreated struct {
	*enroute.APIKey
	Key *string `json:"key"`
}

// NewAPIKey makes a key's secret and record; the caller stores the record
// with the secret's hash and shows the secret once.
func NewAPIKey(name string, role enroute.Role) (secret string, k *enroute.APIKey) {
	secret = enroute.NewAPIKeySecret()
	return secret, &enroute.APIKey{Name: name, Role: role, Prefix: secret[:len(enroute.APIKeyPrefix)+4]}
}

func (s *Server) createAPIKey(c echo.Context) error {
	var req apiKeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	errs := fieldErrs{}
	errs.require(map[string]bool{"name": req.Name != nil, "role": req.Role != nil})
	if err := errs.err(); err != nil {
		return err
	}
	secret, k := NewAPIKey(*req.Name, enroute.Role(*req.Role))
	if err := s.store.CreateAPIKey(c.Request().Context(), k, enroute.HashSecret(secret)); err != nil {
		return err
	}
	return jsonWithSecret(c, http.StatusCreated, apiKeyCreated{APIKey: k, Key: &secret}, apiKeyCreated{APIKey: k})
}

func (s *Server) listAPIKeys(c echo.Context) error {
	q := newQuery(c)
	f := enroute.APIKeyFilter{IncludeRevoked: true, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ks, err := s.store.FindAPIKeys(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(ks))
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	k, err := s.store.RevokeAPIKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.keys.revoked(k)
	return c.JSON(http.StatusOK, k)
}
