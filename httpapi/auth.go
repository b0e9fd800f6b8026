package httpapi

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

const ctxAPIKey = "enroute.api_key"

// authenticate requires an active API key (Authorization: Bearer <key>) and
// one of roles.
func (s *Server) authenticate(roles ...enroute.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			secret, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="enroute"`)
				return errorf(enroute.EUNAUTHORIZED, "Authentication required: send Authorization: Bearer <API key>.")
			}
			keys, err := s.store.FindAPIKeys(c.Request().Context(), enroute.APIKeyFilter{KeyHash: enroute.HashSecret(secret)})
			if err != nil {
				return err
			} else if len(keys) == 0 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="enroute", error="invalid_token"`)
				return errorf(enroute.EUNAUTHORIZED, "The API key is unknown or revoked.")
			}
			key := keys[0]
			for _, r := range roles {
				if key.Role == r {
					c.Set(ctxAPIKey, key)
					return next(c)
				}
			}
			return errorf(enroute.EFORBIDDEN, "A %s key may not do this; it needs an %s key.", key.Role, roles[0])
		}
	}
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 512 {
		return "", false
	}
	return token, true
}

// apiKeyOf returns the key that authenticated the request.
func apiKeyOf(c echo.Context) *enroute.APIKey {
	k, _ := c.Get(ctxAPIKey).(*enroute.APIKey)
	return k
}

var (
	adminOnly = []enroute.Role{enroute.RoleAdmin}
	staff     = []enroute.Role{enroute.RoleAdmin, enroute.RoleDispatcher}
)
