package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/internal/stripemock"
	"github.com/aispace/credits/shared"
)

// Obviously fake Stripe secrets; stripe-mock accepts the key.
const (
	cardTestKey     = "sk_test_123"
	cardTestWebhook = cardtest.WebhookSecret
)

func TestCardFlagsReadTheEnvironment(t *testing.T) {
	env := map[string]string{
		"AISPACE_STRIPE_SECRET_KEY":     "rk_test_from_env",
		"AISPACE_STRIPE_WEBHOOK_SECRET": "whsec_test_from_env",
		"AISPACE_STRIPE_API_BASE":       "http://127.0.0.1:12111",
	}
	c, err := parseServe([]string{"-stripe-api-base", "http://127.0.0.1:9"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := cardConfig{SecretKey: "rk_test_from_env", WebhookSecret: "whsec_test_from_env", APIBase: "http://127.0.0.1:9"}
	if c.Card != want {
		t.Fatalf("card settings %+v, want %+v (the flag wins over the environment)", c.Card, want)
	}
}

func TestServeRefusesWrongStripeSettingsAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrPublishableKey", []string{"-stripe-secret-key", "pk_test_123"}, "publishable"},
		{"ErrWebhookSecretIsNotWhsec", []string{"-stripe-secret-key", cardTestKey, "-stripe-webhook-secret", "sk_test_123"}, "whsec_"},
		{"ErrAPIBaseInClearText", []string{"-stripe-secret-key", cardTestKey, "-stripe-api-base", "http://api.example.com"}, "clear text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)
			err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want a refusal mentioning %q", err, tc.want)
			}
			for _, secret := range []string{"sk_test_123", "pk_test_123"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the refusal %q echoes a key", err)
				}
			}
		})
	}
}

func TestServeWithoutAStripeKeyRefusesCardPayments(t *testing.T) {
	s := MustRunServer(t, t.TempDir())
	var c shared.Config
	if code := get(t, s.URL+"/api/v1/config", "", &c); code != 200 || c.CardEnabled {
		t.Fatalf("config: %d %+v, want card_enabled false", code, c)
	}
	code, body := cardPost(t, http.DefaultClient, s.URL+"/api/v1/purchases", `{"usd":"5.00","method":"card"}`)
	if code != 400 || !strings.Contains(body, "not set up") {
		t.Fatalf("card purchase: %d %s, want 400 saying card payments are not set up", code, body)
	}
}

func TestServeCreatesCheckoutSessionsAtStripeMock(t *testing.T) {
	m := stripemock.Start(t)
	s := MustRunServer(t, t.TempDir(), "-stripe-secret-key", cardTestKey, "-stripe-api-base", m.URL, "-stripe-webhook-secret", cardTestWebhook)
	var c shared.Config
	if code := get(t, s.URL+"/api/v1/config", "", &c); code != 200 || !c.CardEnabled {
		t.Fatalf("config: %d %+v, want card_enabled true", code, c)
	}
	var out shared.PurchaseCreated
	code, body := cardPost(t, cardBrowser(), s.URL+"/api/v1/purchases", `{"usd":"5.00","method":"card"}`)
	if code != 201 || json.Unmarshal([]byte(body), &out) != nil || out.Card == nil || out.Card.CheckoutURL == "" {
		t.Fatalf("card purchase: %d %s, want 201 with a checkout_url from stripe-mock", code, body)
	}
	if strings.Contains(s.Log.String(), cardTestKey) || strings.Contains(s.Log.String(), cardTestWebhook) {
		t.Fatal("the log holds a Stripe secret")
	}
}

func TestCardPurchaseEndToEndWithAFakeStripeThatAnswersPaid(t *testing.T) {
	// run() as `serve` runs it, with a local Stripe stand-in that says sessions are
	// paid (stripe-mock never does): buy, pay, webhook, key, spend, refund, dispute.
	f := cardtest.NewStripe(t, cardTestKey)
	s := MustRunServer(t, t.TempDir(), "-stripe-secret-key", cardTestKey, "-stripe-api-base", f.URL(),
		"-stripe-webhook-secret", cardTestWebhook, "-service-token", "card-test-service")
	cardScenario(t, s.URL, f, "card-test-service")
}

func TestCardPurchaseEndToEndInTheBinaryConfiguredByEnvironment(t *testing.T) {
	// The real binary, its Stripe settings only in the environment as an operator
	// would give them.
	f := cardtest.NewStripe(t, cardTestKey)
	p := StartProc(t, t.TempDir(), []string{
		"AISPACE_STRIPE_SECRET_KEY=" + cardTestKey,
		"AISPACE_STRIPE_WEBHOOK_SECRET=" + cardTestWebhook,
		"AISPACE_STRIPE_API_BASE=" + f.URL(),
		"AISPACE_SERVICE_TOKEN=card-proc-service",
	})
	cardScenario(t, p.URL, f, "card-proc-service")
	if log := p.Log(); strings.Contains(log, cardTestKey) || strings.Contains(log, cardTestWebhook) {
		t.Fatal("the log holds a Stripe secret")
	}
}

