package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/ledger"
)

func TestCardWebhookFiftyConcurrentDeliveriesAndTheReturnPageCreditOnce(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	buyer, p, sid := s.paidByCard(f, "5.00", "pi_race")
	f.SetDelay(5 * time.Millisecond) // widen the window in which the callers overlap
	completed := cardtest.Event("evt_race_completed", "checkout.session.completed", f.Session(sid))
	// Stripe may also send async_payment_succeeded for the session: another event id.
	succeeded := cardtest.Event("evt_race_succeeded", "checkout.session.async_payment_succeeded", f.Session(sid))

	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var keys []string
	statuses := map[int]int{}
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
	deliver := func(payload []byte) func() {
		return func() {
			code, _ := s.deliver(payload, cardtest.Sign(payload, cardtest.WebhookSecret, time.Now()))
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		}
	}
	run(50, deliver(completed))
	run(5, deliver(succeeded))
	run(10, func() { // the buyer's page polling, in the buyer's browser
		st, _ := s.returnPage(buyer, p, "?session_id="+sid)
		mu.Lock()
		if st.Key != "" {
			keys = append(keys, st.Key)
		}
		mu.Unlock()
	})
	run(5, func() { // the same URL in another browser
		if st, _ := s.returnPage(newBrowser(), p, "?session_id="+sid); st.Key != "" {
			t.Errorf("a browser without the purchase cookie got the key")
		}
	})
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != 55 {
		t.Fatalf("webhook answers %v, want 55 × 200", statuses)
	}

	// Redeliveries after the burst, and the page once more (it may have read the
	// purchase while it was still pending).
	f.SetDelay(0)
	s.mustDeliver(completed)
	s.mustDeliver(succeeded)
	if st, _ := s.returnPage(buyer, p, ""); st.Key != "" {
		keys = append(keys, st.Key)
	}
	if len(keys) != 1 {
		t.Fatalf("the key was revealed %d times, want exactly once", len(keys))
	}
	code, a := s.account(keys[0])
	if code != 200 || a.Balance != 50_000 || len(a.Lots) != 1 || a.Lots[0].Credits != 50_000 {
		t.Fatalf("account: %d %+v, want one lot of 50000", code, a)
	}
	var credited int
	s.Ledger.Read(func(st *ledger.State) {
		for _, pu := range st.Purchases {
			if pu.CreditsGranted > 0 {
				credited++
			}
		}
		if _, ok := st.Done[ledger.CardOpID(sid)]; !ok {
			t.Errorf("no once-only op %s in the ledger", ledger.CardOpID(sid))
		}
	})
	if credited != 1 {
		t.Fatalf("%d purchases credited, want 1", credited)
	}
	t.Logf("Stripe was asked about the session %d times for 71 attempts", f.Count("GET", "/v1/checkout/sessions/"+sid))
}

func TestCardWebhookRejectsWhatStripeDidNotSendAndCreditsNothing(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	_, p, sid := s.paidByCard(f, "5.00", "pi_forged")
	genuine := cardtest.Event("evt_forged", "checkout.session.completed", f.Session(sid))
	now := time.Now()
	padded := f.Session(sid)
	padded["metadata"].(map[string]any)["padding"] = strings.Repeat("x", card.DefaultMaxWebhookBytes)
	oversized := cardtest.Event("evt_big", "checkout.session.completed", padded)
	tampered := []byte(strings.Replace(string(genuine), `"amount_total":500`, `"amount_total":500000`, 1))
	if string(tampered) == string(genuine) {
		t.Fatal("tampering did not change the payload")
	}
	oldVersion := cardtest.EventWithVersion("evt_old", "checkout.session.completed", "2024-06-20", f.Session(sid))

	for _, tc := range []struct {
		name    string
		payload []byte
		sig     string
		status  int
	}{
		{"ErrNoSignature", genuine, "", 400},
		{"ErrWrongSecret", genuine, cardtest.Sign(genuine, "whsec_test_not_this_endpoint", now), 400},
		{"ErrTamperedBody", tampered, cardtest.Sign(genuine, cardtest.WebhookSecret, now), 400},
		{"ErrOldTimestamp", genuine, cardtest.Sign(genuine, cardtest.WebhookSecret, now.Add(-10*time.Minute)), 400},
		{"ErrWrongAPIVersion", oldVersion, cardtest.Sign(oldVersion, cardtest.WebhookSecret, now), 400},
		{"ErrOversizedBody", oversized, cardtest.Sign(oversized, cardtest.WebhookSecret, now), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.deliver(tc.payload, tc.sig)
			if code != tc.status || !strings.Contains(body, `"invalid"`) {
				t.Fatalf("%d %s, want %d invalid", code, body, tc.status)
			}
		})
	}
	if n := f.Count("GET", "/v1/checkout/sessions/"+sid); n != 0 {
		t.Fatalf("Stripe was asked about the session %d times after refused events, want 0", n)
	}
	if st, _ := s.returnPage(newBrowser(), p, ""); st.Status != "credited" {
		// The purchase was paid all along: the return page credits it. What matters
		// above is that no refused event did.
		t.Fatalf("after the refused events the page shows %+v", st)
	}
	_ = s.mustDeliver(genuine) // and the genuine event is accepted (a repeat by now)
}

