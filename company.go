package enroute

import (
	"context"
	"regexp"
	"time"
)

// Company is the field-service business using Enroute: its name, phone and
// logo appear on customer messages and the tracking page. There is one.
type Company struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	LogoURL  string `json:"logo_url"`
	TimeZone string `json:"time_zone"`
	Locale   string `json:"locale"`
	// BrandColor is the company's colour, #rrggbb, or "" for Enroute's:
	// the tracking page's header and accents.
	BrandColor string    `json:"brand_color"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Validate returns an EINVALID error naming every invalid field.
func (c *Company) Validate() error {
	v := validator{}
	v.text("name", c.Name, true, maxNameLen)
	v.phone("phone", c.Phone)
	v.url("logo_url", c.LogoURL)
	v.timeZone("time_zone", c.TimeZone)
	v.locale("locale", c.Locale, true)
	if c.BrandColor != "" && !ValidColor(c.BrandColor) {
		v.add("brand_color", "must be a colour as #rrggbb, like #0b6bcb")
	}
	return v.err()
}

// CompanyUpdate is a partial update; nil fields are left unchanged.
type CompanyUpdate struct {
	Name       *string
	Phone      *string
	LogoURL    *string
	TimeZone   *string
	Locale     *string
	BrandColor *string
}

// Apply sets the non-nil fields of u on c.
func (u CompanyUpdate) Apply(c *Company) {
	set(&c.Name, u.Name)
	set(&c.Phone, u.Phone)
	set(&c.LogoURL, u.LogoURL)
	set(&c.TimeZone, u.TimeZone)
	set(&c.Locale, u.Locale)
	set(&c.BrandColor, u.BrandColor)
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidColor reports whether s is a colour as #rrggbb.
func ValidColor(s string) bool { return hexColor.MatchString(s) }

// CompanyStore persists the company profile.
type CompanyStore interface {
	// FindCompany returns the company profile.
	FindCompany(ctx context.Context) (*Company, error)
	// UpdateCompany applies upd. Returns EINVALID.
	UpdateCompany(ctx context.Context, upd CompanyUpdate) (*Company, error)
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
