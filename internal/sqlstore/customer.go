package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const customerCols = "id, name, phone, email, language, sms_opt_out, created_at, updated_at"

func scanCustomer(r scanner) (*enroute.Customer, error) {
	var c enroute.Customer
	err := r.Scan(&c.ID, &c.Name, &c.Phone, &c.Email, &c.Language, &c.SMSOptOut, &c.CreatedAt, &c.UpdatedAt)
	return &c, err
}

// FindCustomerByID implements enroute.CustomerStore.
func (s *Store) FindCustomerByID(ctx context.Context, id int64) (*enroute.Customer, error) {
	c, err := scanCustomer(s.q(ctx).QueryRow(ctx, "SELECT "+customerCols+" FROM customers WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Customer", id)
	}
	return c, nil
}

// FindCustomers implements enroute.CustomerStore.
func (s *Store) FindCustomers(ctx context.Context, f enroute.CustomerFilter) ([]*enroute.Customer, error) {
	var w where
	if f.Phone != nil {
		w.add("phone = ?", *f.Phone)
	}
	return list(ctx, s.q(ctx), "SELECT "+customerCols+" FROM customers"+w.sql(f.Page), w.args, scanCustomer)
}

// CreateCustomer implements enroute.CustomerStore.
func (s *Store) CreateCustomer(ctx context.Context, c *enroute.Customer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.CreatedAt = s.now()
	c.UpdatedAt = c.CreatedAt
	return s.InTx(ctx, func(ctx context.Context) error {
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO customers (name, phone, email, language, sms_opt_out, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			c.Name, c.Phone, c.Email, c.Language, c.SMSOptOut, c.CreatedAt, c.UpdatedAt).Scan(&c.ID)
		if err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		return nil
	})
}

// UpdateCustomer implements enroute.CustomerStore.
func (s *Store) UpdateCustomer(ctx context.Context, id int64, upd enroute.CustomerUpdate) (*enroute.Customer, error) {
	var c *enroute.Customer
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		c, err = scanCustomer(s.q(ctx).QueryRow(ctx, "SELECT "+customerCols+" FROM customers WHERE id = $1"+s.d.ForUpdate, id))
		if err != nil {
			return notFound(err, "Customer", id)
		}
		upd.Apply(c)
		if err := c.Validate(); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		_, err = s.q(ctx).Exec(ctx, `UPDATE customers SET name = $1, phone = $2, email = $3, language = $4, sms_opt_out = $5, updated_at = $6 WHERE id = $7`,
			c.Name, c.Phone, c.Email, c.Language, c.SMSOptOut, c.UpdatedAt, id)
		return err
	})
	return c, err
}

// DeleteCustomer implements enroute.CustomerStore.
func (s *Store) DeleteCustomer(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "customers", "Customer", id, "The customer has locations or jobs; delete those first.")
}
