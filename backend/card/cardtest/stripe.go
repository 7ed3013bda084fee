// Package cardtest has what tests of card payments share: a local stand-in for the
// parts of Stripe's API that card payments use, which (unlike stripe-mock) can say a
// Checkout Session is paid, and Stripe events built and signed the way Stripe sends
// them.
//
// It is for tests only. It imports nothing of this module, so the card package's own
// tests can use it as well as the server's.
package cardtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stripe is a local fake of Stripe's Checkout Sessions API that answers sessions as
// paid once the test says so (Pay); stripe-mock is stateless and never does. It
// records every request, creates sessions idempotently by Idempotency-Key as Stripe
// does, retrieves, lists by payment intent and expires them, and fails on request
// (Fail). It checks the API key and nothing else: request shapes are stripe-mock's job.
type Stripe struct {
	srv *httptest.Server
	key string // the only API key it accepts

	mu       sync.Mutex
	sessions map[string]map[string]any // by id: the JSON object
	byIdem   map[string]string         // Idempotency-Key → session id
	requests []Request
	failNext []int // statuses for the next requests, then normal service
	delay    time.Duration
	created  int
}

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // the POST body, or the query of a GET
}

// NewStripe starts a fake that accepts the API key key; it stops when the test ends.
func NewStripe(tb testing.TB, key string) *Stripe {
	f := &Stripe{key: key, sessions: map[string]map[string]any{}, byIdem: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's API base URL.
func (f *Stripe) URL() string { return f.srv.URL }

// Put stores (or replaces) a session as the API will answer it.
func (f *Stripe) Put(s map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s["id"].(string)] = s
}

// Pay marks a stored session complete and paid by paymentIntent, as Stripe does once
// the buyer paid.
func (f *Stripe) Pay(id, paymentIntent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	if s == nil {
		panic("cardtest: Pay of unknown session " + id)
	}
	s["status"], s["payment_status"], s["payment_intent"] = "complete", "paid", paymentIntent
}

// Session returns a copy of a stored session (nil if unknown), e.g. to put in an event.
func (f *Stripe) Session(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	if s == nil {
		return nil
	}
	c := maps.Clone(s)
	if m, ok := s["metadata"].(map[string]any); ok {
		c["metadata"] = maps.Clone(m)
	}
	return c
}

// Fail makes the next requests answer these statuses (a Stripe error body), in order.
func (f *Stripe) Fail(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, statuses...)
}

// SetDelay makes every answer wait d, to widen races.
func (f *Stripe) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Recorded returns every request received so far.
func (f *Stripe) Recorded() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count is how many requests had this method and path.
func (f *Stripe) Count(method, path string) int {
	n := 0
	for _, r := range f.Recorded() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func (f *Stripe) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
	delay := f.delay
	var fail int
	if len(f.failNext) > 0 {
		fail, f.failNext = f.failNext[0], f.failNext[1:]
	}
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail != 0 {
		stripeError(w, fail, "api_error", "", "injected failure")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	rest, isOne := strings.CutPrefix(r.URL.Path, "/v1/checkout/sessions/")
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions":
		if id, ok := f.byIdem[r.Header.Get("Idempotency-Key")]; ok {
			writeJSON(w, f.sessions[id])
			return
		}
		f.created++
		id := fmt.Sprintf("cs_test_fake%03d", f.created)
		s := map[string]any{
			"id": id, "object": "checkout.session", "mode": form.Get("mode"), "status": "open",
			"payment_status": "unpaid", "currency": form.Get("line_items[0][price_data][currency]"),
			"amount_total":        atoi(form.Get("line_items[0][price_data][unit_amount]")),
			"metadata":            map[string]any{"purchase_id": form.Get("metadata[purchase_id]"), "credits": form.Get("metadata[credits]")},
			"client_reference_id": form.Get("client_reference_id"), "payment_intent": nil,
			"url":        "https://checkout.stripe.com/c/pay/" + id,
			"expires_at": time.Now().Add(24 * time.Hour).Unix(), "livemode": false,
		}
		f.sessions[id] = s
		f.byIdem[r.Header.Get("Idempotency-Key")] = id
		writeJSON(w, s)
	case r.Method == http.MethodPost && isOne && action == "expire":
		s, ok := f.sessions[id]
		if !ok {
			stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such checkout.session: '"+id+"'")
			return
		}
		if s["status"] != "open" {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "Only Checkout Sessions with a status in [\"open\"] can be expired.")
			return
		}
		s["status"], s["url"] = "expired", nil
		writeJSON(w, s)
	case r.Method == http.MethodGet && isOne && action == "":
		s, ok := f.sessions[id]
		if !ok {
			stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such checkout.session: '"+id+"'")
			return
		}
		writeJSON(w, s)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/checkout/sessions":
		data := []any{}
		for _, s := range f.sessions {
			if pi := r.URL.Query().Get("payment_intent"); pi != "" && s["payment_intent"] == pi {
				data = append(data, s)
			}
		}
		writeJSON(w, map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/checkout/sessions"})
	default:
		stripeError(w, http.StatusNotFound, "invalid_request_error", "", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+")")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func stripeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "code": code, "message": msg}})
}

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// PaidSession is a Checkout Session as Stripe answers it once paid by card; tests
// change fields to make it open, unpaid, expired, foreign...
func PaidSession(id, purchaseID, paymentIntent string, cents int64) map[string]any {
	return map[string]any{
		"id": id, "object": "checkout.session", "mode": "payment",
		"status": "complete", "payment_status": "paid",
		"currency": "usd", "amount_subtotal": cents, "amount_total": cents,
		"metadata":            map[string]any{"purchase_id": purchaseID, "credits": fmt.Sprint(cents * 100)},
		"client_reference_id": purchaseID,
		"payment_intent":      paymentIntent,
		"customer_details":    map[string]any{"email": "buyer@example.com"},
		"livemode":            false, "url": nil,
	}
}
