package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/shared"
)

const serviceToken = "test-service-token"

// TestServer is a server on the embedded database, over real HTTP on loopback.
type TestServer struct {
	*httptest.Server
	API    *server.Server
	Ledger *ledger.Ledger
	Keys   *keys.Keyring
	t      *testing.T
}

type options struct {
	publicURL string // "": the test server's own address
	clock     func() time.Time
	journal   func(ledger.Journal) ledger.Journal // wraps the store's journal, to make it fail
	card      *server.Card
	crypto    *server.Crypto
}

// MustRunServer assembles the server on the embedded database as serve does, with
// what opts add (card or crypto payments, a clock, a failing journal).
func MustRunServer(t *testing.T, opts ...func(*options)) *TestServer {
	t.Helper()
	o := options{publicURL: "http://localhost"}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	var j ledger.Journal = db
	if o.journal != nil {
		j = o.journal(db)
	}
	secrets, _ := keys.LoadSecrets(dir, "", "")
	kr, _ := keys.New(secrets)
	l, err := ledger.Open(ctx, ledger.Config{Journal: j, Clock: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(ctx) })
	if o.crypto != nil {
		t.Cleanup(o.crypto.Close)
	}
	pricing, _ := credits.ParsePricing(credits.DefaultPricing)
	ts := httptest.NewUnstartedServer(nil)
	if o.publicURL == "" {
		o.publicURL = "http://" + ts.Listener.Addr().String()
	}
	srv := server.New(server.Deps{
		Config: server.Config{PublicURL: o.publicURL, ServiceToken: serviceToken},
		Ledger: l, Keys: kr, Pricing: pricing, DB: db, Card: o.card, Crypto: o.crypto,
	})
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &TestServer{Server: ts, API: srv, Ledger: l, Keys: kr, t: t}
}

// MustAccount opens an account with credits and returns its Secure Key.
func (s *TestServer) MustAccount(n int64) string {
	s.t.Helper()
	key := s.Keys.NewKey()
	id := keys.NewID("acct_")
	op := ledger.KeyOp{Hash: s.Keys.Hash(key), Sealed: s.Keys.Seal(key, id), Hint: shared.KeyHint(key)}
	if err := s.Ledger.OpenAccount(context.Background(), id, op, "", nil); err != nil {
		s.t.Fatal(err)
	}
	if n > 0 {
		if _, err := s.Ledger.Grant(context.Background(), id, n, credits.SourceGrant, "", nil); err != nil {
			s.t.Fatal(err)
		}
	}
	return key
}

// Do sends a request with an optional bearer token and JSON body and decodes a JSON
// answer into out (if not nil); it returns the response.
func (s *TestServer) Do(method, path, bearer string, body any, out any) *http.Response {
	s.t.Helper()
	return do(s.t, http.DefaultClient, method, s.URL+path, bearer, body, out)
}

func do(t *testing.T, c *http.Client, method, url, bearer string, body any, out any) *http.Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e shared.ErrorBody
	json.NewDecoder(resp.Body).Decode(&e)
	return e.Error.Code
}

func credits_(n int64) *int64 { return &n }

// typoOf is key with one character changed: to "x", or to "y" where key has an "x"
// (a key holds an "x" at a given place once in some sixty keys).
func typoOf(key string) string {
	c := "x"
	if key[10] == 'x' {
		c = "y"
	}
	return key[:10] + c + key[11:]
}

func TestChargePricedFromTheTable(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(10_000)
	var got shared.ChargeResult
	resp := s.Do("POST", "/api/v1/charges", serviceToken, shared.ChargeRequest{
		Key: key, IdempotencyKey: "c1", Service: "chat:standard", Units: map[string]int64{"input_tokens": 1200, "output_tokens": 300},
	}, &got)
	if resp.StatusCode != 200 || got.Charged != 54 || got.Balance != 9946 || got.ID == "" {
		t.Fatalf("charge: %d %+v, want 200 charged 54 balance 9946", resp.StatusCode, got)
	}
}

