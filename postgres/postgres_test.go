package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/storetest"
	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

func open(t *testing.T) enroute.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestOpenBadDSNHidesPassword(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@[bad")
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}
