package server_test

import (
	"net/http"
	"testing"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/shared"
)

func TestCardReturnPageCreditsFromAFakeStripeThatAnswersPaid(t *testing.T) {
	// stripe-mock never says a session is paid; cardtest.Stripe does once told to.
	// No webhook here: the return page alone credits the purchase.
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	buyer, p, sid := s.paidByCard(f, "5.00", "pi_return1")

	t.Run("WithoutTheCookieShowsTheStatusNeverTheKey", func(t *testing.T) {
		// Someone else who has the purchase secret and the URL with the session id, in
		// another browser.
		st, resp := s.returnPage(newBrowser(), p, "?session_id="+sid)
		if st.Status != "credited" || st.CreditsGranted != 50_000 || st.Key != "" || st.KeyDelivered || st.Message == "" {
			t.Fatalf("%+v, want credited 50000 without the key, and a message saying where it is", st)
		}
		checkPrivateAnswer(t, resp)
	})
	t.Run("WithTheCookieShowsTheKeyOnce", func(t *testing.T) {
		st, resp := s.returnPage(buyer, p, "?session_id="+sid)
		if st.Status != "credited" || st.Key == "" || shared.CheckKeyFormat(st.Key) != nil {
			t.Fatalf("%+v, want the new account's key", st)
		}
		checkPrivateAnswer(t, resp)
		if code, a := s.account(st.Key); code != 200 || a.Balance != 50_000 || len(a.Lots) != 1 || a.Lots[0].Source != "card" {
			t.Fatalf("account of the revealed key: %d %+v, want 50000 credits in one card lot", code, a)
		}
		again, _ := s.returnPage(buyer, p, "?session_id="+sid)
		if again.Key != "" || !again.KeyDelivered {
			t.Fatalf("second read: %+v, want no key, key_delivered", again)
		}
	})
	if n := f.Count("GET", "/v1/checkout/sessions/"+sid); n != 1 {
		t.Fatalf("Stripe was asked about the session %d times, want 1 (credited purchases are not asked about)", n)
	}
}

func TestCardReturnPageNeverTrustsTheSessionInTheURL(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	unpaid := s.buyByCard(newBrowser(), "5.00")
	unpaidSession := s.sessionOf(unpaid.ID)
	_, paid, paidSession := s.paidByCard(f, "7.00", "pi_y")

	// The unpaid purchase's page, with the paid purchase's session pasted in its URL.
	st, _ := s.returnPage(newBrowser(), unpaid, "?session_id="+paidSession)
	if st.Status != "pending" || st.CreditsGranted != 0 {
		t.Fatalf("unpaid purchase with another's session in the URL: %+v, want pending", st)
	}
	if n := f.Count("GET", "/v1/checkout/sessions/"+paidSession); n != 0 {
		t.Fatalf("the session from the URL was asked about %d times, want 0", n)
	}
	if n := f.Count("GET", "/v1/checkout/sessions/"+unpaidSession); n != 1 {
		t.Fatalf("the recorded session was asked about %d times, want 1", n)
	}
	if st, _ := s.returnPage(newBrowser(), paid, ""); st.Status != "credited" || st.CreditsGranted != 70_000 {
		t.Fatalf("the paid purchase: %+v, want credited 70000", st)
	}
}

func TestCardReturnPageMarksAnExpiredSessionExpired(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b := newBrowser()
	p := s.buyByCard(b, "5.00")
	sess := f.Session(s.sessionOf(p.ID))
	sess["status"] = "expired"
	f.Put(sess)
	if st, _ := s.returnPage(b, p, "?canceled=1"); st.Status != "expired" || st.Key != "" {
		t.Fatalf("%+v, want expired", st)
	}
}

func TestCardReturnPageWhileStripeIsDownShowsPending(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	b, p, sid := s.paidByCard(f, "5.00", "pi_down")
	f.Fail(http.StatusServiceUnavailable)
	if st, _ := s.returnPage(b, p, "?session_id="+sid); st.Status != "pending" || st.Key != "" {
		t.Fatalf("Stripe down: %+v, want pending (the page asks again)", st)
	}
}

// checkPrivateAnswer checks the headers of an answer that may hold a key: never
// cached, and the page's URL (purchase id, session id) never sent on as a referrer.
func checkPrivateAnswer(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
}

func TestCardPurchaseWhileLoggedInTopsUpThatAccount(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	key := s.MustAccount(1_000)
	b := newBrowser()
	var p shared.PurchaseCreated
	if resp := do(t, b, "POST", s.URL+"/api/v1/purchases", key, shared.CreatePurchaseRequest{USD: "2.50", Method: "card"}, &p); resp.StatusCode != 201 {
		t.Fatalf("top-up purchase: %d", resp.StatusCode)
	}
	sid := s.sessionOf(p.ID)
	f.Pay(sid, "pi_topup")
	s.mustDeliver(cardtest.Event("evt_topup", "checkout.session.completed", f.Session(sid)))
	st, _ := s.returnPage(b, p, "?session_id="+sid)
	if st.Status != "credited" || !st.TopUp || st.Key != "" {
		t.Fatalf("%+v, want credited as a top-up, no new key", st)
	}
	if code, a := s.account(key); code != 200 || a.Balance != 1_000+25_000 || len(a.Lots) != 2 {
		t.Fatalf("account: %d %+v, want 26000 in two lots", code, a)
	}
}
