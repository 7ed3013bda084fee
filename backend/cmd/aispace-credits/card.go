package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/stripe/stripe-go/v85"
)

// Card payments: settings and the Stripe client. Stripe's success and cancel URLs are
// built from -public-url, the same URL buyers open, so they are never taken from a
// request.

// cardConfig holds the flags of card payments.
type cardConfig struct {
	SecretKey     string
	WebhookSecret string
	APIBase       string
}

// cardFlags registers the flags of card payments. The secrets are best given in the
// environment (AISPACE_STRIPE_SECRET_KEY, AISPACE_STRIPE_WEBHOOK_SECRET): a command
// line is visible to every user of the machine.
func cardFlags(fs *flag.FlagSet, c *cardConfig) {
	fs.StringVar(&c.SecretKey, "stripe-secret-key", "", "Stripe secret key (sk_...) or restricted key (rk_... with write access to Checkout Sessions); empty: card payments off")
	fs.StringVar(&c.WebhookSecret, "stripe-webhook-secret", "", "signing secret (whsec_...) of the Stripe webhook endpoint <public-url>/api/v1/stripe/webhook")
	fs.StringVar(&c.APIBase, "stripe-api-base", "", "Stripe API base URL (default https://api.stripe.com); plain http only on loopback, e.g. stripe-mock")
}

// startCard returns the server's card part (nil: card purchases are refused). The
// server binds it to its own ledger and keyring, so led and kr are not needed here.
func startCard(ctx context.Context, c serveConfig, led *ledger.Ledger, kr *keys.Keyring, log *slog.Logger) (*server.Card, error) {
	cc := c.Card
	if cc.SecretKey == "" {
		if cc.WebhookSecret != "" || cc.APIBase != "" {
			log.Warn("card payments are off: -stripe-webhook-secret or -stripe-api-base is set but -stripe-secret-key is not")
		} else {
			log.Info("card payments are off: no -stripe-secret-key")
		}
		return nil, nil
	}
	part, err := server.NewCard(card.Config{
		SecretKey:     cc.SecretKey,
		WebhookSecret: cc.WebhookSecret,
		PublicURL:     c.PublicURL,
		APIBase:       cc.APIBase,
		Logger:        log,
	})
	if err != nil {
		return nil, err
	}
	live := strings.Contains(cc.SecretKey, "_live_")
	if cc.WebhookSecret == "" {
		log.Warn("card payments: no -stripe-webhook-secret, so purchases are credited only when the buyer's page comes back from Stripe, and refunds and disputes are not seen")
	}
	if live && !strings.HasPrefix(c.PublicURL, "https://") {
		log.Warn("card payments: a live Stripe key with a public URL that is not https; buyers return from Stripe to " + c.PublicURL)
	}
	log.Info("card payments are on",
		"live", live,
		"restricted_key", strings.HasPrefix(cc.SecretKey, "rk_"),
		"webhook_endpoint", c.PublicURL+"/api/v1/stripe/webhook",
		"webhook_api_version", stripe.APIVersion,
		"api_base", cc.APIBase)
	return part, nil
}
