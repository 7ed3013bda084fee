package card

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/internal/stripemock"
)

const (
	testPurchase = "pur_7Hq2Xc9LmN4"
	testSession  = "cs_test_a1Qm3Wn8Rk5Tz2Vb7Yc4Xd9Ef6Gh1Jk3Lm5Np7Qr9St2Uv4Wx6Yz8Ab0Cd"
	testPI       = "pi_3RqT8uLkZ2mN4pQ10aBcDeFg"
)

func TestFulfilCreditsPaidSessionExactlyOnce(t *testing.T) {
	f := cardtest.NewStripe(t, testSecretKey)
	f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
	l := newMemLedger(testPurchase)
	s := MustOpenService(t, f.URL(), l, nil)

	for i := range 3 {
		p, err := s.Fulfil(context.Background(), testSession)
		if err != nil {
			t.Fatalf("Fulfil #%d: %v", i+1, err)
		}
		want := Paid{PurchaseID: testPurchase, SessionID: testSession, PaymentIntentID: testPI, AmountCents: 500,
			Currency: "usd", CustomerEmail: "buyer@example.com"}
		if p != want {
			t.Fatalf("Fulfil #%d: got %+v, want %+v", i+1, p, want)
		}
	}
	st := l.state(testPurchase)
	if st.Credits != 50_000 || st.Remaining != 50_000 || len(st.Sessions) != 1 || st.Status != "credited" {
		t.Fatalf("ledger: got %+v, want 50,000 credits from one session", st)
	}
	// Every call re-read the session from Stripe: nothing is trusted from a cache.
	if n := len(f.Recorded()); n != 3 {
		t.Fatalf("got %d Stripe reads, want 3", n)
	}
}

func TestFulfilCreditsOnlyPaidUSDPaymentSessionsOfOurs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s map[string]any)
		want   error
	}{
		{"ErrNotPaidOpen", func(s map[string]any) { s["status"], s["payment_status"] = "open", "unpaid" }, ErrNotPaid},
		{"ErrNotPaidAsyncProcessing", func(s map[string]any) { s["payment_status"] = "unpaid" }, ErrNotPaid},
		{"ErrExpired", func(s map[string]any) { s["status"], s["payment_status"] = "expired", "unpaid" }, ErrExpired},
		{"ErrRejectedCurrency", func(s map[string]any) { s["currency"] = "eur" }, ErrRejected},
		{"ErrRejectedMode", func(s map[string]any) { s["mode"] = "subscription" }, ErrRejected},
		{"ErrRejectedNoPurchaseID", func(s map[string]any) { s["metadata"] = map[string]any{} }, ErrRejected},
		{"ErrRejectedClientReferenceDiffers", func(s map[string]any) { s["client_reference_id"] = "pur_other" }, ErrRejected},
		{"ErrRejectedNoPaymentRequired", func(s map[string]any) { s["payment_status"] = "no_payment_required" }, ErrRejected},
		{"ErrRejectedZeroAmount", func(s map[string]any) { s["amount_total"] = 0 }, ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			sess := cardtest.PaidSession(testSession, testPurchase, testPI, 500)
			tc.change(sess)
			f.Put(sess)
			l := newMemLedger(testPurchase)
			s := MustOpenService(t, f.URL(), l, nil)
			_, err := s.Fulfil(context.Background(), testSession)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if Retryable(err) {
				t.Fatalf("Retryable(%v) = true", err)
			}
			if n := l.callCount("CreditCard"); n != 0 {
				t.Fatalf("CreditCard called %d times, want 0", n)
			}
		})
	}
}

func TestFulfilStripeFailuresCreditNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(f *cardtest.Stripe)
		retryable bool
	}{
		{"UnknownSession", func(f *cardtest.Stripe) {}, false},
		{"StripeDown", func(f *cardtest.Stripe) {
			f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
			f.Fail(http.StatusServiceUnavailable)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			tc.setup(f)
			l := newMemLedger(testPurchase)
			s := MustOpenService(t, f.URL(), l, nil)
			_, err := s.Fulfil(context.Background(), testSession)
			if err == nil || Retryable(err) != tc.retryable {
				t.Fatalf("got %v (retryable %v), want an error with retryable %v", err, Retryable(err), tc.retryable)
			}
			if n := l.callCount("CreditCard"); n != 0 {
				t.Fatalf("CreditCard called %d times, want 0", n)
			}
		})
	}
}

