package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/storetest"
	"github.com/enroutehq/enroute/sqlite"
)

func open(t *testing.T) enroute.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tech := &enroute.Technician{Name: "Ana", Active: true}
	if err := s.CreateTechnician(ctx, tech); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.FindTechnicianByID(ctx, tech.ID)
	if err != nil || got.Name != "Ana" {
		t.Fatalf("after reopen = %+v, %v", got, err)
	}
}
