package card

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
)

// The golden payloads describe one purchase: testPurchase paid $5.00 with session
// testSession and payment intent testPI; $2.00 of it refunded; a dispute of $5.00,
// lost for $3.00. The async_payment_* payloads are another purchase, paid by bank debit.
const (
	asyncPurchase = "pur_Ach5Dq1Wz8"
	asyncSession  = "cs_test_b1Aa2Bb3Cc4Dd5Ee6Ff7Gg8Hh9Ii0Jj1Kk2Ll3Mm4Nn5Oo6Pp7Qq8Rr9Ss0Tt"
	asyncPI       = "pi_3RqU1vLkZ2mN4pQ11aAsYnCh"
	testCharge    = "ch_3RqT8uLkZ2mN4pQ10xYzAbCd"
	testDispute   = "du_1RqV2aLkZ2mN4pQ1DisPut01"
)

func outcomeOf(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	var b struct {
		Received bool   `json:"received"`
		Outcome  string `json:"outcome"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || !b.Received {
		tb.Fatalf("answer %d %q: want {\"received\": true, ...}", rec.Code, rec.Body.String())
	}
	return b.Outcome
}

// payingPurchase is the usual setup: Stripe knows testSession as paid ($5.00), the
// ledger knows testPurchase.
func payingPurchase(t *testing.T, change func(*Config)) (*cardtest.Stripe, *memLedger, *Service) {
	t.Helper()
	f := cardtest.NewStripe(t, testSecretKey)
	f.Put(cardtest.PaidSession(testSession, testPurchase, testPI, 500))
	l := newMemLedger(testPurchase, asyncPurchase)
	return f, l, MustOpenService(t, f.URL(), l, change)
}

func TestWebhookCreditsOnceUnderConcurrentDeliveriesAndReturnPage(t *testing.T) {
	f, l, s := payingPurchase(t, nil)
	f.SetDelay(5 * time.Millisecond) // widen the window in which the callers overlap
	h := s.Webhook()
	completed := golden(t, "checkout.session.completed.json")
	// Stripe may also send async_payment_succeeded for the same session: another event id.
	succeeded := goldenEvent(t, "checkout.session.async_payment_succeeded.json", func(e, o map[string]any) {
		o["id"], o["metadata"], o["client_reference_id"] = testSession, map[string]any{"purchase_id": testPurchase}, testPurchase
	})

	start := make(chan struct{})
	var wg sync.WaitGroup
	run := func(n int, fn func()) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fn()
			}()
		}
	}
	run(50, func() {
		if rec := deliver(t, h, completed); rec.Code != http.StatusOK {
			t.Errorf("completed: %d %s", rec.Code, rec.Body)
		}
	})
	run(5, func() {
		if rec := deliver(t, h, succeeded); rec.Code != http.StatusOK {
			t.Errorf("async_payment_succeeded: %d %s", rec.Code, rec.Body)
		}
	})
	run(10, func() {
		if _, err := s.FulfilPurchase(context.Background(), testPurchase, testSession); err != nil {
			t.Errorf("return page: %v", err)
		}
	})
	close(start)
	wg.Wait()

	// And later redeliveries, one at a time, after the in-process sharing is over.
	for range 3 {
		if rec := deliver(t, h, completed); rec.Code != http.StatusOK {
			t.Fatalf("redelivery: %d %s", rec.Code, rec.Body)
		}
	}
	st := l.state(testPurchase)
	if st.Credits != 50_000 || st.Remaining != 50_000 || len(st.Sessions) != 1 {
		t.Fatalf("ledger: %+v, want exactly one credit of 50,000", st)
	}
	t.Logf("%d CreditCard calls reached the ledger for 68 attempts", l.callCount("CreditCard"))
}

func TestWebhookRejectsWhatIsNotAGenuineCurrentStripeEvent(t *testing.T) {
	completed := golden(t, "checkout.session.completed.json")
	now := time.Now()
	withVersion := func(v string) []byte {
		return goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) { e["api_version"] = v })
	}
	oversized := goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) {
		o["metadata"].(map[string]any)["padding"] = strings.Repeat("x", DefaultMaxWebhookBytes)
	})
	tampered := bytes.Replace(completed, []byte(`"amount_total": 500`), []byte(`"amount_total": 500000`), 1)
	if bytes.Equal(tampered, completed) {
		t.Fatal("tampering did not change the payload")
	}

	for _, tc := range []struct {
		name    string
		method  string
		body    []byte
		sig     string
		status  int
		message string // part of the error message
	}{
		{"ErrNoSignature", "POST", completed, "", http.StatusBadRequest, "signature"},
		{"ErrMalformedSignature", "POST", completed, "t=abc,v1=zz", http.StatusBadRequest, "signature"},
		{"ErrWrongSecret", "POST", completed, sign(completed, "whsec_test_someone_else", now), http.StatusBadRequest, "signature"},
		{"ErrTamperedBody", "POST", tampered, sign(completed, testWebhookSecret, now), http.StatusBadRequest, "signature"},
		{"ErrOldTimestamp", "POST", completed, sign(completed, testWebhookSecret, now.Add(-DefaultWebhookTolerance-time.Minute)), http.StatusBadRequest, "tolerance"},
		{"ErrOtherReleaseTrain", "POST", withVersion("2025-09-30.clover"), "", http.StatusBadRequest, "API version"},
		{"ErrLegacyAPIVersion", "POST", withVersion("2024-06-20"), "", http.StatusBadRequest, "API version"},
		{"ErrNotAnEvent", "POST", []byte(`{"object":"checkout.session","id":"cs_test_1"}`), "", http.StatusBadRequest, "event"},
		{"ErrNotJSON", "POST", []byte("hello"), "", http.StatusBadRequest, "malformed"},
		{"ErrOversized", "POST", oversized, "", http.StatusRequestEntityTooLarge, "at most"},
		{"ErrMethod", "GET", completed, "", http.StatusMethodNotAllowed, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l, s := payingPurchase(t, nil)
			req := httptest.NewRequest(tc.method, "/api/v1/stripe/webhook", bytes.NewReader(tc.body))
			sig := tc.sig
			if sig == "" && !strings.HasPrefix(tc.name, "ErrNoSignature") {
				sig = sign(tc.body, testWebhookSecret, now)
			}
			if sig != "" {
				req.Header.Set("Stripe-Signature", sig)
			}
			rec := httptest.NewRecorder()
			s.Webhook().ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			code, msg := errorBody(t, rec.Body)
			if code != shared.CodeInvalid || !strings.Contains(msg, tc.message) {
				t.Fatalf("error %q %q, want code %q and a message about %q", code, msg, shared.CodeInvalid, tc.message)
			}
			if n := len(f.Recorded()); n != 0 {
				t.Fatalf("%d requests to Stripe, want 0", n)
			}
			if n := l.callCount("CreditCard"); n != 0 {
				t.Fatalf("CreditCard called %d times, want 0", n)
			}
		})
	}
}

func TestWebhookAPIVersionMustMatchStripeGoUnlessIgnored(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		ignore  bool
		status  int
	}{
		{"OKPinnedVersion", stripe.APIVersion, false, http.StatusOK},
		{"OKSameReleaseTrain", "2026-08-26.dahlia", false, http.StatusOK}, // stripe-go's rule: trains only add fields
		{"ErrOtherTrain", "2025-09-30.clover", false, http.StatusBadRequest},
		{"OKOtherTrainIgnored", "2025-09-30.clover", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, s := payingPurchase(t, func(c *Config) { c.IgnoreAPIVersionMismatch = tc.ignore })
			body := goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) { e["api_version"] = tc.version })
			rec := deliver(t, s.Webhook(), body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			credited := l.state(testPurchase).Credits == 50_000
			if credited != (tc.status == http.StatusOK) {
				t.Fatalf("credited = %v with status %d", credited, rec.Code)
			}
		})
	}
}

// refunded is a charge.refunded event with a cumulative amount_refunded.
func refunded(t *testing.T, eventID string, cumulativeCents int64) []byte {
	return goldenEvent(t, "charge.refunded.json", func(e, o map[string]any) {
		e["id"], o["amount_refunded"], o["refunded"] = eventID, cumulativeCents, cumulativeCents == 500
	})
}

func disputeEvent(t *testing.T, file, status string, cents int64) []byte {
	return goldenEvent(t, file, func(e, o map[string]any) {
		o["status"], o["amount"] = status, cents
		e["id"] = e["id"].(string) + "_" + status
	})
}

func TestWebhookRefundDeliveredTwiceClawsBackOnce(t *testing.T) {
	_, l, s := payingPurchase(t, nil)
	h := s.Webhook()
	steps := []struct {
		name                     string
		body                     []byte
		wantRemaining, wantClawd int64
	}{
		{"Completed", golden(t, "checkout.session.completed.json"), 50_000, 0},
		{"Refund$2", golden(t, "charge.refunded.json"), 30_000, 20_000},
		{"Refund$2Redelivered", golden(t, "charge.refunded.json"), 30_000, 20_000},
		{"Refund$2AgainUnderAnotherEventID", refunded(t, "evt_dup", 200), 30_000, 20_000},
		{"RefundedInFull", refunded(t, "evt_full", 500), 0, 50_000},
		{"LateOlderCumulative", refunded(t, "evt_late", 300), 0, 50_000},
	}
	for _, st := range steps {
		rec := deliver(t, h, st.body)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, rec.Code, rec.Body)
		}
		got := l.state(testPurchase)
		if got.Remaining != st.wantRemaining || got.Clawed != st.wantClawd {
			t.Fatalf("%s: remaining %d, clawed %d; want %d, %d", st.name, got.Remaining, got.Clawed, st.wantRemaining, st.wantClawd)
		}
	}
}

func TestWebhookRoutesEventsToTheLedgerInAnyOrder(t *testing.T) {
	completed := golden(t, "checkout.session.completed.json")
	sameSession := func(file string) []byte {
		return goldenEvent(t, file, func(e, o map[string]any) {
			o["id"], o["metadata"], o["client_reference_id"] = testSession, map[string]any{"purchase_id": testPurchase}, testPurchase
		})
	}
	created := golden(t, "charge.dispute.created.json")
	won := golden(t, "charge.dispute.closed.won.json")
	lost := golden(t, "charge.dispute.closed.lost.json") // $3.00 of $5.00 lost

	type want struct {
		status    string
		remaining int64
		clawed    int64
		suspended bool
	}
	for _, tc := range []struct {
		name     string
		events   [][]byte
		outcomes []string
		want     want
	}{
		{"CompletedCredits", [][]byte{completed}, []string{"credited"},
			want{"credited", 50_000, 0, false}},
		{"AsyncSucceededBeforeCompletedCreditsOnce", [][]byte{sameSession("checkout.session.async_payment_succeeded.json"), completed},
			[]string{"credited", "credited"}, want{"credited", 50_000, 0, false}},
		{"RefundBeforeCompletedCreditsThenClawsBack", [][]byte{golden(t, "charge.refunded.json"), completed},
			[]string{"refunded", "credited"}, want{"credited", 30_000, 20_000, false}},
		{"DisputeOpenedSuspends", [][]byte{completed, created}, []string{"credited", "dispute opened"},
			want{"credited", 50_000, 0, true}},
		{"DisputeWonRestores", [][]byte{completed, created, won}, []string{"credited", "dispute opened", "dispute won"},
			want{"credited", 50_000, 0, false}},
		{"DisputeLostRestoresAndClawsBackTheDisputedAmount", [][]byte{completed, created, lost},
			[]string{"credited", "dispute opened", "dispute lost"}, want{"credited", 20_000, 30_000, false}},
		{"DisputeLostTwiceClawsBackOnce", [][]byte{completed, created, lost,
			goldenEvent(t, "charge.dispute.closed.lost.json", func(e, o map[string]any) { e["id"] = "evt_lost_again" })},
			[]string{"credited", "dispute opened", "dispute lost", "dispute lost"}, want{"credited", 20_000, 30_000, false}},
		{"DisputeClosedBeforeOpenedStaysClosed", [][]byte{completed, won, created},
			[]string{"credited", "dispute won", "dispute opened"}, want{"credited", 50_000, 0, false}},
		{"DisputeBeforeCompletedStillSuspends", [][]byte{created, completed},
			[]string{"dispute opened", "credited"}, want{"credited", 50_000, 0, true}},
		{"InquiryClosedWithoutChargebackRestores", [][]byte{completed, disputeEvent(t, "charge.dispute.created.json", "warning_needs_response", 500),
			disputeEvent(t, "charge.dispute.closed.won.json", "warning_closed", 500)},
			[]string{"credited", "dispute opened", "dispute won"}, want{"credited", 50_000, 0, false}},
		{"UnknownClosingStatusKeepsTheSuspension", [][]byte{completed, created, disputeEvent(t, "charge.dispute.closed.won.json", "some_future_status", 500)},
			[]string{"credited", "dispute opened", "ignored"}, want{"credited", 50_000, 0, true}},
		{"RefundAndLostDisputeNeverTakeMoreThanCredited", [][]byte{completed, refunded(t, "evt_r", 400), created, lost},
			[]string{"credited", "refunded", "dispute opened", "dispute lost"}, want{"credited", 0, 50_000, false}},
		{"FailedAfterCreditedStaysCredited", [][]byte{completed, sameSession("checkout.session.async_payment_failed.json")},
			[]string{"credited", "failed"}, want{"credited", 50_000, 0, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, s := payingPurchase(t, nil)
			for i, ev := range tc.events {
				rec := deliver(t, s.Webhook(), ev)
				if rec.Code != http.StatusOK {
					t.Fatalf("event %d: %d %s", i, rec.Code, rec.Body)
				}
				if got := outcomeOf(t, rec); got != tc.outcomes[i] {
					t.Fatalf("event %d: outcome %q, want %q", i, got, tc.outcomes[i])
				}
			}
			st := l.state(testPurchase)
			got := want{st.Status, st.Remaining, st.Clawed, st.Suspended}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if len(st.Sessions) != 1 {
				t.Fatalf("credited sessions %v, want exactly one", st.Sessions)
			}
		})
	}
}

func TestWebhookDelayedPaymentCreditsOnlyWhenItSucceeds(t *testing.T) {
	f := cardtest.NewStripe(t, testSecretKey)
	pending := cardtest.PaidSession(asyncSession, asyncPurchase, asyncPI, 12_500)
	pending["payment_status"] = "unpaid" // complete, bank debit processing
	f.Put(pending)
	l := newMemLedger(asyncPurchase)
	s := MustOpenService(t, f.URL(), l, nil)
	h := s.Webhook()

	completed := goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) {
		e["id"], o["id"], o["metadata"], o["client_reference_id"] = "evt_async_completed", asyncSession, map[string]any{"purchase_id": asyncPurchase}, asyncPurchase
	})
	if got := outcomeOf(t, deliver(t, h, completed)); got != "pending" {
		t.Fatalf("completed while processing: outcome %q, want pending", got)
	}
	if st := l.state(asyncPurchase); st.Credits != 0 {
		t.Fatalf("credited %d before the payment succeeded", st.Credits)
	}

	t.Run("Succeeded", func(t *testing.T) {
		f.Pay(asyncSession, asyncPI)
		if got := outcomeOf(t, deliver(t, h, golden(t, "checkout.session.async_payment_succeeded.json"))); got != "credited" {
			t.Fatalf("outcome %q, want credited", got)
		}
		if st := l.state(asyncPurchase); st.Credits != 1_250_000 {
			t.Fatalf("credited %d, want 1,250,000", st.Credits)
		}
	})

	t.Run("Failed", func(t *testing.T) {
		l := newMemLedger(asyncPurchase)
		s := MustOpenService(t, f.URL(), l, nil)
		if got := outcomeOf(t, deliver(t, s.Webhook(), golden(t, "checkout.session.async_payment_failed.json"))); got != "failed" {
			t.Fatalf("outcome %q, want failed", got)
		}
		if st := l.state(asyncPurchase); st.Status != "failed" || st.Credits != 0 {
			t.Fatalf("got %+v, want failed with no credits", st)
		}
	})
}

func TestWebhookAcknowledgesEventsThatAreNotOursWithoutEffect(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    []byte
		outcome string
	}{
		{"OtherEventType", goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) { e["type"] = "customer.created" }), "ignored"},
		{"SessionWithoutPurchaseID", goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) { o["metadata"] = map[string]any{} }), "ignored"},
		{"SubscriptionSession", goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) { o["mode"] = "subscription" }), "ignored"},
		{"ChargeInEuros", goldenEvent(t, "charge.refunded.json", func(e, o map[string]any) { o["currency"] = "eur" }), "ignored"},
		{"ChargeWithoutPaymentIntent", goldenEvent(t, "charge.refunded.json", func(e, o map[string]any) { o["payment_intent"] = nil }), "ignored"},
		{"RefundOfAPaymentNotMadeByCheckout", goldenEvent(t, "charge.refunded.json", func(e, o map[string]any) { o["payment_intent"] = "pi_not_ours" }), "refused"},
		{"DisputeOfAPaymentNotMadeByCheckout", goldenEvent(t, "charge.dispute.created.json", func(e, o map[string]any) { o["payment_intent"] = "pi_not_ours" }), "refused"},
		{"SessionOfAnotherDeployment", goldenEvent(t, "checkout.session.completed.json", func(e, o map[string]any) {
			o["id"] = "cs_test_elsewhere"
		}), "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l, s := payingPurchase(t, nil)
			other := cardtest.PaidSession("cs_test_elsewhere", "pur_of_staging", "pi_staging", 500)
			f.Put(other)
			rec := deliver(t, s.Webhook(), tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200 (Stripe must not retry): %s", rec.Code, rec.Body)
			}
			if got := outcomeOf(t, rec); got != tc.outcome {
				t.Fatalf("outcome %q, want %q", got, tc.outcome)
			}
			if st := l.state(testPurchase); st.Credits != 0 || st.Clawed != 0 || st.Suspended {
				t.Fatalf("ledger changed: %+v", st)
			}
		})
	}
}

func TestWebhookTransientFailuresAnswer500SoStripeRetries(t *testing.T) {
	completed := golden(t, "checkout.session.completed.json")
	for _, tc := range []struct {
		name   string
		break_ func(f *cardtest.Stripe, l *memLedger)
		heal   func(f *cardtest.Stripe, l *memLedger)
	}{
		{"StripeUnavailable",
			func(f *cardtest.Stripe, l *memLedger) { f.Fail(http.StatusServiceUnavailable) },
			func(f *cardtest.Stripe, l *memLedger) {}},
		{"StripeRefusesTheKey", // a restricted key missing a permission: the operator can fix it
			func(f *cardtest.Stripe, l *memLedger) { f.Fail(http.StatusUnauthorized) },
			func(f *cardtest.Stripe, l *memLedger) {}},
		{"JournalUnavailable",
			func(f *cardtest.Stripe, l *memLedger) { l.setFail(errors.New("journal: lease lost")) },
			func(f *cardtest.Stripe, l *memLedger) { l.setFail(nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l, s := payingPurchase(t, nil)
			tc.break_(f, l)
			rec := deliver(t, s.Webhook(), completed)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500: %s", rec.Code, rec.Body)
			}
			if code, msg := errorBody(t, rec.Body); code != shared.CodeInternal || strings.Contains(msg, "lease") {
				t.Fatalf("error %q %q: want internal, without the detail", code, msg)
			}
			if st := l.state(testPurchase); st.Credits != 0 {
				t.Fatalf("credited %d during the failure", st.Credits)
			}
			tc.heal(f, l)
			rec = deliver(t, s.Webhook(), completed) // Stripe's retry
			if rec.Code != http.StatusOK || l.state(testPurchase).Credits != 50_000 {
				t.Fatalf("retry: %d %s, credits %d; want 200 and 50,000", rec.Code, rec.Body, l.state(testPurchase).Credits)
			}
		})
	}
}

func TestGoldenEventsDecodeToTheirActions(t *testing.T) {
	for _, tc := range []struct {
		file string
		want action
	}{
		{"checkout.session.completed.json", action{kind: actFulfil, sessionID: testSession}},
		{"checkout.session.async_payment_succeeded.json", action{kind: actFulfil, sessionID: asyncSession}},
		{"checkout.session.async_payment_failed.json", action{kind: actFail, failure: Failure{
			PurchaseID: asyncPurchase, SessionID: asyncSession, EventID: "evt_1RqU9zLkZ2mN4pQ1AsyncNo01", Reason: "the delayed payment failed"}}},
		{"charge.refunded.json", action{kind: actRefund, refund: Refund{
			PaymentIntentID: testPI, ChargeID: testCharge, RefundedCents: 200, ChargeCents: 500, EventID: "evt_3RqT8uLkZ2mN4pQ10Refund1"}}},
		{"charge.dispute.created.json", action{kind: actDispute, dispute: Dispute{
			PaymentIntentID: testPI, ChargeID: testCharge, DisputeID: testDispute, Outcome: DisputeOpened,
			Status: "needs_response", AmountCents: 500, EventID: "evt_1RqV2aLkZ2mN4pQ1DispOp01"}}},
		{"charge.dispute.closed.won.json", action{kind: actDispute, dispute: Dispute{
			PaymentIntentID: testPI, ChargeID: testCharge, DisputeID: testDispute, Outcome: DisputeWon,
			Status: "won", AmountCents: 500, EventID: "evt_1RqW7cLkZ2mN4pQ1DispWn01"}}},
		{"charge.dispute.closed.lost.json", action{kind: actDispute, dispute: Dispute{
			PaymentIntentID: testPI, ChargeID: testCharge, DisputeID: testDispute, Outcome: DisputeLost,
			Status: "lost", AmountCents: 300, EventID: "evt_1RqW7cLkZ2mN4pQ1DispLs01"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := decodeEvent(golden(t, tc.file), false)
			if err != nil {
				t.Fatalf("decodeEvent: %v", err)
			}
			if ev.APIVersion != stripe.APIVersion {
				t.Fatalf("golden api_version %q, want stripe-go's %q", ev.APIVersion, stripe.APIVersion)
			}
			if ev.act != tc.want {
				t.Fatalf("got %+v\nwant %+v", ev.act, tc.want)
			}
		})
	}
}

func TestWebhookRedeliveryOfAnAppliedEventIsADuplicate(t *testing.T) {
	f, l, s := payingPurchase(t, nil)
	h := s.Webhook()
	completed := golden(t, "checkout.session.completed.json")
	refund := golden(t, "charge.refunded.json")
	for i, want := range []string{"credited", "duplicate", "duplicate"} {
		if got := outcomeOf(t, deliver(t, h, completed)); got != want {
			t.Fatalf("delivery %d: outcome %q, want %q", i, got, want)
		}
	}
	for i, want := range []string{"refunded", "duplicate"} {
		if got := outcomeOf(t, deliver(t, h, refund)); got != want {
			t.Fatalf("refund delivery %d: outcome %q, want %q", i, got, want)
		}
	}
	if n := f.Count("GET", "/v1/checkout/sessions/"+testSession); n != 1 {
		t.Fatalf("Stripe was asked %d times, want 1: a duplicate is answered without it", n)
	}
	if n, m := l.callCount("CreditCard"), l.callCount("RefundCard"); n != 1 || m != 1 {
		t.Fatalf("ledger calls: CreditCard %d, RefundCard %d; want 1 each", n, m)
	}
	if st := l.state(testPurchase); st.Remaining != 30_000 {
		t.Fatalf("remaining %d, want 30000", st.Remaining)
	}

	t.Run("PendingIsNotRemembered", func(t *testing.T) {
		// A session still processing answers "pending"; a resend after the payment
		// succeeded must be applied, not answered as a duplicate.
		f, l, s := payingPurchase(t, nil)
		sess := cardtest.PaidSession(testSession, testPurchase, testPI, 500)
		sess["payment_status"] = "unpaid"
		f.Put(sess)
		if got := outcomeOf(t, deliver(t, s.Webhook(), completed)); got != "pending" {
			t.Fatalf("outcome %q, want pending", got)
		}
		f.Pay(testSession, testPI)
		if got := outcomeOf(t, deliver(t, s.Webhook(), completed)); got != "credited" {
			t.Fatalf("resent after payment: outcome %q, want credited", got)
		}
		if st := l.state(testPurchase); st.Remaining != 50_000 {
			t.Fatalf("remaining %d, want 50000", st.Remaining)
		}
	})

	t.Run("ForgetsTheOldestBeyondItsBound", func(t *testing.T) {
		var a appliedEvents
		for i := range maxAppliedEvents + 1 {
			a.add(fmt.Sprint("evt_", i), "credited")
		}
		if _, ok := a.outcome("evt_0"); ok {
			t.Fatal("the oldest id is still remembered past the bound")
		}
		if _, ok := a.outcome(fmt.Sprint("evt_", maxAppliedEvents)); !ok {
			t.Fatal("the newest id is forgotten")
		}
		if len(a.ids) != maxAppliedEvents {
			t.Fatalf("%d ids remembered, want %d", len(a.ids), maxAppliedEvents)
		}
	})
}
