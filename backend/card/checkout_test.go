package card

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/internal/stripemock"
	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestCreateCheckoutIsAcceptedByStripeMock(t *testing.T) {
	// stripe-mock validates every parameter against Stripe's OpenAPI spec: a session it
	// creates has the shape Stripe accepts, with a secret key or a restricted one.
	m := stripemock.Start(t)
	for _, tc := range []struct{ name, key string }{
		{"SecretKey", testSecretKey},
		{"RestrictedKey", testRestrictedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustOpenService(t, m.URL, newMemLedger(), func(c *Config) { c.SecretKey = tc.key })
			c, err := s.CreateCheckout(context.Background(), CheckoutRequest{
				PurchaseID: "pur_mock1", Cents: 500, Credits: 50_000, Description: "$5.00 of credits",
				CustomerEmail: "buyer@example.com",
			})
			if err != nil {
				t.Fatalf("CreateCheckout: %v", err)
			}
			if !strings.HasPrefix(c.SessionID, "cs_") || c.URL == "" {
				t.Fatalf("got %+v, want a session id and a URL", c)
			}
		})
	}

	t.Run("ErrStripeMockValidates", func(t *testing.T) {
		// The same request with one parameter Stripe does not know is refused: the test
		// above can fail.
		s := MustOpenService(t, m.URL, newMemLedger(), nil)
		p := s.checkoutParams(CheckoutRequest{PurchaseID: "pur_mock2", Cents: 500, Credits: 50_000})
		p.AddExtra("no_such_parameter", "1")
		_, err := s.stripe.createSession(context.Background(), p)
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
			t.Fatalf("createSession with an unknown parameter: %v, want a 400 from stripe-mock", err)
		}
	})
}

func TestCreateCheckoutSendsExactParameters(t *testing.T) {
	const key = "rk_test_51FakeRestrictedKeyForTests"
	f := cardtest.NewStripe(t, key)
	s := MustOpenService(t, f.URL(), newMemLedger(), func(c *Config) {
		c.SecretKey = key
		c.PublicURL = "https://credits.example.com/shop/" // a path prefix and a trailing slash
	})
	req := CheckoutRequest{PurchaseID: "pur_7Hq2Xc9LmN4", Cents: 500, Credits: 50_000, Description: "$5.00 buys 50,000 credits"}
	c, err := s.CreateCheckout(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateCheckout: %v", err)
	}
	if c.SessionID != "cs_test_fake001" || c.URL != "https://checkout.stripe.com/c/pay/cs_test_fake001" || c.ExpiresAt.IsZero() {
		t.Fatalf("got %+v, want the fake's session, URL and expiry", c)
	}

	reqs := f.Recorded()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests to Stripe, want 1", len(reqs))
	}
	r := reqs[0]
	for _, tc := range []struct{ name, got, want string }{
		{"Method", r.Method, "POST"},
		{"Path", r.Path, "/v1/checkout/sessions"},
		{"Authorization", r.Header.Get("Authorization"), "Bearer " + key},
		{"IdempotencyKey", r.Header.Get("Idempotency-Key"), "aispace-credits-checkout-pur_7Hq2Xc9LmN4"},
		{"StripeVersion", r.Header.Get("Stripe-Version"), stripe.APIVersion},
		{"Mode", r.Form.Get("mode"), "payment"},
		{"UnitAmount", r.Form.Get("line_items[0][price_data][unit_amount]"), "500"},
		{"Currency", r.Form.Get("line_items[0][price_data][currency]"), "usd"},
		{"Quantity", r.Form.Get("line_items[0][quantity]"), "1"},
		{"ProductName", r.Form.Get("line_items[0][price_data][product_data][name]"), "AiSpace Credits — 50,000 credits"},
		{"MetadataPurchaseID", r.Form.Get("metadata[purchase_id]"), "pur_7Hq2Xc9LmN4"},
		{"ClientReferenceID", r.Form.Get("client_reference_id"), "pur_7Hq2Xc9LmN4"},
		{"PaymentIntentMetadata", r.Form.Get("payment_intent_data[metadata][purchase_id]"), "pur_7Hq2Xc9LmN4"},
		{"AdaptivePricingOff", r.Form.Get("adaptive_pricing[enabled]"), "false"},
		{"SuccessURL", r.Form.Get("success_url"), "https://credits.example.com/shop/purchase/pur_7Hq2Xc9LmN4?session_id={CHECKOUT_SESSION_ID}"},
		{"CancelURL", r.Form.Get("cancel_url"), "https://credits.example.com/shop/purchase/pur_7Hq2Xc9LmN4?canceled=1"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}

	// The whole form, as a golden file: any parameter added or changed shows in review.
	var lines []string
	for k, vs := range r.Form {
		for _, v := range vs {
			lines = append(lines, k+"="+v)
		}
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "checkout_form.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if got != string(want) {
		t.Errorf("form sent to Stripe:\n%s\nwant (%s):\n%s", got, path, want)
	}

	t.Run("RetryReturnsSameSession", func(t *testing.T) {
		again, err := s.CreateCheckout(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.SessionID != c.SessionID {
			t.Fatalf("second CreateCheckout: session %s, want %s (same idempotency key)", again.SessionID, c.SessionID)
		}
		if k := f.Recorded()[1].Header.Get("Idempotency-Key"); k != IdempotencyKey(req.PurchaseID) {
			t.Fatalf("second Idempotency-Key %q, want %q", k, IdempotencyKey(req.PurchaseID))
		}
	})
}

func TestCreateCheckoutRefusesWithoutCallingStripe(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  CheckoutRequest
		want error
	}{
		{"ErrBelowMinimum", CheckoutRequest{PurchaseID: "pur_1", Cents: 49, Credits: 4_900}, ErrBelowMinimum},
		{"ErrBelowMinimumOneCent", CheckoutRequest{PurchaseID: "pur_1", Cents: 1, Credits: 100}, ErrBelowMinimum},
		{"ErrAboveMaximum", CheckoutRequest{PurchaseID: "pur_1", Cents: 100_000_000, Credits: 10_000_000_000}, ErrAboveMaximum},
		{"ErrInvalidCredits", CheckoutRequest{PurchaseID: "pur_1", Cents: 500, Credits: 5_000}, ErrInvalid},
		{"ErrInvalidEmptyPurchaseID", CheckoutRequest{Cents: 500, Credits: 50_000}, ErrInvalid},
		{"ErrInvalidPathInPurchaseID", CheckoutRequest{PurchaseID: "../admin", Cents: 500, Credits: 50_000}, ErrInvalid},
		{"ErrInvalidQueryInPurchaseID", CheckoutRequest{PurchaseID: "p?x=1", Cents: 500, Credits: 50_000}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			s := MustOpenService(t, f.URL(), newMemLedger(), nil)
			_, err := s.CreateCheckout(context.Background(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := len(f.Recorded()); n != 0 {
				t.Fatalf("got %d requests to Stripe, want 0", n)
			}
		})
	}

	t.Run("OKAtMinimum", func(t *testing.T) {
		f := cardtest.NewStripe(t, testSecretKey)
		s := MustOpenService(t, f.URL(), newMemLedger(), nil)
		if _, err := s.CreateCheckout(context.Background(), CheckoutRequest{PurchaseID: "pur_1", Cents: MinimumCents, Credits: 5_000}); err != nil {
			t.Fatalf("$0.50: %v, want a session", err)
		}
	})
}

func TestCreateCheckoutStripeErrorsSayWhetherToRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		retryable bool
	}{
		{"ServerError", http.StatusInternalServerError, true},
		{"RateLimited", http.StatusTooManyRequests, true},
		{"BadRequest", http.StatusBadRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			s := MustOpenService(t, f.URL(), newMemLedger(), nil)
			f.Fail(tc.status)
			_, err := s.CreateCheckout(context.Background(), CheckoutRequest{PurchaseID: "pur_1", Cents: 500, Credits: 50_000})
			if err == nil {
				t.Fatal("got nil, want Stripe's error")
			}
			if got := Retryable(err); got != tc.retryable {
				t.Fatalf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
		})
	}
}