// cardScenario is one card purchase from the Buy page to a dispute, over HTTP.
func cardScenario(t *testing.T, base string, f *cardtest.Stripe, serviceToken string) {
	t.Helper()
	buyer := cardBrowser()
	var p shared.PurchaseCreated
	if code, body := cardPost(t, buyer, base+"/api/v1/purchases", `{"usd":"5.00","method":"card"}`); code != 201 || json.Unmarshal([]byte(body), &p) != nil || p.Card == nil {
		t.Fatalf("card purchase: %d %s", code, body)
	}
	// The fake numbers its sessions; this server created the first.
	const sid = "cs_test_fake001"
	if got := f.Session(sid); got == nil || got["metadata"].(map[string]any)["purchase_id"] != p.ID {
		t.Fatalf("session at Stripe: %v, want one for purchase %s", got, p.ID)
	}
	f.Pay(sid, "pi_e2e")

	completed := cardtest.Event("evt_e2e_completed", "checkout.session.completed", f.Session(sid))
	if code, _ := cardDeliver(t, base, completed, cardtest.Sign(completed, "whsec_test_someone_else", time.Now())); code != 400 {
		t.Fatalf("forged event: %d, want 400", code)
	}
	if code, body := cardDeliver(t, base, completed, cardtest.Sign(completed, cardTestWebhook, time.Now())); code != 200 || !strings.Contains(body, "credited") {
		t.Fatalf("webhook: %d %s, want 200 credited", code, body)
	}

	if st := cardReturn(t, cardBrowser(), base, p); st.Status != "credited" || st.Key != "" {
		t.Fatalf("return page in another browser: %+v, want credited without the key", st)
	}
	st := cardReturn(t, buyer, base, p)
	if st.Status != "credited" || shared.CheckKeyFormat(st.Key) != nil {
		t.Fatalf("return page in the buyer's browser: %+v, want the key", st)
	}
	key := st.Key
	var a shared.Account
	if code := get(t, base+"/api/v1/account", key, &a); code != 200 || a.Balance != 50_000 {
		t.Fatalf("account: %d %+v, want 50000", code, a)
	}

	refund := cardtest.Event("evt_e2e_refund", "charge.refunded", cardtest.Charge("ch_e2e", "pi_e2e", 500, 100))
	for range 2 {
		cardDeliver(t, base, refund, cardtest.Sign(refund, cardTestWebhook, time.Now()))
	}
	if get(t, base+"/api/v1/account", key, &a); a.Balance != 40_000 {
		t.Fatalf("after a $1.00 refund delivered twice: %d, want 40000", a.Balance)
	}

	opened := cardtest.Event("evt_e2e_dispute", "charge.dispute.created", cardtest.Dispute("du_e2e", "ch_e2e", "pi_e2e", 400, "needs_response"))
	cardDeliver(t, base, opened, cardtest.Sign(opened, cardTestWebhook, time.Now()))
	if code := get(t, base+"/api/v1/account", key, nil); code != 403 {
		t.Fatalf("account during a dispute: %d, want 403", code)
	}
	charge := `{"key":"` + key + `","idempotency_key":"e2e-1","credits":10}`
	if code, _ := cardPostAuth(t, base+"/api/v1/charges", serviceToken, charge); code != 403 {
		t.Fatalf("charge during a dispute: %d, want 403", code)
	}
	won := cardtest.Event("evt_e2e_won", "charge.dispute.closed", cardtest.Dispute("du_e2e", "ch_e2e", "pi_e2e", 400, "won"))
	cardDeliver(t, base, won, cardtest.Sign(won, cardTestWebhook, time.Now()))
	if code, body := cardPostAuth(t, base+"/api/v1/charges", serviceToken, charge); code != 200 {
		t.Fatalf("charge after the dispute was won: %d %s, want 200", code, body)
	}
}

func cardBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func cardPost(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func cardPostAuth(t *testing.T, url, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func cardDeliver(t *testing.T, base string, payload []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func cardReturn(t *testing.T, c *http.Client, base string, p shared.PurchaseCreated) shared.PurchaseStatus {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/purchases/"+p.ID+"?session_id=cs_test_fake001", nil)
	req.Header.Set("X-Purchase-Secret", p.Secret)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st shared.PurchaseStatus
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&st) != nil {
		t.Fatalf("GET purchase: %d", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("purchase answer headers %v, want no-store and no-referrer", resp.Header)
	}
	return st
}
