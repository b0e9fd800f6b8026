package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const companyQuery = "SELECT name, phone, logo_url, time_zone, locale, brand_color, updated_at FROM company WHERE id = 1"

func scanCompany(r scanner) (*enroute.Company, error) {
	var c enroute.Company
	if err := r.Scan(&c.Name, &c.Phone, &c.LogoURL, &c.TimeZone, &c.Locale, &c.BrandColor, &c.UpdatedAt); err != nil {
		return nil, fmt.Errorf("read company: %w", err)
	}
	return &c, nil
}

// FindCompany implements enroute.CompanyStore.
func (s *Store) FindCompany(ctx context.Context) (*enroute.Company, error) {
	return scanCompany(s.q(ctx).QueryRow(ctx, companyQuery))
}

// UpdateCompany implements enroute.CompanyStore.
func (s *Store) UpdateCompany(ctx context.Context, upd enroute.CompanyUpdate) (*enroute.Company, error) {
	var c *enroute.Company
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = scanCompany(s.q(ctx).QueryRow(ctx, companyQuery+s.d.ForUpdate)); err != nil {
			return err
		}
		upd.Apply(c)
		if err := c.Validate(); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		_, err = s.q(ctx).Exec(ctx, `UPDATE company SET name = $1, phone = $2, logo_url = $3, time_zone = $4, locale = $5, brand_color = $6, updated_at = $7 WHERE id = 1`,
			c.Name, c.Phone, c.LogoURL, c.TimeZone, c.Locale, c.BrandColor, c.UpdatedAt)
		return err
	})
	return c, err
}