func TestChargeAnswers(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(100)
	typo := typoOf(key)
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"OK", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "a", Credits: credits_(40)}, 200, ""},
		{"ErrInsufficient", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "b", Credits: credits_(61)}, 402, "insufficient_credits"},
		{"ErrNoServiceToken", "", shared.ChargeRequest{Key: key, IdempotencyKey: "c", Credits: credits_(1)}, 401, "unauthorized"},
		{"ErrWrongServiceToken", "nope", shared.ChargeRequest{Key: key, IdempotencyKey: "c", Credits: credits_(1)}, 401, "unauthorized"},
		{"ErrHolderKeyAsServiceToken", key, shared.ChargeRequest{Key: key, IdempotencyKey: "c", Credits: credits_(1)}, 401, "unauthorized"},
		{"ErrUnknownKey", serviceToken, shared.ChargeRequest{Key: s.Keys.NewKey(), IdempotencyKey: "d", Credits: credits_(1)}, 401, "unauthorized"},
		{"ErrKeyTypo", serviceToken, shared.ChargeRequest{Key: typo, IdempotencyKey: "d", Credits: credits_(1)}, 401, "unauthorized"},
		{"ErrNoIdempotencyKey", serviceToken, shared.ChargeRequest{Key: key, Credits: credits_(1)}, 400, "invalid"},
		{"ErrZeroCredits", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "e", Credits: credits_(0)}, 400, "invalid"},
		{"ErrUnknownService", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "f", Service: "chat:gpt-99", Units: map[string]int64{"input_tokens": 1}}, 400, "invalid"},
		{"ErrNothingToPrice", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "g"}, 400, "invalid"},
		{"ErrUnknownField", serviceToken, `{"key":"` + key + `","idempotency_key":"h","credits":1,"extra":true}`, 400, "invalid"},
		{"ErrNotJSON", serviceToken, `credits=1`, 400, "invalid"},
		{"ErrTwoValues", serviceToken, `{"key":"` + key + `","idempotency_key":"i","credits":1}{}`, 400, "invalid"},
		{"ErrWrongType", serviceToken, `{"key":"` + key + `","idempotency_key":"j","credits":"1"}`, 400, "invalid"},
		{"ErrTooBig", serviceToken, `{"key":"` + strings.Repeat("x", 70000) + `"}`, 400, "invalid"},
		{"ErrReusedIdempotencyKey", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "a", Credits: credits_(41)}, 409, "conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.Do("POST", "/api/v1/charges", tc.token, tc.body, nil)
			if resp.StatusCode != tc.status {
				body, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
			if tc.code != "" {
				if got := errorCode(t, resp); got != tc.code {
					t.Fatalf("code %q, want %q", got, tc.code)
				}
			}
		})
	}
	// Nothing was debited by the refused requests.
	var a shared.Account
	s.Do("GET", "/api/v1/account", key, nil, &a)
	if a.Balance != 60 || a.Used != 40 {
		t.Fatalf("after the table: balance %d used %d, want 60 and 40", a.Balance, a.Used)
	}
}

func TestErrorsNeverEchoTheKey(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(1)
	typo := typoOf(key)
	for _, body := range []any{
		shared.ChargeRequest{Key: typo, IdempotencyKey: "a", Credits: credits_(1)},
		shared.ChargeRequest{Key: key, IdempotencyKey: "b", Credits: credits_(5)},
		`{"key":"` + key + `","credits":"x"}`,
	} {
		resp := s.Do("POST", "/api/v1/charges", serviceToken, body, nil)
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), key[10:]) || strings.Contains(string(b), typo[10:]) {
			t.Fatalf("an error answer contains the key: %s", b)
		}
	}
}

func TestConcurrentChargesOverHTTPNeverOverspend(t *testing.T) {
	s := MustRunServer(t)
	const n = 50
	key := s.MustAccount(n * 10)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 2*n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := s.Do("POST", "/api/v1/charges", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: fmt.Sprint("k", i), Credits: credits_(10)}, nil)
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != n || statuses[402] != n {
		t.Fatalf("statuses %v, want %d × 200 and %d × 402", statuses, n, n)
	}
}

func TestLoginSetsAHardenedSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"http://localhost:8080", false}, {"https://credits.example.com", true}} {
		s := MustRunServer(t, func(o *options) { o.publicURL = tc.publicURL })
		key := s.MustAccount(5)
		resp := s.Do("POST", "/api/v1/session", "", shared.SessionRequest{Key: key}, nil)
		if resp.StatusCode != 204 {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		var c *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == server.SessionCookie {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tc.secure {
			t.Fatalf("%s: cookie %+v, want HttpOnly, SameSite=Strict, Secure=%v", tc.publicURL, c, tc.secure)
		}
		if strings.Contains(c.Value, key) {
			t.Fatal("the cookie holds the key")
		}
	}
}

func TestSessionWorksUntilLogoutOrRotation(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(5)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if r := do(t, c, "POST", s.URL+"/api/v1/session", "", shared.SessionRequest{Key: key}, nil); r.StatusCode != 204 {
		t.Fatalf("login %d", r.StatusCode)
	}
	var a shared.Account
	if r := do(t, c, "GET", s.URL+"/api/v1/account", "", nil, &a); r.StatusCode != 200 || a.Balance != 5 || a.KeyHint != shared.KeyHint(key) {
		t.Fatalf("account by cookie: %d %+v", r.StatusCode, a)
	}
	// Rotation from the session: the old key stops at once, the session follows the new key.
	var nk shared.KeyBody
	if r := do(t, c, "POST", s.URL+"/api/v1/account/key/rotate", "", nil, &nk); r.StatusCode != 200 || shared.CheckKeyFormat(nk.Key) != nil || nk.Key == key {
		t.Fatalf("rotate: %d", r.StatusCode)
	}
	if r := s.Do("GET", "/api/v1/account", key, nil, nil); r.StatusCode != 401 {
		t.Fatalf("old key after rotation: %d, want 401", r.StatusCode)
	}
	if r := do(t, c, "GET", s.URL+"/api/v1/account", "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("session after its own rotation: %d, want 200", r.StatusCode)
	}
	var view shared.KeyBody
	if r := do(t, c, "GET", s.URL+"/api/v1/account/key", "", nil, &view); r.StatusCode != 200 || view.Key != nk.Key || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("view key: %d %v", r.StatusCode, r.Header)
	}
	if r := do(t, c, "DELETE", s.URL+"/api/v1/session", "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("logout %d", r.StatusCode)
	}
	if r := do(t, c, "GET", s.URL+"/api/v1/account", "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("after logout: %d, want 401", r.StatusCode)
	}
}

func TestForgedSessionCookieIsRefused(t *testing.T) {
	s := MustRunServer(t)
	s.MustAccount(5)
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/account", nil)
	req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: "acct_123.0.99999999999.AAAA"})
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 401 {
		t.Fatalf("forged cookie: %d, want 401", resp.StatusCode)
	}
}

func TestLoginIsRateLimitedPerClient(t *testing.T) {
	s := MustRunServer(t)
	codes := map[int]int{}
	var retry string
	for i := 0; i < 30; i++ {
		resp := s.Do("POST", "/api/v1/session", "", shared.SessionRequest{Key: s.Keys.NewKey()}, nil)
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if codes[401] != 10 || codes[429] != 20 || retry == "" {
		t.Fatalf("30 wrong keys: %v (Retry-After %q), want 10 × 401 then 429 with Retry-After", codes, retry)
	}
}

func TestUsagePagesAndCSV(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(10_000)
	for i := 0; i < 7; i++ {
		s.Do("POST", "/api/v1/charges", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: fmt.Sprint("u", i), Service: "tool:web-search"}, nil)
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		var u shared.Usage
		s.Do("GET", "/api/v1/account/usage?limit=3&cursor="+cursor, key, nil, &u)
		for _, it := range u.Items {
			ids = append(ids, it.IdempotencyKey)
		}
		if u.NextCursor == "" {
			break
		}
		cursor = u.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(ids, ",") != "u6,u5,u4,u3,u2,u1,u0" {
		t.Fatalf("pages gave %v, want newest first u6…u0", ids)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/account/usage", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/csv")
	resp, _ := http.DefaultClient.Do(req)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 8 || rows[0][0] != "id" || rows[1][5] != "50" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %v %v", rows, err)
	}
	if r := s.Do("GET", "/api/v1/account/usage?limit=0", key, nil, nil); r.StatusCode != 400 {
		t.Fatalf("limit=0: %d", r.StatusCode)
	}
}

