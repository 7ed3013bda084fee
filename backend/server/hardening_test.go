package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/shared"
)

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		hsts      bool
	}{{"http://localhost:8080", false}, {"https://credits.example.com", true}} {
		s := MustRunServer(t, func(o *options) { o.publicURL = tc.publicURL })
		key := s.MustAccount(1)
		for _, r := range []struct{ method, path, bearer string }{
			{"GET", "/healthz", ""},
			{"GET", "/api/v1/pricing", ""},
			{"GET", "/api/v1/account", key},
			{"GET", "/api/v1/account", ""},
			{"GET", "/api/v1/nope", ""},
			{"POST", "/api/v1/charges", serviceToken},
			{"GET", "/anything/else", ""},
		} {
			resp := s.Do(r.method, r.path, r.bearer, nil, nil)
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "'wasm-unsafe-eval'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
				strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
				t.Errorf("%s %s: CSP %q", r.method, r.path, csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Request-Id") == "" {
				t.Errorf("%s %s: headers %v", r.method, r.path, h)
			}
			if got := h.Get("Strict-Transport-Security") != ""; got != tc.hsts {
				t.Errorf("%s: HSTS %v, want %v", tc.publicURL, got, tc.hsts)
			}
		}
	}
}

func TestCORSIsClosedUnlessAllowed(t *testing.T) {
	s := MustRunServer(t)
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/v1/account", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, _ := http.DefaultClient.Do(req)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a preflight from an unknown origin was allowed")
	}
	req, _ = http.NewRequest("GET", s.URL+"/api/v1/pricing", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, _ = http.DefaultClient.Do(req)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a cross-origin read was allowed")
	}
}

func TestTenThousandWrongKeysAreRateLimited(t *testing.T) {
	s := MustRunServer(t)
	body, _ := json.Marshal(shared.SessionRequest{Key: s.Keys.NewKey()})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	work := make(chan struct{}, 10_000)
	for i := 0; i < 10_000; i++ {
		work <- struct{}{}
	}
	close(work)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				resp, err := http.Post(s.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 10 at once, then 10 a minute: a few seconds of attempts can get at most a few more.
	if codes[401] > 12 || codes[429] < 9_988 || codes[204] != 0 {
		t.Fatalf("10,000 wrong keys: %v; want at most 12 tried and the rest refused with 429", codes)
	}
}

func TestForwardedClientHeaderCannotBeForged(t *testing.T) {
	s := MustRunServer(t)
	codes := map[int]int{}
	for i := 0; i < 15; i++ {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/session", strings.NewReader(`{"key":"`+s.Keys.NewKey()+`"}`))
		req.Header.Set("Content-Type", "application/json")
		// A client pretending to be another instance forwarding for a fresh address.
		req.Header.Set("X-Aispace-Client", "10.0.0."+string(rune('0'+i%10)))
		req.Header.Set("X-Aispace-Forwarded", "bm90IGEgbWFj")
		resp, _ := http.DefaultClient.Do(req)
		codes[resp.StatusCode]++
	}
	if codes[429] != 5 {
		t.Fatalf("forged forwarding headers changed the rate-limit bucket: %v", codes)
	}
}

// adminServer serves the admin API of a test server.
func adminServer(t *testing.T, s *TestServer, api *server.Server, token string) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(api.Admin(token))
	t.Cleanup(ts.Close)
	return ts
}

func TestAdminActionsAreJournaledWithWhoAndWhy(t *testing.T) {
	s := MustRunServer(t)
	key := s.MustAccount(1000)
	var acct shared.Account
	s.Do("GET", "/api/v1/account", key, nil, &acct)
	h, _ := s.Ledger.Authenticate(s.Keys.Hash(key))
	admin := adminServer(t, s, s.API, "admin-test-token")
	call := func(token, method, path string, body any) (int, map[string]any) {
		t.Helper()
		var out map[string]any
		resp := do(t, http.DefaultClient, method, admin.URL+path, token, body, nil)
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := call("wrong", "GET", "/admin/v1/audit", nil); code != 401 {
		t.Fatalf("wrong admin token: %d", code)
	}
	if code, _ := call("admin-test-token", "POST", "/admin/v1/accounts/"+h.Account+"/grant", map[string]any{"credits": 5, "who": "ana"}); code != 400 {
		t.Fatalf("an action without why: %d, want 400", code)
	}
	for _, a := range []struct {
		action string
		body   map[string]any
	}{
		{"grant", map[string]any{"credits": 500, "who": "ana", "why": "goodwill, ticket 12"}},
		{"clawback", map[string]any{"credits": 200, "who": "ana", "why": "double grant"}},
		{"suspend", map[string]any{"who": "ben", "why": "fraud review"}},
	} {
		if code, out := call("admin-test-token", "POST", "/admin/v1/accounts/"+h.Account+"/"+a.action, a.body); code != 200 {
			t.Fatalf("%s: %d %v", a.action, code, out)
		}
	}
	if r := s.Do("GET", "/api/v1/account", key, nil, nil); r.StatusCode != 403 {
		t.Fatalf("suspended key: %d, want 403", r.StatusCode)
	}
	code, out := call("admin-test-token", "POST", "/admin/v1/accounts/"+h.Account+"/revoke", map[string]any{"who": "ben", "why": "confirmed fraud"})
	if code != 200 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	code, out = call("admin-test-token", "POST", "/admin/v1/accounts/"+h.Account+"/reissue", map[string]any{"who": "ben", "why": "owner verified"})
	newKey, _ := out["key"].(string)
	if code != 200 || shared.CheckKeyFormat(newKey) != nil {
		t.Fatalf("reissue: %d", code)
	}
	var after shared.Account
	if r := s.Do("GET", "/api/v1/account", newKey, nil, &after); r.StatusCode != 200 || after.Balance != 1300 {
		t.Fatalf("reissued key: %d balance %d, want 200 and 1300", r.StatusCode, after.Balance)
	}
	if r := s.Do("GET", "/api/v1/account", key, nil, nil); r.StatusCode != 401 {
		t.Fatalf("old key after reissue: %d", r.StatusCode)
	}
	var audit []ledger.AuditRec
	resp := do(t, http.DefaultClient, "GET", admin.URL+"/admin/v1/audit?account="+h.Account, "admin-test-token", nil, &audit)
	if resp.StatusCode != 200 || len(audit) != 5 {
		t.Fatalf("audit: %d %+v, want 5 entries", resp.StatusCode, audit)
	}
	if audit[0].Who != "ana" || audit[0].Why != "goodwill, ticket 12" || audit[0].Credits != 500 || audit[4].Action != "reissue" {
		t.Fatalf("audit entries: %+v", audit)
	}
	var found ledger.LookupResult
	do(t, http.DefaultClient, "GET", admin.URL+"/admin/v1/lookup?hint="+after.KeyHint, "admin-test-token", nil, &found)
	if len(found.Accounts) != 1 || found.Accounts[0].ID != h.Account {
		t.Fatalf("lookup by key hint: %+v", found)
	}
	metrics := do(t, http.DefaultClient, "GET", admin.URL+"/metrics", "admin-test-token", nil, nil)
	b, _ := io.ReadAll(metrics.Body)
	if !strings.Contains(string(b), "aispace_credits_granted_total") || !strings.Contains(string(b), `aispace_http_requests_total{code="OK",route="GET /api/v1/account"}`) {
		t.Fatalf("metrics:\n%s", b)
	}
}
