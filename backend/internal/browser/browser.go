package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with one tab, owned by one test.
type Browser struct {
	tb      testing.TB
	ctx     context.Context // the tab; actions derive a timeout from it
	timeout time.Duration
	dir     string // artifacts folder

	net conditions // the network emulated now

	mu      sync.Mutex
	console []string
}

// PhoneUserAgent is the user agent of the default phone: Chrome on Android.
const PhoneUserAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Mobile Safari/537.36"

const desktopUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36"

type config struct {
	width, height int64
	scale         float64
	mobile        bool
	userAgent     string
	timeout       time.Duration
}

// Option changes how MustStart sets the browser up.
type Option func(*config)

// Desktop makes the browser a 1280×800 desktop: no touch, a desktop user agent.
func Desktop() Option {
	return func(c *config) {
		c.width, c.height, c.scale, c.mobile, c.userAgent = 1280, 800, 1, false, desktopUserAgent
	}
}

// Viewport sets the size of the page's viewport in CSS pixels.
func Viewport(width, height int) Option {
	return func(c *config) { c.width, c.height = int64(width), int64(height) }
}

// Timeout bounds each helper call (30 s by default; app start-up on a busy 2-core
// machine can take a while).
func Timeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// chromiumPath finds the browser: /usr/bin/chromium, else chromium on PATH.
func chromiumPath() (string, error) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("Chromium is not installed (looked for /usr/bin/chromium and chromium on PATH): " +
		"run `make test`, which installs it (apt-get install chromium), then run the test again")
}

