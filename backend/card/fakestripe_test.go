package card

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePaidStripe is a local stand-in for Stripe's Checkout Sessions API that can say a
// session is paid, which stripe-mock never does (it is stateless and answers every
// session with the same open, unpaid fixture). It records every request, answers
// sessions from a map the test controls, lists them by payment intent, creates them
// idempotently by Idempotency-Key like Stripe, and can be told to fail.
type fakePaidStripe struct {
	t   testing.TB
	srv *httptest.Server
	key string // the only API key it accepts

	mu       sync.Mutex
	sessions map[string]map[string]any // by id: the JSON object
	byIdem   map[string]string         // Idempotency-Key → session id
	requests []recordedRequest
	failNext []int // statuses for the next requests, then normal service
	delay    time.Duration
	created  int
}

type recordedRequest struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // POST body or query
}

func newFakePaidStripe(t testing.TB, key string) *fakePaidStripe {
	f := &fakePaidStripe{t: t, key: key, sessions: map[string]map[string]any{}, byIdem: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePaidStripe) URL() string { return f.srv.URL }

// put stores (or replaces) a session as the API will answer it.
func (f *fakePaidStripe) put(s map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s["id"].(string)] = s
}

// pay marks a stored session complete and paid, as Stripe does once the buyer paid.
func (f *fakePaidStripe) pay(id, paymentIntent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	s["status"], s["payment_status"], s["payment_intent"] = "complete", "paid", paymentIntent
}

func (f *fakePaidStripe) fail(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, statuses...)
}

func (f *fakePaidStripe) setDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *fakePaidStripe) recorded() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests...)
}

func (f *fakePaidStripe) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	f.mu.Lock()
	f.requests = append(f.requests, recordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
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
	switch id, isOne := strings.CutPrefix(r.URL.Path, "/v1/checkout/sessions/"); {
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
	case r.Method == http.MethodGet && isOne:
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

// sessionObject is a Checkout Session as Stripe answers it once paid by card; tests
// change fields to make it open, unpaid, expired, foreign...
func sessionObject(id, purchaseID, paymentIntent string, cents int64) map[string]any {
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
