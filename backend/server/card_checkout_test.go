package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/internal/stripemock"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

func TestCardPurchaseCreatesACheckoutSessionAtStripeMock(t *testing.T) {
	// stripe-mock checks every parameter against Stripe's OpenAPI specification, so a
	// 200 from it means Stripe would accept the request's shape; the recorder in front
	// of it shows what was sent.
	m := stripemock.Start(t)
	for _, key := range []string{testStripeKey, testRestrictedKey} {
		t.Run(key[:3], func(t *testing.T) {
			rec := recordStripe(t, m.URL)
			s := MustRunCardServer(t, rec.URL, func(c *cardSetup) {
				c.key, c.publicURL = key, "https://credits.example.com"
			})
			b := newBrowser()
			var out shared.PurchaseCreated
			resp := do(t, b, "POST", s.URL+"/api/v1/purchases", "", shared.CreatePurchaseRequest{USD: "12.34", Method: "card"}, &out)
			if resp.StatusCode != http.StatusCreated || out.Card == nil || out.Card.CheckoutURL == "" || out.Secret == "" ||
				out.Method != "card" || out.USD != "12.34" || out.Credits != 123_400 || out.Status != "pending" {
				t.Fatalf("POST /api/v1/purchases: %d %+v, want 201 with a checkout_url", resp.StatusCode, out)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store: the answer holds the purchase secret", cc)
			}

			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached stripe-mock, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			sid := s.sessionOf(out.ID)
			for _, c := range []struct{ name, got, want string }{
				{"Status", http.StatusText(r.Status), "OK"},
				{"Method", r.Method, "POST"},
				{"Path", r.Path, "/v1/checkout/sessions"},
				{"Authorization", r.Header.Get("Authorization"), "Bearer " + key},
				{"IdempotencyKey", r.Header.Get("Idempotency-Key"), card.IdempotencyKey(out.ID)},
				{"Mode", r.Form.Get("mode"), "payment"},
				{"UnitAmount", r.Form.Get("line_items[0][price_data][unit_amount]"), "1234"},
				{"Currency", r.Form.Get("line_items[0][price_data][currency]"), "usd"},
				{"Quantity", r.Form.Get("line_items[0][quantity]"), "1"},
				{"MetadataPurchaseID", r.Form.Get("metadata[purchase_id]"), out.ID},
				{"ClientReferenceID", r.Form.Get("client_reference_id"), out.ID},
				{"SuccessURL", r.Form.Get("success_url"), "https://credits.example.com/purchase/" + out.ID + "?session_id={CHECKOUT_SESSION_ID}"},
				{"CancelURL", r.Form.Get("cancel_url"), "https://credits.example.com/purchase/" + out.ID + "?canceled=1"},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
				}
			}
			if !strings.HasPrefix(sid, "cs_") {
				t.Errorf("the ledger recorded session %q, want stripe-mock's cs_ id", sid)
			}

			// The purchase cookie binds the key to this browser.
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "aisk_purchase_"+out.ID {
					cookie = c
				}
			}
			if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || !cookie.Secure || cookie.Path != "/" ||
				strings.Contains(cookie.Value, out.Secret) {
				t.Errorf("purchase cookie %+v, want HttpOnly, SameSite=Lax, Secure (https public URL), not the secret itself", cookie)
			}

			// The return page asks stripe-mock about the recorded session; its fixture
			// is not one of our paid sessions, so nothing is credited.
			st, _ := s.returnPage(b, out, "?session_id="+sid)
			if st.Status != "pending" || st.Key != "" {
				t.Fatalf("return page at stripe-mock: %+v, want pending without a key", st)
			}
			reqs = rec.requests()
			if len(reqs) != 2 || reqs[1].Method != "GET" || reqs[1].Path != "/v1/checkout/sessions/"+sid || reqs[1].Status != http.StatusOK {
				t.Fatalf("requests after the return page: %+v, want a GET of the recorded session answered 200", reqs)
			}
		})
	}
}

func TestCardPurchaseBelowStripesMinimumIsRefusedNamingIt(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	for _, tc := range []struct {
		usd    string
		status int
	}{{"0.01", 400}, {"0.49", 400}, {"0.50", 201}} {
		t.Run(tc.usd, func(t *testing.T) {
			before := f.Count("POST", "/v1/checkout/sessions")
			resp := s.Do("POST", "/api/v1/purchases", "", shared.CreatePurchaseRequest{USD: tc.usd, Method: "card"}, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("$%s: %d, want %d", tc.usd, resp.StatusCode, tc.status)
			}
			if tc.status != 400 {
				return
			}
			var e shared.ErrorBody
			decodeJSON(t, resp, &e)
			if e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "$0.50") || !strings.Contains(e.Error.Message, "crypto") {
				t.Fatalf("$%s: %+v, want invalid naming the $0.50 minimum and crypto", tc.usd, e)
			}
			if f.Count("POST", "/v1/checkout/sessions") != before {
				t.Fatal("Stripe was called for an amount it cannot charge")
			}
		})
	}
}

