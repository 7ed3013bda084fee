// Package browser is the headless-Chromium harness of the project's browser tests,
// on top of chromedp.
//
// MustStart launches a fresh Chromium for one test (its own profile in a temporary
// folder), sized and dressed as a phone: a 390×844 viewport at 2× density, touch
// input and a mobile user agent. The test then drives it with helpers that fail the
// test with a clear message rather than return errors:
//
//	b := browser.MustStart(t)
//	b.MustNavigate(srv.URL + "/")
//	b.MustWaitAppReady()            // the wasm app has taken over the page
//	b.MustScreenshot("buy")         // testdata/artifacts/<TestName>/buy.png
//	h1 := b.MustText("h1")
//	b.MustGoOffline()
//
// The other helpers: MustNavigate, MustReload, MustWaitVisible, MustClick, MustType,
// Eval, MustEval and MustEval0 (awaiting promises), MustWaitFor (poll an expression
// until it answers ""), MustWaitText, MustScreenshotScreen (the viewport only),
// MustScreenshotElement (one element, e.g. a QR code to decode),
// InstallabilityErrors (Page.getInstallabilityErrors), MustGoOnline,
// MustThrottleSlow4G, MustRunOnNewDocument (inject a script before the page's own)
// and ConsoleLog.
//
// MustInjectWallet injects testwallet.js, an EIP-1193 wallet announced through
// EIP-6963 that the test steers through window.testWallet (refuse the next call
// with 4001, move to another network, which networks it knows); its signing
// requests reach a Go function of the test through a DevTools binding, so the
// page's Content-Security-Policy does not get in the way, as it does not for a
// real wallet extension.
//
// MustBeAccessible runs axe-core (testdata/axe, MPL-2.0, from npm) on the page
// with the WCAG 2.1 A/AA rules and best practices, and fails the test on each
// violation: labels, names, alt text, heading order, landmarks, colour contrast. Network emulation is re-applied
// after each navigation, since Chromium forgets navigator.onLine's override with the
// old document. Emulating offline does not stop every request of the service worker
// in Chromium 148: a test of offline behaviour should also cut its server off.
//
// Chromium is found at /usr/bin/chromium or as chromium on PATH. When it is
// missing the test fails (it never skips) and says that `make test` installs it.
// It runs with --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
// --disable-background-networking --disable-component-update --disable-sync
// --disable-dev-shm-usage: without the background-networking flags Chromium keeps
// opening connections that this machine's closed network refuses.
//
// Artifacts (screenshots, chromium.log, and console.log plus failure.png when the
// test fails) go to testdata/artifacts/<TestName>/ in the test's package folder,
// which git ignores; a test's second browser adds to its first one's folder.
//
// Throttling: Chromium 148 applies the emulated latency of MustThrottleSlow4G but,
// as far as measured, not its bandwidth; a test that needs Slow 4G's bandwidth puts
// a throttling proxy in front of its server (backend/cmd/aispace-credits
// pwa_load_test.go).
package browser
