package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/enroutehq/enroute"
)

// FindSettings implements enroute.SettingsStore. Settings never saved keep
// their defaults, so a release that adds a setting needs no migration.
func (s *Store) FindSettings(ctx context.Context) (*enroute.Settings, error) {
	return s.readSettings(ctx, "")
}

func (s *Store) readSettings(ctx context.Context, lock string) (*enroute.Settings, error) {
	var raw string
	if err := s.q(ctx).QueryRow(ctx, "SELECT value FROM settings WHERE id = 1"+lock).Scan(&raw); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	st := enroute.DefaultSettings()
	if err := json.Unmarshal([]byte(raw), st); err != nil {
		return nil, fmt.Errorf("decode settings: %w", err)
	}
	return st, nil
}

// UpdateSettings implements enroute.SettingsStore.
func (s *Store) UpdateSettings(ctx context.Context, fn func(*enroute.Settings) error) (*enroute.Settings, error) {
	var st *enroute.Settings
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if st, err = s.readSettings(ctx, s.d.ForUpdate); err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = s.q(ctx).Exec(ctx, "UPDATE settings SET value = $1, updated_at = $2 WHERE id = 1", string(raw), s.now())
		return err
	})
	return st, err
}