func TestCardWebhookEventsInAnyOrderEndTheSame(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())

	t.Run("RefundBeforeCompleted", func(t *testing.T) {
		b, p, sid := s.paidByCard(f, "5.00", "pi_order1")
		if got := s.mustDeliver(cardtest.Event("evt_o1_refund", "charge.refunded", cardtest.Charge("ch_o1", "pi_order1", 500, 200))); got != "refunded" {
			t.Fatalf("refund first: outcome %q", got)
		}
		if got := s.mustDeliver(cardtest.Event("evt_o1_completed", "checkout.session.completed", f.Session(sid))); got != "credited" {
			t.Fatalf("completed after: outcome %q", got)
		}
		st, _ := s.returnPage(b, p, "")
		if code, a := s.account(st.Key); code != 200 || a.Balance != 30_000 || len(a.Lots) != 1 {
			t.Fatalf("account: %d %+v, want 50000 credited once, 20000 clawed back", code, a)
		}
	})
	t.Run("DisputeClosedWonBeforeCreated", func(t *testing.T) {
		b, p, sid := s.paidByCard(f, "5.00", "pi_order2")
		s.mustDeliver(cardtest.Event("evt_o2_won", "charge.dispute.closed", cardtest.Dispute("du_o2", "ch_o2", "pi_order2", 500, "won")))
		s.mustDeliver(cardtest.Event("evt_o2_created", "charge.dispute.created", cardtest.Dispute("du_o2", "ch_o2", "pi_order2", 500, "needs_response")))
		s.mustDeliver(cardtest.Event("evt_o2_completed", "checkout.session.completed", f.Session(sid)))
		st, _ := s.returnPage(b, p, "")
		if code, a := s.account(st.Key); code != 200 || a.Balance != 50_000 {
			t.Fatalf("account: %d %+v, want 200 and 50000: a closed dispute stays closed", code, a)
		}
	})
	t.Run("DisputeClosedLostBeforeCreated", func(t *testing.T) {
		b, p, _ := s.paidByCard(f, "5.00", "pi_order3")
		s.mustDeliver(cardtest.Event("evt_o3_lost", "charge.dispute.closed", cardtest.Dispute("du_o3", "ch_o3", "pi_order3", 300, "lost")))
		s.mustDeliver(cardtest.Event("evt_o3_created", "charge.dispute.created", cardtest.Dispute("du_o3", "ch_o3", "pi_order3", 300, "needs_response")))
		st, _ := s.returnPage(b, p, "")
		if code, a := s.account(st.Key); code != 200 || a.Balance != 20_000 {
			t.Fatalf("account: %d %+v, want 200 and 20000 (30000 clawed back once)", code, a)
		}
	})
}

func TestCardRefundDeliveredTwiceClawsBackOnce(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b, p, sid := s.paidByCard(f, "5.00", "pi_refund")
	s.mustDeliver(cardtest.Event("evt_r_completed", "checkout.session.completed", f.Session(sid)))
	st, _ := s.returnPage(b, p, "")
	key := st.Key

	refund := cardtest.Event("evt_r1", "charge.refunded", cardtest.Charge("ch_r", "pi_refund", 500, 200))
	s.mustDeliver(refund)
	if got := s.mustDeliver(refund); got != "duplicate" { // the same event again
		t.Fatalf("redelivery: outcome %q, want duplicate", got)
	}
	// Another event reporting the same cumulative amount (Stripe's amount_refunded).
	s.mustDeliver(cardtest.Event("evt_r2", "charge.refunded", cardtest.Charge("ch_r", "pi_refund", 500, 200)))
	if _, a := s.account(key); a.Balance != 30_000 || a.Lots[0].Remaining != 30_000 {
		t.Fatalf("after a $2.00 refund reported three times: %+v, want 30000 left in the lot", a)
	}
	// A second refund: the cumulative amount grows to the whole charge.
	s.mustDeliver(cardtest.Event("evt_r3", "charge.refunded", cardtest.Charge("ch_r", "pi_refund", 500, 500)))
	// An older report delivered late changes nothing.
	s.mustDeliver(cardtest.Event("evt_r0", "charge.refunded", cardtest.Charge("ch_r", "pi_refund", 500, 100)))
	if _, a := s.account(key); a.Balance != 0 || a.Debt != 0 {
		t.Fatalf("after a full refund: %+v, want 0 and no debt", a)
	}
}

