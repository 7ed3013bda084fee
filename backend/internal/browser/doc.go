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
// Eval and MustEval (awaiting promises), MustScreenshotScreen (the viewport only),
// InstallabilityErrors (Page.getInstallabilityErrors), MustGoOnline,
// MustThrottleSlow4G, MustRunOnNewDocument (inject a script, such as a fake
// wallet, before the page's own) and ConsoleLog. Network emulation is re-applied
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
// which git ignores.
package browser
