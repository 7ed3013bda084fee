package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ui "github.com/aispace/credits/app"
	"github.com/aispace/credits/static"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Options configures NewHandler.
type Options struct {
	// PublicURL is the address buyers use, such as "https://credits.example.com".
	// Its host names the pages in their social-media metadata (og:url, og:image).
	PublicURL string

	// Dev marks a development server: the app shows a ribbon saying that the
	// network and the cards are test ones.
	Dev bool

	// Version is the build's version (the Makefile passes `git describe`). The
	// version the app and its caches use is this plus a hash of the embedded
	// files, so it changes with any change of the content even when Version does
	// not.
	Version string

	// Files holds the static files: app.css, app-worker.js, the icons and
	// web/app.wasm with its .br and .gz copies. Nil means static.Files.
	Files fs.FS

	// Logger receives what the handler has to report (a stale compressed copy of
	// app.wasm, say). Nil means slog.Default().
	Logger *slog.Logger
}

// Brand colours, also in static/app.css.
const (
	themeColor      = "#4338ca"
	backgroundColor = "#f6f6fb"
)

const (
	appName        = "AiSpace Credits"
	appShortName   = "Credits"
	appDescription = "Buy AiSpace Credits by card or with ETH on Base, and spend them on AI services. $1 USD = 10,000 Credits; your Secure Key appears on screen when the payment confirms."
)

// handler routes between the static files it serves itself and go-app's handler.
type handler struct {
	version  string
	pages    *app.Handler
	files    map[string]*asset // by URL path under /web/, without app.wasm
	wasm     *wasmAsset        // nil when app.wasm was not built
	manifest *asset
	styles   styleInliner
	log      *slog.Logger
}

// NewHandler returns the handler of the PWA: the prerendered pages, go-app's
// scripts, the manifest, the service worker and the embedded static files. It
// reads every file once, here; serving never touches the disk.
func NewHandler(opts Options) http.Handler {
	files := opts.Files
	if files == nil {
		files = static.Files
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ui.Routes()

	h := &handler{files: map[string]*asset{}, log: log}
	content := sha256.New()
	for _, f := range staticFiles {
		b, err := fs.ReadFile(files, f.name)
		if err != nil {
			// The embed lists these files, so this is a broken build or a test's FS.
			panic("web: missing static file " + f.name + ": " + err.Error())
		}
		content.Write(b)
		h.files["/web/"+f.name] = newAsset(b, f.contentType, "")
	}
	worker, err := fs.ReadFile(files, "app-worker.js")
	if err != nil {
		panic("web: missing static file app-worker.js: " + err.Error())
	}
	content.Write(worker)
	h.wasm = loadWasm(files, log)
	if h.wasm != nil {
		content.Write([]byte(h.wasm.raw.etag))
	}

	hash := hex.EncodeToString(content.Sum(nil))[:12]
	h.version = hash
	if opts.Version != "" {
		h.version = opts.Version + "." + hash
	}

	h.pages = h.newAppHandler(opts, string(worker))
	appCSS, _ := fs.ReadFile(files, "app.css")
	h.styles = newStyleInliner(h.pages, h.versioned("/web/app.css"), appCSS)
	h.manifest = newAsset(h.manifestJSON(), "application/manifest+json", "")
	return h
}

// staticFiles are the files served under /web/ besides app.wasm.
var staticFiles = []struct{ name, contentType string }{
	{"app.css", "text/css; charset=utf-8"},
	{"icon.svg", "image/svg+xml"},
	{"icon-192.png", "image/png"},
	{"icon-512.png", "image/png"},
	{"icon-maskable-192.png", "image/png"},
	{"icon-maskable-512.png", "image/png"},
}

// versioned is the URL of a file under /web/ for this version.
func (h *handler) versioned(path string) string { return path + "?v=" + h.version }

func (h *handler) newAppHandler(opts Options, workerTemplate string) *app.Handler {
	var env map[string]string
	if opts.Dev {
		env = map[string]string{"AISPACE_DEV": "1"}
	}
	domain := ""
	image := ""
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
		domain = u.Host
		image = h.versioned("/web/icon-512.png")
	}
	wasmLength := ""
	if h.wasm != nil {
		wasmLength = strconv.Itoa(len(h.wasm.raw.body))
	}
	return &app.Handler{
		Name:            appName,
		ShortName:       appShortName,
		Title:           appName,
		Description:     appDescription,
		Author:          "AiSpace",
		Keywords:        []string{"AiSpace", "credits", "AI", "Base", "ETH", "MetaMask"},
		Lang:            "en",
		Domain:          domain,
		Image:           image,
		ThemeColor:      themeColor,
		BackgroundColor: backgroundColor,
		LoadingLabel:    "Starting the app… {progress}%",
		Icon: app.Icon{
			Default:  h.versioned("/web/icon-192.png"),
			Large:    h.versioned("/web/icon-512.png"),
			Maskable: h.versioned("/web/icon-maskable-512.png"),
			SVG:      h.versioned("/web/icon.svg"),
		},
		Styles: []string{h.versioned("/web/app.css")},
		CacheableResources: []string{
			h.versioned("/web/icon.svg"),
			h.versioned("/web/icon-maskable-192.png"),
			ui.PathBuy, ui.PathAccount, ui.PathLogin, ui.PathPricing, ui.PathHelp,
		},
		RawHeaders: []string{
			`<meta name="color-scheme" content="light dark">`,
			`<meta name="format-detection" content="telephone=no">`,
		},
		Env:                   env,
		Resources:             resources{version: h.version},
		Version:               h.version,
		WasmContentLength:     wasmLength,
		ServiceWorkerTemplate: workerTemplate,
	}
}