func TestHoldCaptureRelease(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(1000)
	var h shared.HoldResult
	if r := s.Do("POST", "/api/v1/holds", serviceToken, shared.HoldRequest{Key: key, IdempotencyKey: "h1", Credits: 600, TTLSeconds: 60}, &h); r.StatusCode != 201 || h.Credits != 600 {
		t.Fatalf("hold: %d %+v", r.StatusCode, h)
	}
	if r := s.Do("POST", "/api/v1/holds", serviceToken, shared.HoldRequest{Key: key, IdempotencyKey: "h2", Credits: 401, TTLSeconds: 60}, nil); r.StatusCode != 402 {
		t.Fatalf("hold beyond the balance: %d, want 402", r.StatusCode)
	}
	var a shared.Account
	s.Do("GET", "/api/v1/account", key, nil, &a)
	if a.Balance != 400 || a.Held != 600 {
		t.Fatalf("while held: %+v", a)
	}
	if r := s.Do("POST", "/api/v1/holds/"+h.ID+"/capture", serviceToken, map[string]int64{"credits": 601}, nil); r.StatusCode != 400 {
		t.Fatalf("capture over the hold: %d, want 400", r.StatusCode)
	}
	var c shared.CaptureResult
	if r := s.Do("POST", "/api/v1/holds/"+h.ID+"/capture", serviceToken, map[string]int64{"credits": 250}, &c); r.StatusCode != 200 || c.Charged != 250 || c.Balance != 750 {
		t.Fatalf("capture: %d %+v", r.StatusCode, c)
	}
	if r := s.Do("POST", "/api/v1/holds/"+h.ID+"/release", serviceToken, nil, nil); r.StatusCode != 409 {
		t.Fatalf("release after capture: %d, want 409", r.StatusCode)
	}
	var h2 shared.HoldResult
	s.Do("POST", "/api/v1/holds", serviceToken, shared.HoldRequest{Key: key, IdempotencyKey: "h3", Credits: 100}, &h2)
	var rel shared.ReleaseResult
	if r := s.Do("POST", "/api/v1/holds/"+h2.ID+"/release", serviceToken, nil, &rel); r.StatusCode != 200 || rel.Released != 100 || rel.Balance != 750 {
		t.Fatalf("release: %d %+v", r.StatusCode, rel)
	}
	if r := s.Do("POST", "/api/v1/holds/hold_nope/capture", serviceToken, map[string]int64{"credits": 1}, nil); r.StatusCode != 404 {
		t.Fatalf("unknown hold: %d", r.StatusCode)
	}
}

func TestDailyCap(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(1000)
	var a shared.Account
	if r := s.Do("POST", "/api/v1/account/daily-cap", key, map[string]int64{"daily_cap": 100}, &a); r.StatusCode != 200 || a.DailyCap == nil || *a.DailyCap != 100 {
		t.Fatalf("set cap: %d %+v", r.StatusCode, a)
	}
	if r := s.Do("POST", "/api/v1/charges", serviceToken, shared.ChargeRequest{Key: key, IdempotencyKey: "x", Credits: credits_(101)}, nil); r.StatusCode != 402 {
		t.Fatalf("over the cap: %d", r.StatusCode)
	}
	s.Do("POST", "/api/v1/account/daily-cap", key, `{"daily_cap": null}`, &a)
	if a.DailyCap != nil {
		t.Fatal("cap not removed")
	}
}

func TestPricingAndUnknownRoutes(t *testing.T) {
	s := MustRunServer(t)
	var p shared.Pricing
	if r := s.Do("GET", "/api/v1/pricing", "", nil, &p); r.StatusCode != 200 || p.CreditsPerUSD != 10000 || len(p.Services) == 0 {
		t.Fatalf("pricing: %d %+v", r.StatusCode, p)
	}
	if r := s.Do("GET", "/api/v1/nope", "", nil, nil); r.StatusCode != 404 || errorCode(t, r) != "not_found" {
		t.Fatalf("unknown API route: %d", r.StatusCode)
	}
	if r := s.Do("GET", "/dev/wallet", "", nil, nil); r.StatusCode == 200 {
		t.Fatal("/dev/wallet answers outside dev mode")
	}
}
