package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
)

// Card payments: settings and the Stripe client. (Scaffold: the card payments work
// fills it.)

// cardConfig holds the flags of card payments.
type cardConfig struct{}

// cardFlags registers the flags of card payments.
func cardFlags(fs *flag.FlagSet, c *cardConfig) {}

// startCard returns the server's card part (nil: card purchases are refused).
func startCard(ctx context.Context, c serveConfig, led *ledger.Ledger, kr *keys.Keyring, log *slog.Logger) (*server.Card, error) {
	return nil, nil
}
