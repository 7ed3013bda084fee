package card

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// Obviously fake keys: stripe-mock accepts sk_test_/rk_test_ with three parts.
const (
	testSecretKey     = "sk_test_123"
	testRestrictedKey = "rk_test_123"
	testWebhookSecret = "whsec_test_aispace_0123456789"
	testPublicURL     = "https://credits.example.com"
)

// MustOpenService returns a Service talking to apiBase with the test keys; change lets
// a test adjust the settings.
func MustOpenService(tb testing.TB, apiBase string, l Ledger, change func(*Config)) *Service {
	tb.Helper()
	cfg := Config{
		SecretKey:         testSecretKey,
		WebhookSecret:     testWebhookSecret,
		PublicURL:         testPublicURL,
		APIBase:           apiBase,
		MaxNetworkRetries: stripe.Int64(0), // failures injected by a test must surface, not be retried away
		Logger:            testLogger(tb),
	}
	if change != nil {
		change(&cfg)
	}
	s, err := New(cfg, l)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// testLogger writes to the test's log, so failures show what the webhook said.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// golden reads a webhook payload from testdata/events.
func golden(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// goldenEvent reads a golden payload and lets the test change the event (e) and its
// data.object (o) before it is encoded again.
func goldenEvent(tb testing.TB, name string, change func(e, o map[string]any)) []byte {
	tb.Helper()
	var e map[string]any
	if err := json.Unmarshal(golden(tb, name), &e); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if change != nil {
		change(e, e["data"].(map[string]any)["object"].(map[string]any))
	}
	b, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// sign returns the Stripe-Signature header for payload, made with stripe-go's helper.
func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

// deliver POSTs a payload to the webhook as Stripe would, signed now with the test
// secret unless sigHeader is given.
func deliver(tb testing.TB, h http.Handler, payload []byte, sigHeader ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if len(sigHeader) > 0 {
		req.Header.Set("Stripe-Signature", sigHeader[0])
	} else {
		req.Header.Set("Stripe-Signature", sign(payload, testWebhookSecret, time.Now()))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorBody decodes the API's error shape.
func errorBody(tb testing.TB, r io.Reader) (code, message string) {
	tb.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.NewDecoder(r).Decode(&b); err != nil {
		tb.Fatalf("error body: %v", err)
	}
	return b.Error.Code, b.Error.Message
}
