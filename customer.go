package enroute

import (
	"context"
	"strings"
	"time"
)

// Customer receives dispatch notifications. An empty Phone or Email means the
// customer has none; SMSOptOut is set when they texted STOP.
type Customer struct {
	ID int64 `json:"id"`
	// ExternalID is the customer's id in the company's own system,
	// unique among customers; imports find records by it.
	ExternalID string    `json:"external_id,omitempty"`
	Name       string    `json:"name"`
	Phone      string    `json:"phone"`
	Email      string    `json:"email"`
	Language   string    `json:"language"`
	SMSOptOut  bool      `json:"sms_opt_out"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Validate returns an EINVALID error naming every invalid field.
func (c *Customer) Validate() error {
	v := validator{}
	v.text("external_id", c.ExternalID, false, maxExternalIDLen)
	v.text("name", c.Name, true, maxNameLen)
	v.phone("phone", c.Phone)
	v.email("email", c.Email)
	v.locale("language", c.Language, true)
	return v.err()
}

// CustomerFilter selects customers; nil fields do not filter.
type CustomerFilter struct {
	Phone      *string
	ExternalID *string
	// Query finds customers as a dispatcher types: those whose name or
	// e-mail contains it, ignoring case (every letter on PostgreSQL, the
	// ASCII ones on SQLite, whose LOWER folds no others), and, when it is
	// written like a phone number (SearchDigits), those whose phone
	// contains its digits. At most MaxSearchLen characters; the API
	// refuses longer.
	Query *string
	Page
}

// MaxSearchLen bounds a search's text (CustomerFilter.Query), in
// characters: a name or a number, never a document.
const MaxSearchLen = 100

// SearchDigits returns the digits of q when q is written like a phone
// number (digits, spaces and + - . ( ) /, at least three digits), and ""
// otherwise: "(312) 555" finds "+13125550123", while a name with a digit
// in it searches names only, and one or two digits would match nearly
// every phone.
func SearchDigits(q string) string {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" +-.()/", r):
		default:
			return ""
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return b.String()
}

// CustomerUpdate is a partial update; nil fields are left unchanged.
type CustomerUpdate struct {
	ExternalID *string
	Name       *string
	Phone      *string
	Email      *string
	Language   *string
	SMSOptOut  *bool
}

// Apply sets the non-nil fields of u on c.
func (u CustomerUpdate) Apply(c *Customer) {
	set(&c.ExternalID, u.ExternalID)
	set(&c.Name, u.Name)
	set(&c.Phone, u.Phone)
	set(&c.Email, u.Email)
	set(&c.Language, u.Language)
	set(&c.SMSOptOut, u.SMSOptOut)
}

// CustomerStore persists customers.
type CustomerStore interface {
	// FindCustomerByID returns ENOTFOUND when there is no such customer.
	FindCustomerByID(ctx context.Context, id int64) (*Customer, error)
	// FindCustomers returns the matching customers ordered by id.
	FindCustomers(ctx context.Context, f CustomerFilter) ([]*Customer, error)
	// CreateCustomer returns EINVALID.
	CreateCustomer(ctx context.Context, c *Customer) error
	// UpdateCustomer returns EINVALID or ENOTFOUND.
	UpdateCustomer(ctx context.Context, id int64, upd CustomerUpdate) (*Customer, error)
	// ImportCustomers applies rows as ImportTechnicians does technicians
	// (a new customer's language defaults to "en"). An import never sets
	// SMSOptOut: that is the customer's own word (STOP, START). Returns
	// EINVALID or ECONFLICT.
	ImportCustomers(ctx context.Context, rows []CustomerUpdate) (*ImportResult, error)
	// DeleteCustomer returns ENOTFOUND, or ECONFLICT while locations or
	// jobs refer to the customer.
	DeleteCustomer(ctx context.Context, id int64) error
}
