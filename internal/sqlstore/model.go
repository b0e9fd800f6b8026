package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/enroutehq/enroute"
)

// SaveModel implements enroute.ModelStore: one row, replaced.
func (s *Store) SaveModel(ctx context.Context, m *enroute.ModelSnapshot) error {
	m.SavedAt = s.now()
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO eta_model (id, data, learned_until, saved_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, learned_until = excluded.learned_until, saved_at = excluded.saved_at`,
		m.Data, enroute.Timestamp(m.LearnedUntil), m.SavedAt)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// FindModel implements enroute.ModelStore.
func (s *Store) FindModel(ctx context.Context) (*enroute.ModelSnapshot, error) {
	var m enroute.ModelSnapshot
	err := s.q(ctx).QueryRow(ctx, "SELECT data, learned_until, saved_at FROM eta_model WHERE id = 1").Scan(&m.Data, &m.LearnedUntil, &m.SavedAt)
	if errors.Is(err, ErrNoRows) {
		return nil, enroute.Errorf(enroute.ENOTFOUND, "No model saved.")
	} else if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return &m, nil
}
