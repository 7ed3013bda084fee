package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/aispace/credits/backend/devchain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
)

// Crypto payments: settings, and the parts that run beside the HTTP server (the
// chain watcher, the price source). (Scaffold: the crypto payments work fills it.)

// cryptoConfig holds the flags of crypto payments.
type cryptoConfig struct{}

// cryptoFlags registers the flags of crypto payments.
func cryptoFlags(fs *flag.FlagSet, c *cryptoConfig) {}

// startCrypto starts what crypto payments need and returns the server's part; stop
// ends what it started. A nil *server.Crypto leaves crypto purchases refused.
func startCrypto(ctx context.Context, c serveConfig, led *ledger.Ledger, kr *keys.Keyring, dev *devchain.Chain, log *slog.Logger) (crypto *server.Crypto, stop func(), err error) {
	return nil, func() {}, nil
}
