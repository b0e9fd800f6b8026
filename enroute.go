// Package enroute holds Enroute's domain: the types (Technician, Device,
// Customer, Location, Job, Assignment, APIKey, Company), their validation,
// the store interfaces that adapters implement, and Error with its codes.
//
// It imports the standard library only. Values are plain data and are not
// safe for concurrent mutation; implementations of the interfaces are safe
// for concurrent use unless they say otherwise.
package enroute

import (
	"context"
	"time"
)

// Store is everything Enroute persists. sqlite.Store (the embedded default)
// and postgres.Store implement it and pass the same conformance suite.
type Store interface {
	CompanyStore
	TechnicianStore
	DeviceStore
	CustomerStore
	LocationStore
	JobStore
	AssignmentStore
	APIKeyStore
	IdempotencyStore
	SettingsStore
	MessageStore
	ReplyStore
	TrackingStore
	FeedbackStore
	PositionStore
	ModelStore
	SessionStore
	WebhookStore

	// InTx runs fn in one transaction. Every store call made with the ctx
	// handed to fn joins that transaction; a nested InTx joins the outer one.
	// When fn returns an error (or panics) everything is rolled back, so
	// nothing is half-stored.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// AfterCommit runs fn once the transaction of ctx has committed, or at
	// once when ctx carries no transaction. It never runs after a rollback.
	// Use it for side effects outside the database (pushing events).
	AfterCommit(ctx context.Context, fn func())

	// Ping returns an error when the store cannot serve requests.
	Ping(ctx context.Context) error

	// Close releases the store's resources. It is idempotent.
	Close() error
}

// Page bounds a list query. Zero Limit means DefaultLimit.
type Page struct {
	Limit  int
	Offset int
}

// Page limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// EachPage calls fn with every item that find returns, asking for pages of
// size items until one comes back short; it stops at the first error.
func EachPage[T any](size int, find func(Page) ([]T, error), fn func(T) error) error {
	for p := (Page{Limit: size}); ; p.Offset += size {
		items, err := find(p)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) < size {
			return nil
		}
	}
}

// Normalize returns p with Limit in [1, MaxLimit] and Offset >= 0.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	} else if p.Limit > MaxLimit {
		p.Limit = MaxLimit
	}
	if p.Offset < 0 {
		p.Offset = 0
	}
	return p
}

// Timestamp returns t in UTC truncated to the microsecond, the precision
// every store keeps, so that a value read back equals the value written.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
