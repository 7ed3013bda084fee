package card

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/internal/stripemock"
)

func TestExpireCheckoutEndsAnOpenSessionOnly(t *testing.T) {
	ctx := context.Background()
	f := cardtest.NewStripe(t, testSecretKey)
	s := MustOpenService(t, f.URL(), newMemLedger(), nil)
	c, err := s.CreateCheckout(ctx, CheckoutRequest{PurchaseID: "pur_exp1", Cents: 500, Credits: 50_000})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		if err := s.ExpireCheckout(ctx, c.SessionID); err != nil {
			t.Fatalf("ExpireCheckout: %v", err)
		}
		if got := f.Session(c.SessionID)["status"]; got != "expired" {
			t.Fatalf("session status %v, want expired", got)
		}
		if n := f.Count("POST", "/v1/checkout/sessions/"+c.SessionID+"/expire"); n != 1 {
			t.Fatalf("%d expire requests, want 1", n)
		}
	})
	t.Run("ErrNotOpenWhenExpiredAlready", func(t *testing.T) {
		if err := s.ExpireCheckout(ctx, c.SessionID); !errors.Is(err, ErrNotOpen) || Retryable(err) {
			t.Fatalf("got %v, want ErrNotOpen, not retryable", err)
		}
	})
	t.Run("ErrNotOpenWhenPaid", func(t *testing.T) {
		f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
		if err := s.ExpireCheckout(ctx, testSession); !errors.Is(err, ErrNotOpen) {
			t.Fatalf("got %v, want ErrNotOpen", err)
		}
		if got := f.Session(testSession)["status"]; got != "complete" {
			t.Fatalf("a paid session became %v", got)
		}
	})
	t.Run("ErrStripeDownIsRetryable", func(t *testing.T) {
		c2, err := s.CreateCheckout(ctx, CheckoutRequest{PurchaseID: "pur_exp2", Cents: 500, Credits: 50_000})
		if err != nil {
			t.Fatal(err)
		}
		f.Fail(http.StatusServiceUnavailable, http.StatusServiceUnavailable)
		if err := s.ExpireCheckout(ctx, c2.SessionID); err == nil || !Retryable(err) {
			t.Fatalf("got %v, want a retryable error", err)
		}
	})
	t.Run("ErrInvalidSessionIDWithoutCallingStripe", func(t *testing.T) {
		before := len(f.Recorded())
		if err := s.ExpireCheckout(ctx, "cs_x/../../v1/charges"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
		if len(f.Recorded()) != before {
			t.Fatal("Stripe was called")
		}
	})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		off, _ := New(Config{}, nil)
		if err := off.ExpireCheckout(ctx, c.SessionID); !errors.Is(err, ErrNotConfigured) {
			t.Fatalf("got %v, want ErrNotConfigured", err)
		}
	})
}

func TestExpireCheckoutIsAcceptedByStripeMock(t *testing.T) {
	// stripe-mock validates the path and parameters of the expire call; its fixture
	// session is open, so the call succeeds.
	m := stripemock.Start(t)
	s := MustOpenService(t, m.URL, newMemLedger(), nil)
	if err := s.ExpireCheckout(context.Background(), testSession); err != nil {
		t.Fatalf("ExpireCheckout at stripe-mock: %v", err)
	}
}

func TestNewRefusesAPIBaseThatWouldSendTheKeyInClearText(t *testing.T) {
	for _, tc := range []struct {
		base string
		ok   bool
	}{
		{"", true},
		{"https://api.stripe.com", true},
		{"https://stripe-proxy.internal.example:8443", true},
		{"http://127.0.0.1:12111", true},
		{"http://localhost:12111", true},
		{"http://[::1]:12111", true},
		{"http://api.stripe.com", false},
		{"http://10.0.0.5:12111", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:12111", false},
		{"https://user:pass@api.stripe.com", false},
	} {
		t.Run(tc.base, func(t *testing.T) {
			_, err := New(Config{SecretKey: testSecretKey, PublicURL: testPublicURL, APIBase: tc.base}, newMemLedger())
			if (err == nil) != tc.ok {
				t.Fatalf("New with APIBase %q: %v, want ok=%v", tc.base, err, tc.ok)
			}
		})
	}
}
