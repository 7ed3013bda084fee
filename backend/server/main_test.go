package server_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the tests quiet: only errors are logged.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(m.Run())
}
