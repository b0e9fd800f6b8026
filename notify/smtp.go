package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTP sends e-mail through an SMTP server.
type SMTP struct {
	host     string
	port     int
	user     string
	password string
	security string // starttls, tls or none
	Timeout  time.Duration
}

// ParseSMTPURL reads ENROUTE_SMTP_URL:
//
//	smtp://user:pass@host:587               STARTTLS, required
//	smtps://user:pass@host:465              implicit TLS
//	smtp://host:1025?tls=none               no TLS, for a local server only
//
// Errors never quote the URL, which may hold a password.
func ParseSMTPURL(s string) (*SMTP, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("ENROUTE_SMTP_URL is not a URL; want smtp://user:pass@host:port")
	}
	c := &SMTP{host: u.Hostname(), Timeout: 20 * time.Second}
	switch u.Scheme {
	case "smtp":
		c.security, c.port = "starttls", 587
	case "smtps":
		c.security, c.port = "tls", 465
	default:
		return nil, errors.New("ENROUTE_SMTP_URL must start with smtp:// or smtps://")
	}
	if c.host == "" {
		return nil, errors.New("ENROUTE_SMTP_URL has no host")
	}
	if p := u.Port(); p != "" {
		if c.port, err = strconv.Atoi(p); err != nil || c.port <= 0 || c.port > 65535 {
			return nil, errors.New("ENROUTE_SMTP_URL has an invalid port")
		}
	}
	switch tls := u.Query().Get("tls"); tls {
	case "":
	case "none", "starttls":
		if u.Scheme == "smtps" {
			return nil, errors.New("ENROUTE_SMTP_URL: smtps:// is always TLS")
		}
		c.security = tls
	default:
		return nil, errors.New("ENROUTE_SMTP_URL: tls must be starttls or none")
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	return c, nil
}

// Addr returns host:port, for logs.
func (c *SMTP) Addr() string { return c.host + ":" + strconv.Itoa(c.port) }

// SendEmail implements EmailSender: one connection per message, a
// multipart/alternative body (text, then HTML). A 5xx reply is permanent;
// a refused connection or a 4xx reply is transient.
func (c *SMTP) SendEmail(ctx context.Context, e Email) (string, error) {
	m := mail.NewMsg()
	if err := m.FromFormat(e.FromName, e.From); err != nil {
		return "", permanent("from address: %w", err)
	}
	if err := m.To(e.To); err != nil {
		return "", permanent("to address: %w", err)
	}
	m.Subject(e.Subject)
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, e.Text)
	m.AddAlternativeString(mail.TypeTextHTML, e.HTML)

	opts := []mail.Option{mail.WithPort(c.port), mail.WithTimeout(c.Timeout)}
	switch c.security {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if c.user != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(c.user), mail.WithPassword(c.password))
	}
	client, err := mail.NewClient(c.host, opts...)
	if err != nil {
		return "", permanent("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPReset {
			return "", permanent("smtp %s: %w", c.Addr(), err)
		}
		return "", fmt.Errorf("smtp %s: %w", c.Addr(), err)
	}
	return e.MessageID, nil
}
