package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
)

// Obviously fake Stripe keys; stripe-mock accepts both.
const (
	testStripeKey     = "sk_test_123"
	testRestrictedKey = "rk_test_123"
)

// cardSetup is how MustRunCardServer builds its server.
type cardSetup struct {
	key           string
	webhookSecret string
	publicURL     string
	// journal wraps the store's journal, to make it fail.
	journal func(ledger.Journal) ledger.Journal
}

// MustRunCardServer is MustRunServer with card payments against the Stripe API at
// apiBase (stripe-mock, or a cardtest.Stripe that answers sessions as paid).
func MustRunCardServer(t *testing.T, apiBase string, change ...func(*cardSetup)) *TestServer {
	t.Helper()
	c := cardSetup{key: testStripeKey, webhookSecret: cardtest.WebhookSecret, publicURL: "http://localhost"}
	for _, f := range change {
		f(&c)
	}
	cardPart, err := server.NewCard(card.Config{
		SecretKey: c.key, WebhookSecret: c.webhookSecret, PublicURL: c.publicURL, APIBase: apiBase,
		MaxNetworkRetries: stripe.Int64(0), // an injected failure must surface, not be retried away
	})
	if err != nil {
		t.Fatal(err)
	}
	return MustRunServer(t, func(o *options) { o.publicURL, o.journal, o.card = c.publicURL, c.journal, cardPart })
}

// newBrowser is a browser: a client with a cookie jar of its own.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// buyByCard is the Buy page's "Pay with Card" in browser b.
func (s *TestServer) buyByCard(b *http.Client, usd string) shared.PurchaseCreated {
	s.t.Helper()
	var out shared.PurchaseCreated
	resp := do(s.t, b, "POST", s.URL+"/api/v1/purchases", "", shared.CreatePurchaseRequest{USD: usd, Method: shared.MethodCard}, &out)
	if resp.StatusCode != http.StatusCreated || out.Card == nil || out.Card.CheckoutURL == "" {
		s.t.Fatalf("POST /api/v1/purchases card $%s: %d %+v, want 201 with a checkout_url", usd, resp.StatusCode, out)
	}
	return out
}

// sessionOf is the Checkout Session the ledger recorded with a purchase.
func (s *TestServer) sessionOf(purchaseID string) string {
	s.t.Helper()
	var id string
	s.Ledger.Read(func(st *ledger.State) {
		if p := st.Purchases[purchaseID]; p != nil {
			id = p.SessionID
		}
	})
	if id == "" {
		s.t.Fatalf("purchase %s has no session in the ledger", purchaseID)
	}
	return id
}

// returnPage is the purchase page after Stripe sent the buyer back: it reads the
// purchase with its secret, from browser b, at a URL with query (e.g. the session id
// Stripe appended).
func (s *TestServer) returnPage(b *http.Client, p shared.PurchaseCreated, query string) (shared.PurchaseStatus, *http.Response) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/purchases/"+p.ID+query, nil)
	req.Header.Set("X-Purchase-Secret", p.Secret)
	resp, err := b.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st shared.PurchaseStatus
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil {
		s.t.Fatalf("GET purchase %s: %d %s", p.ID, resp.StatusCode, body)
	}
	return st, resp
}

// deliver POSTs a Stripe event to the webhook signed with sig (cardtest.Sign), and
// returns the status and the body.
func (s *TestServer) deliver(payload []byte, sig string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// mustDeliver delivers a genuine event (signed now with the test secret) and wants 200.
func (s *TestServer) mustDeliver(payload []byte) string {
	s.t.Helper()
	code, body := s.deliver(payload, cardtest.Sign(payload, cardtest.WebhookSecret, time.Now()))
	if code != http.StatusOK {
		s.t.Fatalf("webhook: %d %s, want 200", code, body)
	}
	var b struct{ Outcome string }
	json.Unmarshal([]byte(body), &b)
	return b.Outcome
}

// account is GET /api/v1/account with the key: the status and the account.
func (s *TestServer) account(key string) (int, shared.Account) {
	s.t.Helper()
	var a shared.Account
	resp := s.Do("GET", "/api/v1/account", key, nil, nil)
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

// charge spends n credits of key as a service, with a fresh idempotency key.
func (s *TestServer) charge(key string, n int64) int {
	s.t.Helper()
	resp := s.Do("POST", "/api/v1/charges", serviceToken, shared.ChargeRequest{
		Key: key, IdempotencyKey: keys.NewID("test_"), Credits: &n,
	}, nil)
	return resp.StatusCode
}

// paidByCard buys usd by card in a new browser, has the fake Stripe say it is paid by
// payment intent pi, and returns the browser, the purchase and its session.
func (s *TestServer) paidByCard(f *cardtest.Stripe, usd, pi string) (*http.Client, shared.PurchaseCreated, string) {
	s.t.Helper()
	b := newBrowser()
	p := s.buyByCard(b, usd)
	sid := s.sessionOf(p.ID)
	f.Pay(sid, pi)
	return b, p, sid
}

// proxied is one request a stripeRecorder passed on, with the answer's status.
type proxied struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
	Status       int
}

// stripeRecorder sits between the server and stripe-mock and records what went
// through, so a test sees both what was sent and that stripe-mock accepted it.
type stripeRecorder struct {
	URL  string
	mu   sync.Mutex
	reqs []proxied
}

func recordStripe(t *testing.T, target string) *stripeRecorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &stripeRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, proxied{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form, Status: sw.status})
		rec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (r *stripeRecorder) requests() []proxied {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proxied(nil), r.reqs...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