func TestCardPaymentsAreOffWithoutAStripeKey(t *testing.T) {
	t.Run("Off", func(t *testing.T) {
		s := MustRunServer(t) // no Card
		var c shared.Config
		if r := s.Do("GET", "/api/v1/config", "", nil, &c); r.StatusCode != 200 || c.CardEnabled || c.CardMinUSD != "0.50" {
			t.Fatalf("config: %d %+v, want card_enabled false", r.StatusCode, c)
		}
		resp := s.Do("POST", "/api/v1/purchases", "", shared.CreatePurchaseRequest{USD: "5.00", Method: "card"}, nil)
		var e shared.ErrorBody
		decodeJSON(t, resp, &e)
		if resp.StatusCode != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "not set up") {
			t.Fatalf("card purchase: %d %+v, want 400 invalid saying card payments are not set up", resp.StatusCode, e)
		}
		if len(resp.Cookies()) != 0 {
			t.Fatal("a refused purchase set a cookie")
		}
		if code, _ := s.deliver([]byte(`{}`), "t=1,v1=00"); code != http.StatusNotFound {
			t.Fatalf("webhook without card payments: %d, want 404", code)
		}
	})
	t.Run("On", func(t *testing.T) {
		s := MustRunCardServer(t, cardtest.NewStripe(t, testStripeKey).URL())
		var c shared.Config
		if r := s.Do("GET", "/api/v1/config", "", nil, &c); r.StatusCode != 200 || !c.CardEnabled {
			t.Fatalf("config: %d %+v, want card_enabled true", r.StatusCode, c)
		}
	})
}

func TestCardPurchaseWhenStripeFailsRecordsNothing(t *testing.T) {
	f := cardtest.NewStripe(t, testStripeKey)
	s := MustRunCardServer(t, f.URL())
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusUnauthorized} {
		f.Fail(status)
		resp := s.Do("POST", "/api/v1/purchases", "", shared.CreatePurchaseRequest{USD: "5.00", Method: "card"}, nil)
		var e shared.ErrorBody
		decodeJSON(t, resp, &e)
		if resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "nothing was charged") ||
			resp.Header.Get("Retry-After") == "" {
			t.Fatalf("Stripe answering %d: %d %+v, want 503 unavailable with Retry-After", status, resp.StatusCode, e)
		}
		if strings.Contains(e.Error.Message, testStripeKey) {
			t.Fatal("the answer holds the Stripe key")
		}
	}
	var n int
	s.Ledger.Read(func(st *ledger.State) { n = len(st.Purchases) })
	if n != 0 {
		t.Fatalf("%d purchases journaled after Stripe failed, want 0", n)
	}
}

// stallingJournal is a journal whose database stops answering while stalled: the
// ledger keeps retrying the append, and the command waits.
type stallingJournal struct {
	ledger.Journal
	stalled atomic.Bool
}

func (j *stallingJournal) Append(ctx context.Context, entries []ledger.Entry) error {
	if j.stalled.Load() {
		return errors.New("injected: the database does not answer")
	}
	return j.Journal.Append(ctx, entries)
}

func TestCardSessionIsExpiredWhenItsPurchaseCannotBeJournaled(t *testing.T) {
	// Stripe created the session, then the journal did not answer before the request
	// ended: the buyer never gets the URL, and the session is expired at Stripe so it
	// can never be paid for a purchase the ledger may not know.
	f := cardtest.NewStripe(t, testStripeKey)
	j := &stallingJournal{}
	s := MustRunCardServer(t, f.URL(), func(c *cardSetup) {
		c.journal = func(inner ledger.Journal) ledger.Journal { j.Journal = inner; return j }
	})
	j.stalled.Store(true)
	// Unstall before the ledger closes (cleanups run last first), or a failure here
	// would leave Close waiting for an append that never lands.
	t.Cleanup(func() { j.stalled.Store(false) })
	client := &http.Client{Timeout: time.Second}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/purchases", strings.NewReader(`{"usd":"5.00","method":"card"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d while the journal was stalled, want no answer", resp.StatusCode)
	}
	sid := "cs_test_fake001"
	deadline := time.Now().Add(20 * time.Second)
	for f.Count("POST", "/v1/checkout/sessions/"+sid+"/expire") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the session was not expired at Stripe; requests: %+v", f.Recorded())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := f.Session(sid)["status"]; st != "expired" {
		t.Fatalf("session status %v, want expired", st)
	}
	j.stalled.Store(false) // the append lands late: the purchase exists, its session cannot be paid
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := jsonDecode(resp, v); err != nil {
		t.Fatalf("%d: %v", resp.StatusCode, err)
	}
}