// resources resolves go-app's /web/ paths to this version's URLs. It is not an
// http.Handler, so go-app never serves /web/ itself: the handler does, before
// go-app sees the request.
type resources struct{ version string }

func (r resources) Resolve(location string) string {
	if location == "" || location == "/" {
		return "/"
	}
	if !strings.HasPrefix(location, "/web/") || strings.Contains(location, "?") {
		return location
	}
	return location + "?v=" + r.version
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	header := w.Header()
	header.Set("X-Content-Type-Options", "nosniff")
	// Purchase ids are in page URLs: never send them to other sites.
	header.Set("Referrer-Policy", "same-origin")
	header.Set("X-Frame-Options", "DENY")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		header.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch path := r.URL.Path; {
	case path == "/web/app.wasm" || path == "/app.wasm":
		h.serveWasm(w, r)
	case path == "/manifest.webmanifest" || path == "/manifest.json":
		h.manifest.serve(w, r, "no-cache")
	case path == "/robots.txt":
		robots.serve(w, r, "public, max-age=86400")
	case path == "/sitemap.xml" || path == "/ads.txt":
		// go-app would fetch these from /web/; there are none.
		http.NotFound(w, r)
	case strings.HasPrefix(path, "/web/"):
		f, ok := h.files[path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f.serve(w, r, h.cacheControl(r))
	case path == "/app.js":
		rewrite(h.pages, w, r, func(body []byte) []byte {
			if !bytes.Contains(body, []byte(`fetchWithProgress("`)) {
				return body // a go-app that changed: leave it as it is
			}
			return append(bytes.Replace(body, []byte(`fetchWithProgress("`), []byte(`aispaceFetchWasm("`), 1), fetchWasmJS...)
		})
	default:
		rewrite(h.pages, w, r, func(body []byte) []byte {
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				return body
			}
			return h.styles.inline(body)
		})
	}
}

// fetchWasmJS is added to go-app's app.js, which then fetches app.wasm through it.
// go-app re-wraps the response in a stream of its own to show a progress bar, and
// V8 keeps the compiled code of a WebAssembly module only for a response it can
// tie to a cache entry: with the wrapping, a repeat visit compiles all of app.wasm
// again (about a second on a phone). On a repeat visit the service worker has the
// file, so it arrives at once and needs no progress bar: fetch it plainly.
var fetchWasmJS = []byte(`
// AiSpace Credits (backend/web): see fetchWasmJS.
function aispaceFetchWasm(url, progress) {
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    return fetch(url);
  }
  return fetchWithProgress(url, progress);
}
`)