func TestNotConfiguredRefusesCardPayments(t *testing.T) {
	s, err := New(Config{PublicURL: testPublicURL}, nil)
	if err != nil {
		t.Fatalf("New without a key: %v, want a Service with card payments off", err)
	}
	if s.Configured() {
		t.Fatal("Configured() = true without a secret key")
	}
	_, err = s.CreateCheckout(context.Background(), CheckoutRequest{PurchaseID: "pur_1", Cents: 500, Credits: 50_000})
	if !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("CreateCheckout: %v, want ErrNotConfigured", err)
	}
	if err.Error() != "card payments are not set up on this server" {
		t.Fatalf("message %q, want the server's words", err)
	}
	if _, err := s.Fulfil(context.Background(), "cs_test_x"); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Fulfil: %v, want ErrNotConfigured", err)
	}
	rec := deliver(t, s.Webhook(), golden(t, "checkout.session.completed.json"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("webhook: %d, want 503", rec.Code)
	}
	if code, _ := errorBody(t, rec.Body); code != shared.CodeUnavailable {
		t.Fatalf("webhook error code %q, want %q", code, shared.CodeUnavailable)
	}
}

func TestNewRefusesWrongSettings(t *testing.T) {
	ok := Config{SecretKey: testSecretKey, WebhookSecret: testWebhookSecret, PublicURL: testPublicURL}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		ledger Ledger
	}{
		{"ErrPublishableKey", func(c *Config) { c.SecretKey = "pk_test_123" }, newMemLedger()},
		{"ErrNotAKey", func(c *Config) { c.SecretKey = "hello" }, newMemLedger()},
		{"ErrWebhookSecretNotWhsec", func(c *Config) { c.WebhookSecret = "sk_test_123" }, newMemLedger()},
		{"ErrNoPublicURL", func(c *Config) { c.PublicURL = "" }, newMemLedger()},
		{"ErrRelativePublicURL", func(c *Config) { c.PublicURL = "/shop" }, newMemLedger()},
		{"ErrPublicURLWithQuery", func(c *Config) { c.PublicURL = "https://x.example?a=1" }, newMemLedger()},
		{"ErrNoLedger", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			if tc.change != nil {
				tc.change(&cfg)
			}
			if _, err := New(cfg, tc.ledger); err == nil {
				t.Fatal("New: nil error, want a refusal")
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		s, err := New(ok, newMemLedger())
		if err != nil || !s.Configured() {
			t.Fatalf("New: %v, configured %v", err, s != nil && s.Configured())
		}
		if got, want := s.CancelURL("pur_1"), testPublicURL+"/purchase/pur_1?canceled=1"; got != want {
			t.Fatalf("CancelURL: %q, want %q", got, want)
		}
	})
}
