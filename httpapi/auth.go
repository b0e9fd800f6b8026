package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

const ctxAPIKey = "enroute.api_key"

// sessionCookie holds a browser session's token.
const sessionCookie = "enroute_session"

// csrfHeader must accompany writes authenticated by the session cookie:
// a page of another site cannot set it without a CORS preflight, which
// Enroute never grants (the cookie is SameSite=Strict besides).
const csrfHeader = "X-Enroute-CSRF"

// authenticate requires an active API key (Authorization: Bearer <key>, or
// a browser session's cookie) and one of roles.
func (s *Server) authenticate(roles ...enroute.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, err := s.apiKey(c)
			if err != nil {
				if r := c.Request(); enroute.ErrorCode(err) == enroute.EUNAUTHORIZED && (r.Header.Get(echo.HeaderAuthorization) != "" || len(r.Cookies()) > 0) {
					return s.unknownFrom(c.RealIP(), err) // a key or session named that does not exist
				}
				return err
			}
			if d := s.limits.api.take(strconv.FormatInt(key.ID, 10), s.now()); d > 0 {
				return errRateLimited(d)
			}
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

// apiKey finds the request's API key: from the Authorization header, or
// from the session cookie.
func (s *Server) apiKey(c echo.Context) (*enroute.APIKey, error) {
	r := c.Request()
	if secret, ok := bearer(r.Header.Get(echo.HeaderAuthorization)); ok {
		k, err := s.keys.byHash(r.Context(), enroute.HashSecret(secret))
		if err != nil {
			return nil, err
		} else if k == nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="enroute", error="invalid_token"`)
			return nil, errorf(enroute.EUNAUTHORIZED, "The API key is unknown or revoked.")
		}
		return k, nil
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		k, err := s.store.FindSessionKey(r.Context(), enroute.HashSecret(ck.Value))
		if err != nil {
			return nil, err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(csrfHeader) != "1" {
			return nil, errorf(enroute.EFORBIDDEN, "Send the %s header with writes from a browser session.", csrfHeader)
		}
		return k, nil
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="enroute"`)
	return nil, errorf(enroute.EUNAUTHORIZED, "Authentication required: send Authorization: Bearer <API key>.")
}

type loginRequest struct {
	Key *string `json:"key"`
}

// login starts a browser session from an API key: an HttpOnly,
// SameSite=Strict cookie (Secure over HTTPS) holding a random token whose
// hash the store keeps.
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Key == nil || *req.Key == "" {
		return enroute.FieldErrors(map[string]string{"key": "is required"})
	}
	keys, err := s.store.FindAPIKeys(c.Request().Context(), enroute.APIKeyFilter{KeyHash: enroute.HashSecret(*req.Key)})
	if err != nil {
		return err
	} else if len(keys) == 0 {
		return errorf(enroute.EUNAUTHORIZED, "That key is unknown or revoked.")
	}
	token := enroute.NewSecret("", 32)
	expires := s.now().Add(enroute.SessionTTL)
	if err := s.store.CreateSession(c.Request().Context(), keys[0].ID, enroute.HashSecret(token), expires); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https" || strings.HasPrefix(s.cfg.PublicURL, "https:")})
	return c.JSON(http.StatusOK, map[string]any{"name": keys[0].Name, "role": keys[0].Role, "expires_at": expires})
}

// logout ends the browser session.
func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Request().Cookie(sessionCookie); err == nil {
		if err := s.store.DeleteSession(c.Request().Context(), enroute.HashSecret(ck.Value)); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return c.NoContent(http.StatusNoContent)
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