// rewrite answers with pages' answer, its body changed by edit (for a 200), and
// gzip-compressed when the client accepts it: go-app sends pages and scripts
// uncompressed.
func rewrite(pages http.Handler, w http.ResponseWriter, r *http.Request, edit func([]byte) []byte) {
	rec := &bufferedResponse{header: w.Header()}
	pages.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.body.Bytes()
	if rec.status == http.StatusOK {
		body = edit(body)
		w.Header().Add("Vary", "Accept-Encoding")
		if len(body) > 1024 && acceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			body = z.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
			if etag := w.Header().Get("ETag"); strings.HasSuffix(etag, `"`) {
				w.Header().Set("ETag", strings.TrimSuffix(etag, `"`)+`-gzip"`)
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rec.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// styleInliner puts the stylesheets into the pages themselves. go-app links two
// (its own /app.css and ours), and a browser paints nothing until both have
// arrived: on a phone network that is a second round trip of half a second or more
// before the first paint. Inlined, the prerendered page paints as soon as its HTML
// is in. The CSP allows inline styles (style-src 'unsafe-inline'); the files stay
// served for anything that asks for them.
type styleInliner struct {
	links [][]byte // the <link> tags go-app writes
	style []byte   // the <style> that replaces the first of them
}

func newStyleInliner(pages http.Handler, appCSSURL string, appCSS []byte) styleInliner {
	rec := &bufferedResponse{header: http.Header{}}
	pages.ServeHTTP(rec, httptestRequest("/app.css"))
	css := append(append(rec.body.Bytes(), '\n'), appCSS...)
	return styleInliner{
		links: [][]byte{
			[]byte(`<link href="/app.css" type="text/css" rel="stylesheet">`),
			[]byte(`<link href="` + html.EscapeString(appCSSURL) + `" type="text/css" rel="stylesheet">`),
		},
		style: append(append([]byte("<style>"), bytes.ReplaceAll(css, []byte("</"), []byte(`<\/`))...), "</style>"...),
	}
}

// inline replaces the stylesheet links of a page with the styles themselves.
func (si styleInliner) inline(page []byte) []byte {
	if len(si.links) != 2 || !bytes.Contains(page, si.links[0]) {
		return page
	}
	page = bytes.Replace(page, si.links[0], si.style, 1)
	return bytes.Replace(page, si.links[1], nil, 1)
}

// bufferedResponse keeps an answer to rewrite it before it is sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func httptestRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://localhost"+path, nil)
	return r
}

// cacheControl is immutable for this version's URLs and no-cache (revalidate with
// the ETag) for any other.
func (h *handler) cacheControl(r *http.Request) string {
	if r.URL.Query().Get("v") == h.version {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

// robots keeps purchase pages out of search engines; the rest may be indexed.
var robots = newAsset([]byte("User-agent: *\nDisallow: /purchase/\nAllow: /\n"), "text/plain; charset=utf-8", "")

// errWasmMissing is what a browser asking for app.wasm gets when it was not built.
const errWasmMissing = "app.wasm was not built into this server: run `make build` (it compiles the wasm, compresses it and embeds it) and start the server again.\n"

func (h *handler) serveWasm(w http.ResponseWriter, r *http.Request) {
	if h.wasm == nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, errWasmMissing, http.StatusServiceUnavailable)
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	a := h.wasm.raw
	switch {
	case h.wasm.br != nil && acceptsEncoding(r.Header.Get("Accept-Encoding"), "br"):
		a = h.wasm.br
	case h.wasm.gz != nil && acceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip"):
		a = h.wasm.gz
	}
	a.serve(w, r, h.cacheControl(r))
}

// acceptsEncoding reports whether an Accept-Encoding header allows coding: named
// (or matched by "*") with a q-value above zero.
func acceptsEncoding(header, coding string) bool {
	wildcard := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		ok := true
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				ok = err == nil && q > 0
			}
		}
		if name == coding {
			return ok
		}
		wildcard = ok
	}
	return wildcard
}