// MustStart launches Chromium for the test, with a fresh profile, and opens a tab
// emulating a phone (390×844, touch, mobile user agent) unless options say
// otherwise. The browser is closed when the test ends. It fails the test, never
// skips it, when Chromium is missing.
func MustStart(tb testing.TB, opts ...Option) *Browser {
	tb.Helper()
	cfg := config{width: 390, height: 844, scale: 2, mobile: true, userAgent: PhoneUserAgent, timeout: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	exe, err := chromiumPath()
	if err != nil {
		tb.Fatal("browser: " + err.Error())
	}

	b := &Browser{tb: tb, timeout: cfg.timeout, dir: artifactsDir(tb), net: online}
	profile := tb.TempDir() // removed after the cleanup below has stopped Chromium
	logName := "chromium.log"
	if n, _ := started.Load(tb.Name()); n.(*atomic.Int32).Load() > 1 {
		logName = fmt.Sprintf("chromium-%d.log", n.(*atomic.Int32).Load())
	}
	chromiumLog, err := os.Create(filepath.Join(b.dir, logName))
	if err != nil {
		tb.Fatalf("browser: %v", err)
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(int(cfg.width), int(cfg.height)),
		chromedp.UserAgent(cfg.userAgent),
		chromedp.CombinedOutput(chromiumLog),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	tb.Cleanup(func() {
		if tb.Failed() {
			b.saveFailureArtifacts()
		}
		cancelTab()
		cancelAlloc() // kills Chromium and waits for it
		chromiumLog.Close()
	})

	// The first call starts the browser; it must have no timeout of its own, or the
	// browser would end with it.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("browser: starting %s: %v (see %s)", exe, err, chromiumLog.Name())
	}
	go b.collectConsole()

	viewport := []chromedp.EmulateViewportOption{chromedp.EmulateScale(cfg.scale)}
	if cfg.mobile {
		viewport = append(viewport, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	b.must("set up the viewport", chromedp.EmulateViewport(cfg.width, cfg.height, viewport...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
			return err
		}))
	return b
}

// started counts the browsers each test has started, so a test's second browser
// (a phone and a wallet's browser, say) adds to the artifacts of its first.
var started sync.Map // test name → *atomic.Int32

// artifactsDir is testdata/artifacts/<TestName>/ in the package folder, emptied
// when the test starts its first browser.
func artifactsDir(tb testing.TB) string {
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(tb.Name(), "_")
	dir, err := filepath.Abs(filepath.Join("testdata", "artifacts", name))
	n, _ := started.LoadOrStore(tb.Name(), new(atomic.Int32))
	if err == nil {
		if n.(*atomic.Int32).Add(1) == 1 {
			_ = os.RemoveAll(dir)
		}
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		tb.Fatalf("browser: artifacts folder: %v", err)
	}
	return dir
}

// Context is the tab's chromedp context, for calls the helpers do not cover.
func (b *Browser) Context() context.Context { return b.ctx }

// ArtifactsDir is the folder where screenshots and logs of the test are saved.
func (b *Browser) ArtifactsDir() string { return b.dir }

// do runs steps with the helper timeout.
func (b *Browser) do(steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// must runs steps and fails the test, saying what it was doing, if one fails.
func (b *Browser) must(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	if err := b.do(steps...); err != nil {
		b.tb.Fatalf("browser: %s: %v", what, err)
	}
}

// run runs one action returning a value, with the helper timeout.
func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// MustNavigate loads url in the tab and waits for its load event.
func (b *Browser) MustNavigate(url string) {
	b.tb.Helper()
	b.must("navigate to "+url, chromedp.Navigate(url))
	b.reapplyNetwork()
}

// MustReload reloads the page and waits for its load event.
func (b *Browser) MustReload() {
	b.tb.Helper()
	b.must("reload", chromedp.Reload())
	b.reapplyNetwork()
}

// reapplyNetwork emulates the network again after a navigation: Chromium 148 keeps
// the request conditions across documents but forgets navigator.onLine's override
// with the old document. The page gets an "offline" event if it was already
// running.
func (b *Browser) reapplyNetwork() {
	b.tb.Helper()
	if b.net != online {
		b.mustEmulate(b.net)
	}
}

// MustRunOnNewDocument makes the tab run the script in every document it loads from
// now on, before the page's own scripts: the way a wallet extension injects
// window.ethereum, for example.
func (b *Browser) MustRunOnNewDocument(script string) {
	b.tb.Helper()
	b.must("add a script to new documents", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// AppReadyJS is true once the wasm app has taken over the page: it sets
// data-app="ready" on <html> when it mounts, and prerendered HTML never has it.
const AppReadyJS = `document.documentElement.dataset.app === "ready"`

// MustWaitAppReady waits until the wasm app has taken over the page.
func (b *Browser) MustWaitAppReady() {
	b.tb.Helper()
	if _, err := run(b, chromedp.Poll[bool](AppReadyJS, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(b.timeout))); err != nil {
		b.tb.Fatalf("browser: the wasm app did not take over the page (no data-app=\"ready\" on <html>): %v\nconsole:\n%s",
			err, strings.Join(b.ConsoleLog(), "\n"))
	}
}

// MustWaitVisible waits until the element matching css is visible.
func (b *Browser) MustWaitVisible(css string) {
	b.tb.Helper()
	b.must("wait for "+css+" to be visible", chromedp.WaitVisible(chromedp.CSS(css)))
}

// MustText returns the visible text of the first element matching css.
func (b *Browser) MustText(css string) string {
	b.tb.Helper()
	s, err := run(b, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.tb.Fatalf("browser: read the text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

// MustClick clicks the first element matching css, once it is visible and enabled.
func (b *Browser) MustClick(css string) {
	b.tb.Helper()
	// A person waits for a disabled button to come alive before tapping it: the
	// app enables it on its next render, which a slow machine takes a moment for.
	sel, _ := json.Marshal(css)
	b.MustWaitFor(css+" to be enabled", fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e) return "no element matches";
		return e.disabled ? "it is disabled" : "";
	})()`, sel))
	b.must("click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// MustType focuses the first element matching css and types text into it, key by
// key, as a person would.
func (b *Browser) MustType(css, text string) {
	b.tb.Helper()
	b.must("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text, chromedp.NodeVisible))
}

// Eval evaluates the JavaScript expression in the page, awaiting it when it is a
// promise, and decodes its value into T.
func Eval[T any](b *Browser, expression string) (T, error) {
	return run(b, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
}

// MustEval is Eval that fails the test on an error.
func MustEval[T any](b *Browser, expression string) T {
	b.tb.Helper()
	v, err := Eval[T](b, expression)
	if err != nil {
		b.tb.Fatalf("browser: evaluate %s: %v", expression, err)
	}
	return v
}

// MustScreenshot saves a PNG of the whole page (beyond the viewport) as
// <name>.png in the artifacts folder, and returns its path.
func (b *Browser) MustScreenshot(name string) string {
	b.tb.Helper()
	return b.mustSaveScreenshot(name, chromedp.FullScreenshot(100))
}

// MustScreenshotScreen saves a PNG of what the screen shows now (the viewport) as
// <name>.png in the artifacts folder, and returns its path.
func (b *Browser) MustScreenshotScreen(name string) string {
	b.tb.Helper()
	return b.mustSaveScreenshot(name, chromedp.CaptureScreenshot())
}

func (b *Browser) mustSaveScreenshot(name string, capture chromedp.Action[[]byte]) string {
	b.tb.Helper()
	png, err := run(b, capture)
	if err != nil {
		b.tb.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatalf("browser: %v", err)
	}
	return path
}

// InstallabilityErrors asks Chromium why it would not offer to install the page as
// an app (Page.getInstallabilityErrors); none means installable. Each error reads
// "id(name=value, ...)".
func (b *Browser) InstallabilityErrors() ([]string, error) {
	res, err := run(b, func(ctx context.Context, t *chromedp.Target) (page.GetInstallabilityErrorsResult, error) {
		return cdp.Call(ctx, t, page.GetInstallabilityErrors, cdp.Empty{})
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range res.InstallabilityErrors {
		var args []string
		for _, a := range e.ErrorArguments {
			args = append(args, a.Name+"="+a.Value)
		}
		out = append(out, e.ErrorID+"("+strings.Join(args, ", ")+")")
	}
	return out, nil
}

// Network conditions, as DevTools defines them. Throughputs are bytes per second;
// -1 means no limit.
type conditions struct {
	offline          bool
	latency          float64
	download, upload float64
	connection       network.ConnectionType
	description      string
}

var (
	online  = conditions{download: -1, upload: -1, connection: network.ConnectionTypeWifi, description: "online"}
	offline = conditions{offline: true, download: -1, upload: -1, connection: network.ConnectionTypeNone, description: "offline"}
	// slow4G is DevTools' "Slow 4G" preset: 1.44 Mbit/s down, 675 kbit/s up,
	// 562.5 ms latency.
	slow4G = conditions{latency: 562.5, download: 180_000, upload: 84_375, connection: network.ConnectionTypeCellular4g, description: "Slow 4G"}
)

// MustGoOffline cuts the page and its service worker off the network, and makes
// navigator.onLine false (the page gets an "offline" event).
func (b *Browser) MustGoOffline() { b.tb.Helper(); b.mustEmulate(offline) }

// MustGoOnline removes any network emulation.
func (b *Browser) MustGoOnline() { b.tb.Helper(); b.mustEmulate(online) }

// MustThrottleSlow4G slows the network to DevTools' "Slow 4G".
func (b *Browser) MustThrottleSlow4G() { b.tb.Helper(); b.mustEmulate(slow4G) }

func (b *Browser) mustEmulate(n conditions) {
	b.tb.Helper()
	b.net = n
	b.must("emulate the network "+n.description, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if err := emulateByRule(ctx, t, n); err != nil {
			return err
		}
		// Chromium 148 applies the rule's latency but not its throughput to every
		// request; the older command, which cdproto v0.159 no longer lists, still
		// throttles the bandwidth of the whole page.
		if err := t.Call(ctx, "Network.emulateNetworkConditions", map[string]any{
			"offline":            n.offline,
			"latency":            n.latency,
			"downloadThroughput": n.download,
			"uploadThroughput":   n.upload,
			"connectionType":     n.connection,
		}, nil); err != nil {
			return fmt.Errorf("Network.emulateNetworkConditions: %w", err)
		}
		// navigator.onLine and the online/offline events follow this one.
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline:            n.offline,
			Latency:            n.latency,
			DownloadThroughput: n.download,
			UploadThroughput:   n.upload,
			ConnectionType:     n.connection,
		})
		return err
	}))
}

// emulateByRule sets the conditions for every request of the page and of its
// service worker (Network.emulateNetworkConditionsByRule). Chromium 148 takes
// "offline" as a parameter of the command while cdproto v0.159, written for a later
// protocol, puts it in each rule: this sends the shape Chromium 148 accepts, and the
// typed one if Chromium refuses it.
func emulateByRule(ctx context.Context, t *chromedp.Target, n conditions) error {
	rule := map[string]any{
		"urlPattern":         "",
		"latency":            n.latency,
		"downloadThroughput": n.download,
		"uploadThroughput":   n.upload,
		"connectionType":     n.connection,
	}
	err := t.Call(ctx, network.CommandEmulateNetworkConditionsByRule, map[string]any{
		"offline":                     n.offline,
		"emulateOfflineServiceWorker": n.offline,
		"matchedNetworkConditions":    []any{rule},
	}, nil)
	if err == nil {
		return nil
	}
	_, err2 := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &n.offline,
		MatchedNetworkConditions: []*network.Conditions{{
			Offline:            n.offline,
			Latency:            n.latency,
			DownloadThroughput: n.download,
			UploadThroughput:   n.upload,
			ConnectionType:     n.connection,
		}},
	})
	if err2 != nil {
		return fmt.Errorf("%w (and with cdproto's parameters: %v)", err, err2)
	}
	return nil
}

// collectConsole records the page's console messages, uncaught exceptions and
// browser log entries until the tab closes.
func (b *Browser) collectConsole() {
	for m, err := range chromedp.Console(b.ctx) {
		if err != nil {
			return
		}
		line := m.String()
		if m.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		b.mu.Lock()
		b.console = append(b.console, line)
		b.mu.Unlock()
	}
}

// ConsoleLog returns the console messages so far, one line each ("type: text").
func (b *Browser) ConsoleLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// saveFailureArtifacts keeps what explains a failed test: the page as it was and
// the console.
func (b *Browser) saveFailureArtifacts() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(b.dir, "failure.png"), png, 0o644)
	}
	_ = os.WriteFile(filepath.Join(b.dir, "console.log"), []byte(strings.Join(b.ConsoleLog(), "\n")+"\n"), 0o644)
	b.tb.Logf("browser: artifacts of the failure are in %s", b.dir)
}

// MustScreenshotElement saves a PNG of the first element matching css as
// <name>.png in the artifacts folder, and returns the PNG.
func (b *Browser) MustScreenshotElement(name, css string) []byte {
	b.tb.Helper()
	png, err := run(b, chromedp.Screenshot(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		b.tb.Fatalf("browser: screenshot of %s: %v", css, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.tb.Fatalf("browser: %v", err)
	}
	return png
}

// MustWaitFor polls the JavaScript expression until it returns "" (the condition
// holds) and fails the test with its last answer (what is still wrong) when the
// helper timeout passes.
func (b *Browser) MustWaitFor(what, expression string) {
	b.tb.Helper()
	deadline := time.Now().Add(b.timeout)
	last := ""
	for {
		s, err := Eval[string](b, expression)
		switch {
		case err != nil:
			last = err.Error()
		case s == "":
			return
		default:
			last = s
		}
		if time.Now().After(deadline) {
			b.tb.Fatalf("browser: waiting for %s: %s\nconsole:\n%s", what, last, strings.Join(b.ConsoleLog(), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MustWaitText waits until the first element matching css shows text containing
// want, and returns its text.
func (b *Browser) MustWaitText(css, want string) string {
	b.tb.Helper()
	sel, _ := json.Marshal(css)
	w, _ := json.Marshal(want)
	b.MustWaitFor(fmt.Sprintf("%s to say %q", css, want), fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e) return "no element matches";
		return e.innerText.includes(%s) ? "" : "it says: " + e.innerText;
	})()`, sel, w))
	return b.MustText(css)
}

// MustWaitPath waits until the page's path starts with prefix (the app routes
// without reloading) and returns the whole path.
func (b *Browser) MustWaitPath(prefix string) string {
	b.tb.Helper()
	p, _ := json.Marshal(prefix)
	b.MustWaitFor("the path to start with "+prefix, fmt.Sprintf(`location.pathname.startsWith(%s) ? "" : "path is " + location.pathname`, p))
	return MustEval[string](b, "location.pathname")
}

// MustEval0 evaluates the JavaScript expression for its effect, ignoring its value.
func (b *Browser) MustEval0(expression string) {
	b.tb.Helper()
	if _, err := Eval[any](b, expression+";null"); err != nil {
		b.tb.Fatalf("browser: evaluate %s: %v", expression, err)
	}
}
