package web_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/internal/browser"
	"github.com/aispace/credits/backend/web"
)

// cuttable serves h until cut; then every request's connection is dropped without an
// answer, as when the phone has no network at all.
type cuttable struct {
	h   http.Handler
	cut atomic.Bool

	mu      sync.Mutex
	dropped []string // the paths asked for while cut
}

func (c *cuttable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cut.Load() {
		c.mu.Lock()
		c.dropped = append(c.dropped, r.URL.Path)
		c.mu.Unlock()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	c.h.ServeHTTP(w, r)
}

// startServer serves the PWA on loopback (http://127.0.0.1 is a secure context, as
// installability and service workers need).
func startServer(t *testing.T) (*httptest.Server, *cuttable) {
	t.Helper()
	builtWasm(t)
	c := &cuttable{h: web.NewHandler(web.Options{})}
	srv := httptest.NewUnstartedServer(c)
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, c
}

// poll retries check every 250 ms until it returns "" or timeout passes, and returns
// the last complaint.
func poll(timeout time.Duration, check func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		complaint := check()
		if complaint == "" || time.Now().After(deadline) {
			return complaint
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The wasm app takes over the prerendered page on a phone, the browser would install
// it, and once its service worker has cached the shell, a reload with no network
// shows the app and says it is offline.
func TestPWAIsInstallableAndOpensOffline(t *testing.T) {
	srv, server := startServer(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))

	b.MustNavigate(srv.URL + "/")
	b.MustWaitAppReady()
	if got := b.MustText("h1"); got != "Buy Credits" {
		t.Errorf("h1: got %q, want %q", got, "Buy Credits")
	}
	b.MustScreenshot("1-buy")

	if complaint := poll(20*time.Second, func() string {
		errs, err := b.InstallabilityErrors()
		switch {
		case err != nil:
			return err.Error()
		case len(errs) > 0:
			return strings.Join(errs, "; ")
		}
		return ""
	}); complaint != "" {
		t.Errorf("Page.getInstallabilityErrors: %s", complaint)
	}

	// The service worker installs in the background: wait until it is active and
	// its cache holds app.wasm.
	const cached = `(async () => {
		const reg = await navigator.serviceWorker.getRegistration();
		if (!reg || !reg.active) return "no active service worker";
		for (const name of await caches.keys()) {
			const cache = await caches.open(name);
			for (const req of await cache.keys()) {
				if (req.url.includes("/web/app.wasm?v=")) return "";
			}
		}
		return "app.wasm is not in the service worker's cache";
	})()`
	if complaint := poll(30*time.Second, func() string {
		s, err := browser.Eval[string](b, cached)
		if err != nil {
			return err.Error()
		}
		return s
	}); complaint != "" {
		t.Fatalf("service worker: %s", complaint)
	}

	// A first visit is not an update: go-app must not offer to reload.
	if n := browser.MustEval[int](b, `document.querySelectorAll(".notice-update").length`); n != 0 {
		t.Error("the first visit shows the new-version banner")
	}

	server.cut.Store(true)
	b.MustGoOffline()
	b.MustReload()
	b.MustWaitAppReady()
	b.MustWaitVisible("#offline-notice")
	if got := b.MustText("h1"); got != "Buy Credits" {
		t.Errorf("offline h1: got %q, want %q", got, "Buy Credits")
	}
	b.MustScreenshot("2-offline")

	// Moving around the app offline still works.
	b.MustClick(`.tabs a[href="/pricing"]`)
	if complaint := poll(10*time.Second, func() string {
		if got := b.MustText("h1"); got != "Pricing" {
			return "h1 is " + got
		}
		return ""
	}); complaint != "" {
		t.Errorf("offline navigation to Pricing: %s", complaint)
	}
	b.MustWaitVisible("#offline-notice")
	b.MustScreenshot("3-offline-pricing")
	server.mu.Lock()
	t.Logf("requests that reached the cut server while offline (dropped): %q", server.dropped)
	server.mu.Unlock()
	checkConsole(t, b)
}

// Every page renders in the app at phone width without sideways scrolling.
func TestEveryPageFitsAPhoneScreen(t *testing.T) {
	srv, _ := startServer(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	for i, p := range pages {
		b.MustNavigate(srv.URL + p.path)
		b.MustWaitAppReady()
		if got := b.MustText("h1"); got != p.h1 {
			t.Errorf("%s: h1 got %q, want %q", p.path, got, p.h1)
		}
		if got := browser.MustEval[string](b, "document.title"); got != p.title {
			t.Errorf("%s: title got %q, want %q", p.path, got, p.title)
		}
		if w := browser.MustEval[int](b, "document.documentElement.scrollWidth"); w > 390 {
			t.Errorf("%s: the page is %d px wide on a 390 px screen: it scrolls sideways", p.path, w)
		}
		name := strings.Trim(strings.ReplaceAll(p.path, "/", "-"), "-")
		if name == "" {
			name = "home"
		}
		b.MustScreenshotScreen(string(rune('a'+i)) + "-" + name)
		b.MustScreenshot(string(rune('a'+i)) + "-" + name + "-full")
	}
	checkConsole(t, b)
}

// On a slow phone network the prerendered page is readable while app.wasm downloads:
// go-app's loader is a bar at the bottom, not a screen over the content.
func TestPrerenderedPageIsReadableWhileTheAppLoadsOnSlow4G(t *testing.T) {
	srv, _ := startServer(t)
	b := browser.MustStart(t, browser.Timeout(90*time.Second))
	b.MustThrottleSlow4G()
	b.MustNavigate(srv.URL + "/pricing")
	if browser.MustEval[bool](b, browser.AppReadyJS) {
		t.Log("the app was ready at the load event: the loading state was not seen")
	} else {
		const covered = `(() => {
			const loader = document.getElementById("app-wasm-loader");
			if (!loader) return "go-app's loader is missing";
			const h1 = document.querySelector("h1").getBoundingClientRect();
			const top = document.elementFromPoint(h1.left + 10, h1.top + h1.height / 2);
			if (loader.contains(top)) return "the loader covers the page's heading";
			if (loader.getBoundingClientRect().height > 80) return "the loader is taller than a bar";
			return "";
		})()`
		if complaint := browser.MustEval[string](b, covered); complaint != "" {
			t.Error(complaint)
		}
		b.MustScreenshotScreen("loading")
	}
	b.MustWaitAppReady()
	b.MustScreenshotScreen("ready")
}

// The app also reads well on a desktop.
func TestBuyPageOnADesktop(t *testing.T) {
	srv, _ := startServer(t)
	b := browser.MustStart(t, browser.Desktop())
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()
	b.MustType("#amount", "5")
	// "10" was prefilled and the keys append: 105 dollars. The preview follows the
	// input on the app's next render, so wait for it rather than read at once.
	b.MustWaitText("#credits-out", "1,050,000 Credits")
	b.MustClick(".chip:nth-child(1)")
	b.MustWaitText("#credits-out", "50,000 Credits")
	b.MustScreenshot("buy-desktop")
	checkConsole(t, b)
}

// fakeWallet is an EIP-1193 provider announced through EIP-6963, as a wallet
// extension injects it; it records the methods asked and answers
// eth_requestAccounts as the test says.
const fakeWallet = `(() => {
	window.walletCalls = [];
	const provider = {
		async request({ method }) {
			window.walletCalls.push(method);
			if (method === "eth_requestAccounts") return window.walletAnswer();
			throw { code: 4200, message: "unsupported in the test wallet" };
		},
		on() {}, removeListener() {},
	};
	window.addEventListener("eip6963:requestProvider", () => {
		window.dispatchEvent(new CustomEvent("eip6963:announceProvider", {
			detail: Object.freeze({ info: { uuid: "test-wallet", name: "Test Wallet", icon: "data:,", rdns: "test.wallet" }, provider }),
		}));
	});
	window.walletAnswer = () => { throw { code: 4001, message: "User rejected the request." }; };
})()`

// Pay with Crypto goes through the wallet layer and explains, in words, a wallet
// where the buyer said no (EIP-1193 4001). (No wallet at all leads to the QR code:
// TestNoWalletOffersMetaMaskAndAQRCode.)
func TestPayWithCryptoExplainsWalletProblems(t *testing.T) {
	srv, _ := startServer(t)
	b := browser.MustStart(t, browser.Desktop())

	b.MustRunOnNewDocument(fakeWallet)
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()
	b.MustClick("#pay-crypto")
	b.MustWaitVisible(".buy .alert")
	if got := b.MustText(".buy .alert"); !strings.Contains(got, "rejected in your wallet") {
		t.Errorf("after the wallet said no: got %q, want it to say the request was rejected", got)
	}
	if calls := browser.MustEval[[]string](b, "window.walletCalls"); len(calls) != 1 || calls[0] != "eth_requestAccounts" {
		t.Errorf("wallet calls: got %q, want [eth_requestAccounts]", calls)
	}
	b.MustScreenshotScreen("rejected")
	checkConsole(t, b)
}

// checkConsole fails on uncaught exceptions and Go panics in the page.
func checkConsole(t *testing.T, b *browser.Browser) {
	t.Helper()
	for _, line := range b.ConsoleLog() {
		if strings.HasPrefix(line, "exception:") || strings.Contains(line, "panic:") {
			t.Errorf("console: %s", line)
		}
	}
}