// manifestJSON is the web app manifest: name, colours, start URL, display mode and
// icons in both purposes and both sizes, which Chrome requires to offer install.
func (h *handler) manifestJSON() []byte {
	type icon struct {
		Src     string `json:"src"`
		Sizes   string `json:"sizes"`
		Type    string `json:"type"`
		Purpose string `json:"purpose"`
	}
	type shortcut struct {
		Name  string `json:"name"`
		URL   string `json:"url"`
		Icons []icon `json:"icons,omitempty"`
	}
	icon192 := icon{h.versioned("/web/icon-192.png"), "192x192", "image/png", "any"}
	m := struct {
		ID              string     `json:"id"`
		Name            string     `json:"name"`
		ShortName       string     `json:"short_name"`
		Description     string     `json:"description"`
		Lang            string     `json:"lang"`
		StartURL        string     `json:"start_url"`
		Scope           string     `json:"scope"`
		Display         string     `json:"display"`
		BackgroundColor string     `json:"background_color"`
		ThemeColor      string     `json:"theme_color"`
		Categories      []string   `json:"categories"`
		Icons           []icon     `json:"icons"`
		Shortcuts       []shortcut `json:"shortcuts"`
	}{
		ID:              "/",
		Name:            appName,
		ShortName:       appShortName,
		Description:     appDescription,
		Lang:            "en",
		StartURL:        "/",
		Scope:           "/",
		Display:         "standalone",
		BackgroundColor: backgroundColor,
		ThemeColor:      themeColor,
		Categories:      []string{"finance", "productivity"},
		Icons: []icon{
			icon192,
			{h.versioned("/web/icon-512.png"), "512x512", "image/png", "any"},
			{h.versioned("/web/icon-maskable-192.png"), "192x192", "image/png", "maskable"},
			{h.versioned("/web/icon-maskable-512.png"), "512x512", "image/png", "maskable"},
			{h.versioned("/web/icon.svg"), "any", "image/svg+xml", "any"},
		},
		Shortcuts: []shortcut{
			{Name: "Buy Credits", URL: ui.PathBuy, Icons: []icon{icon192}},
			{Name: "Your account", URL: ui.PathAccount, Icons: []icon{icon192}},
		},
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // only strings: cannot fail
	}
	return b
}

// asset is one file in memory, in one encoding.
type asset struct {
	body        []byte
	contentType string
	encoding    string // Content-Encoding, "" for none
	etag        string
}

func newAsset(body []byte, contentType, encoding string) *asset {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	if encoding != "" {
		tag += "-" + encoding
	}
	return &asset{body: body, contentType: contentType, encoding: encoding, etag: `"` + tag + `"`}
}

// serve answers with the asset; http.ServeContent handles HEAD, ranges and
// If-None-Match against the ETag.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	header := w.Header()
	header.Set("Content-Type", a.contentType)
	header.Set("Cache-Control", cacheControl)
	header.Set("ETag", a.etag)
	if a.encoding != "" {
		header.Set("Content-Encoding", a.encoding)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// wasmAsset is app.wasm in its three encodings; br or gz is nil when its file is
// missing or does not decompress to app.wasm.
type wasmAsset struct {
	raw, br, gz *asset
}

const wasmType = "application/wasm"

// loadWasm reads web/app.wasm and its compressed copies; nil when it was not built.
func loadWasm(files fs.FS, log *slog.Logger) *wasmAsset {
	raw, err := fs.ReadFile(files, "web/app.wasm")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Error("reading app.wasm failed", "err", err)
		}
		return nil
	}
	wa := &wasmAsset{raw: newAsset(raw, wasmType, "")}
	for _, enc := range encodings {
		b, err := fs.ReadFile(files, "web/app.wasm"+enc.ext)
		if err != nil {
			log.Warn("app.wasm has no precompressed copy: sending it uncompressed", "missing", "app.wasm"+enc.ext)
			continue
		}
		if back, err := enc.decode(b); err != nil || !bytes.Equal(back, raw) {
			log.Warn("app.wasm's precompressed copy is stale or broken (run make build): not sending it", "file", "app.wasm"+enc.ext)
			continue
		}
		a := newAsset(b, wasmType, enc.name)
		if enc.name == "br" {
			wa.br = a
		} else {
			wa.gz = a
		}
	}
	return wa
}
