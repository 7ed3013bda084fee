package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// admin runs `aispace-credits admin` against the server on dataDir.
func admin(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"admin", "-data", dataDir, "-who", "support-test"}, args...),
		func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

func TestAdminCommandAnswersSupportQuestions(t *testing.T) {
	dir := t.TempDir()
	s := MustRunServer(t, dir, "-dev", "-dev-block-time", "0")
	acct := mustDevAccount(t, s.URL, 1000)

	out, err := admin(t, dir, "lookup", "account", acct.Account)
	if err != nil || !strings.Contains(out, acct.Account) || !strings.Contains(out, `"Balance": 1000`) {
		t.Fatalf("lookup: %v\n%s", err, out)
	}
	if _, err := admin(t, dir, "grant", acct.Account, "250"); err == nil || !strings.Contains(err.Error(), "-why") {
		t.Fatalf("grant without -why: %v, want a refusal", err)
	}
	if out, err := admin(t, dir, "-why", "ticket 42: outage credit", "grant", acct.Account, "250"); err != nil || !strings.Contains(out, `"lot"`) {
		t.Fatalf("grant: %v\n%s", err, out)
	}
	if _, err := admin(t, dir, "-why", "chargeback", "suspend", acct.Account); err != nil {
		t.Fatal(err)
	}
	if code := get(t, s.URL+"/api/v1/account", acct.Key, nil); code != 403 {
		t.Fatalf("suspended by support: %d, want 403", code)
	}
	out, err = admin(t, dir, "audit", acct.Account)
	var audit []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &audit) != nil || len(audit) < 2 {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	last := audit[len(audit)-1]
	if last["Who"] != "support-test" || last["Why"] != "chargeback" || last["Action"] != "suspend" {
		t.Fatalf("last audit entry %v", last)
	}
	if _, err := admin(t, dir, "-token", "wrong", "unclaimed"); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := admin(t, dir, "-why", "x", "grant", "acct_nope", "5"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("unknown account: %v", err)
	}
}
