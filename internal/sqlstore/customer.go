package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// customerCols reads an absent external_id (NULL) as "".
const customerCols = "id, COALESCE(external_id, ''), name, phone, email, language, sms_opt_out, created_at, updated_at"

func scanCustomer(r scanner) (*enroute.Customer, error) {
	var c enroute.Customer
	err := r.Scan(&c.ID, &c.ExternalID, &c.Name, &c.Phone, &c.Email, &c.Language, &c.SMSOptOut, &c.CreatedAt, &c.UpdatedAt)
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
	if f.ExternalID != nil {
		w.add("external_id = ?", *f.ExternalID)
	}
	if f.Query != nil {
		searchCustomers(&w, *f.Query)
	}
	return list(ctx, s.q(ctx), "SELECT "+customerCols+" FROM customers"+w.sql(f.Page), w.args, scanCustomer)
}

// likeEscape makes s match itself in a LIKE pattern with ESCAPE '!'.
var likeEscape = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// searchCustomers adds CustomerFilter.Query's condition. Both sides go
// through the database's LOWER, so what it folds (PostgreSQL every
// letter, SQLite the ASCII ones) is the same on the name and the text,
// and a text typed as it is written always matches. It scans the
// customers (a company's thousands, a page at a time): no index serves
// a substring.
func searchCustomers(w *where, q string) {
	q = strings.TrimSpace(q)
	text := "%" + likeEscape.Replace(q) + "%"
	const named = "LOWER(name) LIKE LOWER(CAST(? AS TEXT)) ESCAPE '!' OR LOWER(email) LIKE LOWER(CAST(? AS TEXT)) ESCAPE '!'"
	if digits := enroute.SearchDigits(q); digits != "" {
		w.addEach("("+named+" OR phone LIKE ?)", text, text, "%"+digits+"%")
		return
	}
	w.addEach("("+named+")", text, text)
}

// CreateCustomer implements enroute.CustomerStore.
func (s *Store) CreateCustomer(ctx context.Context, c *enroute.Customer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.CreatedAt = s.now()
	c.UpdatedAt = c.CreatedAt
	return s.InTx(ctx, func(ctx context.Context) error { return s.insertCustomer(ctx, c) })
}

func (s *Store) insertCustomer(ctx context.Context, c *enroute.Customer) error {
	err := s.q(ctx).QueryRow(ctx, `INSERT INTO customers (external_id, name, phone, email, language, sms_opt_out, created_at, updated_at)
		VALUES (NULLIF($1, ''), $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		c.ExternalID, c.Name, c.Phone, c.Email, c.Language, c.SMSOptOut, c.CreatedAt, c.UpdatedAt).Scan(&c.ID)
	if err != nil {
		return s.externalIDTaken(fmt.Errorf("insert customer: %w", err), "customer", c.ExternalID)
	}
	return nil
}

func (s *Store) updateCustomer(ctx context.Context, c *enroute.Customer) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE customers SET external_id = NULLIF($1, ''), name = $2, phone = $3, email = $4, language = $5, sms_opt_out = $6, updated_at = $7 WHERE id = $8`,
		c.ExternalID, c.Name, c.Phone, c.Email, c.Language, c.SMSOptOut, c.UpdatedAt, c.ID)
	if err != nil {
		return s.externalIDTaken(fmt.Errorf("update customer %d: %w", c.ID, err), "customer", c.ExternalID)
	}
	return nil
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
		return s.updateCustomer(ctx, c)
	})
	return c, err
}

// DeleteCustomer implements enroute.CustomerStore.
func (s *Store) DeleteCustomer(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "customers", "Customer", id, "The customer has locations or jobs; delete those first.")
}

// ImportCustomers implements enroute.CustomerStore.
func (s *Store) ImportCustomers(ctx context.Context, rows []enroute.CustomerUpdate) (*enroute.ImportResult, error) {
	return importRows(ctx, s, importer[*enroute.Customer, enroute.CustomerUpdate]{
		table: "customers", cols: customerCols, scan: scanCustomer,
		key:    func(c *enroute.Customer) string { return c.ExternalID },
		rowKey: func(u enroute.CustomerUpdate) *string { return u.ExternalID },
		fresh:  func() *enroute.Customer { return &enroute.Customer{Language: "en"} },
		apply: func(u enroute.CustomerUpdate, c *enroute.Customer) *enroute.Customer {
			u.SMSOptOut = nil // the customer's own word, never an import's
			cp := *c
			u.Apply(&cp)
			return &cp
		},
		same: func(a, b *enroute.Customer) bool {
			return a.Name == b.Name && a.Phone == b.Phone && a.Email == b.Email && a.Language == b.Language
		},
		validate: (*enroute.Customer).Validate,
		stamp: func(c *enroute.Customer, created, updated time.Time, id int64) {
			if id != 0 {
				c.ID = id
			} else {
				c.CreatedAt = created
			}
			c.UpdatedAt = updated
		},
		id:     func(c *enroute.Customer) int64 { return c.ID },
		insert: s.insertCustomer,
		update: s.updateCustomer,
	}, rows)
}
