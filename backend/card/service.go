package card

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// Currency is the only currency the product sells credits in: credits are defined per
// US dollar, so a payment in anything else could not be turned into credits exactly.
const Currency = "usd"

// Webhook defaults.
const (
	// DefaultWebhookTolerance is how old a signature's timestamp may be (stripe-go's
	// default, Stripe's recommendation).
	DefaultWebhookTolerance = 5 * time.Minute
	// DefaultMaxWebhookBytes bounds a webhook body; Stripe's events are a few KiB.
	DefaultMaxWebhookBytes = 64 << 10
)

// Config is how the operator sets up card payments. Only SecretKey turns them on.
type Config struct {
	// SecretKey is a Stripe secret key (sk_test_..., sk_live_...) or a restricted key
	// (rk_...) with write access to Checkout Sessions. Empty turns card payments off:
	// CreateCheckout and Fulfil return ErrNotConfigured and the webhook answers 503.
	SecretKey string
	// WebhookSecret is the endpoint's signing secret (whsec_...). Without it the webhook
	// answers 503 and card purchases are credited only through the return page.
	WebhookSecret string
	// PublicURL is the site's public base URL ("https://credits.example.com", a path
	// prefix allowed); success and cancel URLs are built from it. Required with SecretKey.
	PublicURL string

	// APIBase is Stripe's API base URL; empty means https://api.stripe.com. Tests point
	// it at stripe-mock or a local server.
	APIBase string
	// HTTPClient makes the Stripe API calls; nil means a client with a 30s timeout.
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a failed call (with the same
	// idempotency key); nil means stripe-go's default (2).
	MaxNetworkRetries *int64

	// WebhookTolerance is how old a signature may be; 0 means DefaultWebhookTolerance.
	WebhookTolerance time.Duration
	// MaxWebhookBytes bounds a webhook body; 0 means DefaultMaxWebhookBytes.
	MaxWebhookBytes int64
	// IgnoreAPIVersionMismatch accepts events rendered for an API version of another
	// release train than stripe-go's (stripe.APIVersion, "2026-03-25.dahlia" for v85).
	// By default such events are refused with a 400, as stripe-go's
	// webhook.ConstructEvent does, because their objects may not decode correctly; the
	// fix is to create the webhook endpoint with stripe-go's API version.
	IgnoreAPIVersionMismatch bool

	// Logger receives one line per webhook event and stripe-go's own warnings; nil
	// means slog.Default(). Secrets and buyers' emails are never logged.
	Logger *slog.Logger
}

// Service creates Checkout Sessions, fulfils paid ones, and serves Stripe's webhook.
// It is safe for concurrent use.
type Service struct {
	stripe    stripeAPI // nil when not configured
	ledger    Ledger
	public    string // PublicURL without a trailing slash
	whSecret  string
	tolerance time.Duration
	maxBody   int64
	anyAPIVer bool
	log       *slog.Logger

	sessions flights[Paid]   // Fulfil, by session id
	events   flights[string] // webhook work, by event id; the result is the outcome
	applied  appliedEvents   // ids of events already applied, for redeliveries
}

// New checks cfg and returns a Service. Without cfg.SecretKey it returns a Service with
// card payments off (Configured is false), not an error; it returns an error for
// settings that are present but wrong (a publishable key, a relative PublicURL, a
// signing secret that is not whsec_...) and for a nil ledger.
func New(cfg Config, ledger Ledger) (*Service, error) {
	s := &Service{
		ledger:    ledger,
		whSecret:  cfg.WebhookSecret,
		tolerance: cfg.WebhookTolerance,
		maxBody:   cfg.MaxWebhookBytes,
		anyAPIVer: cfg.IgnoreAPIVersionMismatch,
		log:       cfg.Logger,
	}
	if s.tolerance <= 0 {
		s.tolerance = DefaultWebhookTolerance
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxWebhookBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.WebhookSecret != "" && !strings.HasPrefix(cfg.WebhookSecret, "whsec_") {
		return nil, errors.New("card: the Stripe webhook signing secret starts with whsec_ (Dashboard → Webhooks → the endpoint → Signing secret)")
	}
	if cfg.SecretKey == "" {
		return s, nil
	}
	if err := checkSecretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	if ledger == nil {
		return nil, errors.New("card: a ledger is required")
	}
	public, err := checkPublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if err := checkAPIBase(cfg.APIBase); err != nil {
		return nil, err
	}
	s.public = public
	s.stripe = newStripeGo(cfg, s.log)
	return s, nil
}

// Configured reports whether card payments are on (a secret key is set).
func (s *Service) Configured() bool { return s.stripe != nil }

func checkSecretKey(k string) error {
	switch {
	case strings.HasPrefix(k, "sk_"), strings.HasPrefix(k, "rk_"):
		if strings.ContainsAny(k, " \t\r\n") {
			return errors.New("card: the Stripe secret key contains white space")
		}
		return nil
	case strings.HasPrefix(k, "pk_"):
		return errors.New("card: that is a Stripe publishable key (pk_...); card payments need a secret key (sk_...) or a restricted key (rk_...) with write access to Checkout Sessions")
	default:
		return errors.New("card: a Stripe secret key starts with sk_ or rk_")
	}
}

func checkPublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("card: the public URL must be an absolute http(s) URL without query, like https://credits.example.com (got %q)", raw)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// checkAPIBase accepts https URLs, and plain http only on a loopback address (stripe-mock
// or a test server): the secret key goes in every request's Authorization header, so
// it must never cross a network in clear text.
func checkAPIBase(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("card: the Stripe API base must be an absolute URL like https://api.stripe.com (got %q)", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("card: the Stripe API base %q is plain http on a host that is not loopback; the secret key would travel in clear text (use https)", raw)
	default:
		return fmt.Errorf("card: the Stripe API base must be an http(s) URL (got %q)", raw)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// stripeAPI is all this package asks of Stripe.
type stripeAPI interface {
	createSession(ctx context.Context, p *stripe.CheckoutSessionCreateParams) (*stripe.CheckoutSession, error)
	session(ctx context.Context, id string) (*stripe.CheckoutSession, error)
	// sessionForPaymentIntent returns the Checkout Session that created the payment
	// intent, or nil when there is none (a payment made elsewhere).
	sessionForPaymentIntent(ctx context.Context, paymentIntentID string) (*stripe.CheckoutSession, error)
	// expireSession ends an open session so that it can no longer be paid.
	expireSession(ctx context.Context, id string) (*stripe.CheckoutSession, error)
}
