package card

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// stripeGo is stripeAPI over stripe-go's client.
type stripeGo struct {
	c *stripe.Client
}

func newStripeGo(cfg Config, log *slog.Logger) *stripeGo {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: cfg.MaxNetworkRetries,
		LeveledLogger:     stripeLogger{log},
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(cfg.APIBase)
	}
	backends := stripe.NewBackendsWithConfig(bc)
	return &stripeGo{c: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends))}
}

func (g *stripeGo) createSession(ctx context.Context, p *stripe.CheckoutSessionCreateParams) (*stripe.CheckoutSession, error) {
	return g.c.V1CheckoutSessions.Create(ctx, p)
}

func (g *stripeGo) session(ctx context.Context, id string) (*stripe.CheckoutSession, error) {
	return g.c.V1CheckoutSessions.Retrieve(ctx, id, nil)
}

func (g *stripeGo) expireSession(ctx context.Context, id string) (*stripe.CheckoutSession, error) {
	return g.c.V1CheckoutSessions.Expire(ctx, id, nil)
}

func (g *stripeGo) sessionForPaymentIntent(ctx context.Context, pi string) (*stripe.CheckoutSession, error) {
	p := &stripe.CheckoutSessionListParams{PaymentIntent: stripe.String(pi)}
	p.Limit = stripe.Int64(1)
	p.Single = true
	for s, err := range g.c.V1CheckoutSessions.List(ctx, p).All(ctx) {
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, nil
}

// stripeLogger sends stripe-go's log lines to slog. stripe-go logs requests at info
// level (method and path, no keys); they go to debug here.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Infof(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}