func TestCardDisputeSuspendsTheKeyUntilWon(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b, p, sid := s.paidByCard(f, "5.00", "pi_dispute")
	s.mustDeliver(cardtest.Event("evt_d_completed", "checkout.session.completed", f.Session(sid)))
	st, _ := s.returnPage(b, p, "")
	key := st.Key
	works := func(want int) {
		t.Helper()
		if code, _ := s.account(key); code != want {
			t.Fatalf("GET /api/v1/account: %d, want %d", code, want)
		}
		if code := s.charge(key, 100); code != want {
			t.Fatalf("POST /api/v1/charges: %d, want %d", code, want)
		}
	}
	works(200)

	opened := cardtest.Event("evt_d_opened", "charge.dispute.created", cardtest.Dispute("du_1", "ch_d", "pi_dispute", 500, "needs_response"))
	if got := s.mustDeliver(opened); got != "dispute opened" {
		t.Fatalf("outcome %q", got)
	}
	works(403)
	if got := s.mustDeliver(opened); got != "duplicate" { // redelivered: answered, nothing else
		t.Fatalf("redelivery: outcome %q, want duplicate", got)
	}
	works(403)

	if got := s.mustDeliver(cardtest.Event("evt_d_won", "charge.dispute.closed", cardtest.Dispute("du_1", "ch_d", "pi_dispute", 500, "won"))); got != "dispute won" {
		t.Fatalf("outcome %q", got)
	}
	works(200)
	// A late "opened" for the closed dispute (another event id, so it reaches the
	// ledger) changes nothing: a closed dispute is final.
	s.mustDeliver(cardtest.Event("evt_d_opened_late", "charge.dispute.created", cardtest.Dispute("du_1", "ch_d", "pi_dispute", 500, "needs_response")))
	works(200)
	if _, a := s.account(key); a.Balance != 50_000-300 {
		t.Fatalf("balance %d, want %d: a won dispute takes nothing back", a.Balance, 50_000-300)
	}
}

func TestCardLostDisputeClawsBackOnce(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b, p, sid := s.paidByCard(f, "5.00", "pi_lost")
	s.mustDeliver(cardtest.Event("evt_l_completed", "checkout.session.completed", f.Session(sid)))
	st, _ := s.returnPage(b, p, "")
	s.mustDeliver(cardtest.Event("evt_l_opened", "charge.dispute.created", cardtest.Dispute("du_l", "ch_l", "pi_lost", 500, "needs_response")))
	// Lost, reported twice under two event ids: both reach the ledger, which claws
	// back once per dispute.
	for _, id := range []string{"evt_l_lost", "evt_l_lost_again"} {
		lost := cardtest.Event(id, "charge.dispute.closed", cardtest.Dispute("du_l", "ch_l", "pi_lost", 500, "lost"))
		if got := s.mustDeliver(lost); got != "dispute lost" {
			t.Fatalf("%s: outcome %q", id, got)
		}
	}
	code, a := s.account(st.Key)
	if code != 200 || a.Balance != 0 || a.Debt != 0 {
		t.Fatalf("after a lost dispute of the whole payment: %d %+v, want the key restored, 0, no debt", code, a)
	}
}

func TestCardDelayedPaymentFailureMarksThePurchaseFailed(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b := newBrowser()
	p := s.buyByCard(b, "5.00")
	sess := f.Session(s.sessionOf(p.ID))
	sess["status"], sess["payment_status"] = "complete", "unpaid" // a bank debit, processing
	f.Put(sess)
	if got := s.mustDeliver(cardtest.Event("evt_async_done", "checkout.session.completed", sess)); got != "pending" {
		t.Fatalf("completed while processing: outcome %q, want pending", got)
	}
	if got := s.mustDeliver(cardtest.Event("evt_async_failed", "checkout.session.async_payment_failed", sess)); got != "failed" {
		t.Fatalf("async_payment_failed: outcome %q, want failed", got)
	}
	if st, _ := s.returnPage(b, p, ""); st.Status != "failed" || st.Key != "" {
		t.Fatalf("%+v, want failed", st)
	}

	// A failure naming this purchase with a session that is not its own changes nothing.
	other := s.buyByCard(newBrowser(), "5.00")
	foreign := f.Session(s.sessionOf(other.ID))
	foreign["metadata"] = map[string]any{"purchase_id": p.ID}
	foreign["client_reference_id"] = p.ID
	s.mustDeliver(cardtest.Event("evt_async_foreign", "checkout.session.async_payment_failed", foreign))
	if st, _ := s.returnPage(newBrowser(), other, ""); st.Status != "pending" {
		t.Fatalf("the other purchase: %+v, want pending", st)
	}
}

func TestCardWebhookForAPurchaseOfAnotherDeploymentIsAcknowledged(t *testing.T) {
	// A Stripe account shared with another deployment: a paid session whose purchase
	// id this ledger does not know is acknowledged (200) and credits nothing, so that
	// Stripe does not retry it for days.
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	f.Put(cardtest.PaidSession("cs_test_elsewhere", "pur_elsewhere", "pi_elsewhere", 500))
	if got := s.mustDeliver(cardtest.Event("evt_elsewhere", "checkout.session.completed", f.Session("cs_test_elsewhere"))); got != "refused" {
		t.Fatalf("outcome %q, want refused", got)
	}
	var n int
	s.Ledger.Read(func(st *ledger.State) { n = len(st.Accounts) })
	if n != 0 {
		t.Fatalf("%d accounts, want 0", n)
	}
}