func TestFulfilAgainstStripeMockCreditsNothing(t *testing.T) {
	// stripe-mock answers any session id with its fixture: open, unpaid, no metadata.
	// The retrieve request is well-formed, and nothing is credited.
	m := stripemock.Start(t)
	l := newMemLedger(testPurchase)
	s := MustOpenService(t, m.URL, l, nil)
	_, err := s.Fulfil(context.Background(), testSession)
	if !errors.Is(err, ErrRejected) && !errors.Is(err, ErrNotPaid) {
		t.Fatalf("got %v, want ErrRejected or ErrNotPaid", err)
	}
	if n := l.callCount("CreditCard"); n != 0 {
		t.Fatalf("CreditCard called %d times, want 0", n)
	}
}

func TestFulfilPurchaseRefusesAnotherPurchasesSession(t *testing.T) {
	f := cardtest.NewStripe(t, testSecretKey)
	f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
	l := newMemLedger(testPurchase, "pur_other")
	s := MustOpenService(t, f.URL(), l, nil)

	p, err := s.FulfilPurchase(context.Background(), "pur_other", testSession)
	if !errors.Is(err, ErrSessionMismatch) || p != (Paid{}) {
		t.Fatalf("got %+v, %v; want ErrSessionMismatch and nothing about the session", p, err)
	}
	if st := l.state("pur_other"); st.Credits != 0 {
		t.Fatalf("pur_other got %d credits, want 0", st.Credits)
	}
	// The session is paid, so its own purchase is credited (idempotently).
	if st := l.state(testPurchase); st.Credits != 50_000 {
		t.Fatalf("%s: %d credits, want 50,000", testPurchase, st.Credits)
	}

	t.Run("OK", func(t *testing.T) {
		p, err := s.FulfilPurchase(context.Background(), testPurchase, testSession)
		if err != nil || p.PurchaseID != testPurchase {
			t.Fatalf("got %+v, %v", p, err)
		}
	})
}

func TestFulfilRefusesMalformedSessionIDsWithoutCallingStripe(t *testing.T) {
	for _, id := range []string{"", "cs_", "pi_123", "cs_test_../../v1/charges", "cs_test_x?expand[]=y", "cs_test_ä"} {
		t.Run(id, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			s := MustOpenService(t, f.URL(), newMemLedger(), nil)
			if _, err := s.Fulfil(context.Background(), id); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if n := len(f.Recorded()); n != 0 {
				t.Fatalf("got %d requests to Stripe, want 0", n)
			}
		})
	}
}

func TestFulfilLedgerErrorsSayWhetherToRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ledgerErr error
		purchases []string
		retryable bool
	}{
		{"TransientJournalOutage", errors.New("journal: not the writer"), []string{testPurchase}, true},
		{"ErrUnknownPurchase", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cardtest.NewStripe(t, testSecretKey)
			f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
			l := newMemLedger(tc.purchases...)
			l.setFail(tc.ledgerErr)
			s := MustOpenService(t, f.URL(), l, nil)
			p, err := s.Fulfil(context.Background(), testSession)
			if err == nil || Retryable(err) != tc.retryable {
				t.Fatalf("got %v (retryable %v), want retryable %v", err, Retryable(err), tc.retryable)
			}
			if p.SessionID != testSession {
				t.Fatalf("Paid not filled in on a ledger error: %+v", p)
			}
		})
	}
}

func TestCheckoutThenPaymentThenFulfil(t *testing.T) {
	// The whole card path against one fake: create, the buyer pays, the return page
	// fulfils the session id the purchase recorded.
	f := cardtest.NewStripe(t, testSecretKey)
	l := newMemLedger("pur_e2e")
	s := MustOpenService(t, f.URL(), l, nil)
	c, err := s.CreateCheckout(context.Background(), CheckoutRequest{PurchaseID: "pur_e2e", Cents: 1234, Credits: 123_400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FulfilPurchase(context.Background(), "pur_e2e", c.SessionID); !errors.Is(err, ErrNotPaid) {
		t.Fatalf("before paying: %v, want ErrNotPaid", err)
	}
	f.Pay(c.SessionID, "pi_e2e")
	p, err := s.FulfilPurchase(context.Background(), "pur_e2e", c.SessionID)
	if err != nil {
		t.Fatalf("after paying: %v", err)
	}
	if p.Credits() != 123_400 || l.state("pur_e2e").Credits != 123_400 {
		t.Fatalf("credited %d (ledger %d), want 123,400", p.Credits(), l.state("pur_e2e").Credits)
	}
}
