package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/internal/browser"
)

// Every page of the PWA against the real server, at 390×844: it renders in the
// app, fits the screen without sideways scrolling, passes axe-core's WCAG A/AA
// checks, and is saved as a screenshot (testdata/artifacts/<Test>/).
func TestPWAEveryPageOnAPhone(t *testing.T) {
	s := MustRunServer(t, t.TempDir(), "-dev", "-dev-block-time", "0")
	acct := mustDevAccount(t, s.URL, 1_000_000)
	for i, c := range []map[string]any{
		{"key": acct.Key, "idempotency_key": "chat-1", "service": "chat:standard", "units": map[string]int64{"input_tokens": 1200, "output_tokens": 300}},
		{"key": acct.Key, "idempotency_key": "flat-1", "credits": 250},
	} {
		if code, err := post(s.URL+"/api/v1/charges", "dev-service-token", c, nil); code != 200 || err != nil {
			t.Fatalf("charge %d: %d %v", i, code, err)
		}
	}

	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	pages := []struct{ name, path, h1, wait string }{
		{"buy", "/buy", "Buy Credits", "#eth-out"},
		{"pricing", "/pricing", "Pricing", "table.prices"},
		{"help", "/help", "Help & troubleshooting", "#recover-start"},
		{"login", "/login", "Log in with your Secure Key", "#secure-key-input"},
		{"account-logged-out", "/account", "Your account", "#secure-key-input"},
		{"purchase-other-device", "/purchase/pur_unknown", "Your purchase", "#other-device"},
	}
	for i, p := range pages {
		b.MustNavigate(s.URL + p.path)
		b.MustWaitAppReady()
		b.MustWaitVisible(p.wait)
		if got := b.MustText("h1"); got != p.h1 {
			t.Errorf("%s: h1 %q, want %q", p.path, got, p.h1)
		}
		checkFits(t, b, p.path)
		name := string(rune('a'+i)) + "-" + p.name
		b.MustScreenshotScreen(name)
		b.MustScreenshot(name + "-full")
		b.MustBeAccessible(p.path)
	}

	// Logged in: the account with its lot, usage and renewal countdown.
	b.MustNavigate(s.URL + "/login")
	b.MustWaitAppReady()
	b.MustType("#secure-key-input", acct.Key)
	b.MustClick("form.login button[type=submit]")
	b.MustWaitText("#balance", "999,")
	b.MustWaitVisible("#usage")
	if got := b.MustText("#usage"); !strings.Contains(got, "chat:standard") {
		t.Errorf("usage: got %q, want the chat charge", got)
	}
	checkFits(t, b, "/account")
	b.MustScreenshotScreen("g-account")
	b.MustScreenshot("g-account-full")
	b.MustBeAccessible("/account (logged in)")

	// View the key, set a daily cap, export CSV.
	b.MustClick("#view-key")
	b.MustWaitText("#account-key", acct.Key)
	b.MustType("#daily-cap", "20000")
	b.MustClick(".cap button[type=submit]")
	b.MustWaitText(".cap .ok", "at most 20,000 Credits a day")
	b.MustWaitText("#cap", "of 20,000 Credits")
	b.MustClick("#export-csv")
	b.MustWaitFor("the CSV export", `document.querySelector("#export-csv").disabled ? "busy" : (document.querySelector("#usage-section-error") ? "error" : "")`)
	b.MustScreenshot("h-account-key-cap-full")

	// The last account view stays available offline.
	b.MustWaitFor("the service worker to take over", `navigator.serviceWorker.controller ? "" : "no controller yet"`)
	b.MustGoOffline()
	b.MustReload()
	b.MustWaitAppReady()
	b.MustWaitVisible("#offline-notice")
	b.MustWaitText("#account-saved", "You are offline")
	b.MustWaitText("#balance", "999,")
	b.MustScreenshotScreen("i-account-offline")
	b.MustGoOnline()
	checkPageConsole(t, b)
}

// The same pages read well on a desktop.
func TestPWAOnADesktop(t *testing.T) {
	s := MustRunServer(t, t.TempDir(), "-dev", "-dev-block-time", "0")
	b := browser.MustStart(t, browser.Desktop())
	for _, p := range []string{"/buy", "/help"} {
		b.MustNavigate(s.URL + p)
		b.MustWaitAppReady()
		b.MustScreenshotScreen("desktop" + strings.ReplaceAll(p, "/", "-"))
		b.MustBeAccessible(p + " (desktop)")
	}
	checkPageConsole(t, b)
}

// checkFits fails when the page is wider than the screen (it would scroll
// sideways on a phone).
func checkFits(t *testing.T, b *browser.Browser, where string) {
	t.Helper()
	if w := browser.MustEval[int](b, "document.documentElement.scrollWidth"); w > browser.MustEval[int](b, "window.innerWidth") {
		t.Errorf("%s: the page is %d px wide: it scrolls sideways", where, w)
	}
}
