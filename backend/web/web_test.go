package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"

	"github.com/aispace/credits/backend/web"
	"github.com/aispace/credits/static"
)

// get serves one request through h and returns the recorded answer.
func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// pages are the routes and what their prerendered HTML must say before any wasm runs.
var pages = []struct {
	path, title, h1, text string
}{
	{"/", "Buy Credits · AiSpace Credits", "Buy Credits", "$1 USD = 10,000 Credits"},
	{"/buy", "Buy Credits · AiSpace Credits", "Buy Credits", "Base Chain (Chain ID: 8453)"},
	{"/account", "Your account · AiSpace Credits", "Your account", "Log in with your Secure Key"},
	{"/login", "Log in · AiSpace Credits", "Log in with your Secure Key", "Secure Key"},
	{"/pricing", "Pricing · AiSpace Credits", "Pricing", "Credits renew every day at 0:00:00 UTC"},
	{"/help", "Help · AiSpace Credits", "Help & troubleshooting", "My Secure Key did not arrive after payment"},
	{"/purchase/pur_7Hx2", "Your purchase · AiSpace Credits", "Your purchase", "pur_7Hx2"},
}

func TestEveryRouteIsPrerenderedWithItsTitleAndHeading(t *testing.T) {
	h := web.NewHandler(web.Options{PublicURL: "https://credits.example.com"})
	for _, p := range pages {
		t.Run(strings.TrimPrefix(p.path, "/"), func(t *testing.T) {
			w := get(h, p.path)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type: got %q, want text/html", ct)
			}
			body := w.Body.String()
			for _, want := range []string{
				"<title>" + html.EscapeString(p.title) + "</title>",
				"<h1>" + html.EscapeString(p.h1) + "</h1>",
				html.EscapeString(p.text),
			} {
				if !strings.Contains(body, want) {
					t.Errorf("prerendered HTML lacks %q", want)
				}
			}
			if strings.Count(body, "<h1") != 1 {
				t.Errorf("want exactly one h1, got %d", strings.Count(body, "<h1"))
			}
			// Only the running wasm app may mark the page as taken over.
			if strings.Contains(body, "data-app") {
				t.Error(`prerendered HTML contains the app marker "data-app"`)
			}
			if strings.Contains(body, "offline-notice") {
				t.Error("prerendered HTML shows the offline notice")
			}
		})
	}
}

func TestUnknownPathsAnswerWithoutPanicking(t *testing.T) {
	h := web.NewHandler(web.Options{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/nope", 404},
		{"GET", "/purchase/", 404},
		{"GET", "/purchase/a/b", 404},
		{"GET", "/purchase/" + strings.Repeat("x", 65), 404},
		{"GET", "/purchase/..%2F..%2Fetc", 404},
		{"GET", "/web/", 404},
		{"GET", "/web/nope.css", 404},
		{"GET", "/web/../go.mod", 404},
		{"GET", "/web/app-worker.js", 404},
		{"GET", "/web/gen_icons.go", 404},
		{"GET", "/sitemap.xml", 404},
		{"GET", "/ads.txt", 404},
		{"GET", "/robots.txt", 200},
		{"HEAD", "/pricing", 200},
		{"POST", "/", 405},
		{"DELETE", "/web/app.css", 405},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, w.Code, tc.want)
		}
	}
}

// builtWasm returns the embedded app.wasm, failing the test when it was not built.
func builtWasm(t *testing.T) []byte {
	t.Helper()
	raw, err := fs.ReadFile(static.Files, "web/app.wasm")
	if err != nil {
		t.Fatal("static/web/app.wasm is missing: run `make build` (or `make wasm`) before this test")
	}
	return raw
}

func TestAppWasmIsServedPrecompressedByAcceptEncoding(t *testing.T) {
	raw := builtWasm(t)
	h := web.NewHandler(web.Options{})
	for _, tc := range []struct {
		name, accept, wantEncoding string
	}{
		{"BrotliWhenAccepted", "gzip, deflate, br, zstd", "br"},
		{"GzipWhenOnlyGzip", "gzip", "gzip"},
		{"GzipWhenBrotliRefused", "br;q=0, gzip;q=0.8", "gzip"},
		{"RawWhenNothingAccepted", "", ""},
		{"RawWhenOnlyIdentity", "identity", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, "/web/app.wasm", "Accept-Encoding", tc.accept)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200: %s", w.Code, w.Body)
			}
			if got := w.Header().Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding: got %q, want %q", got, tc.wantEncoding)
			}
			if got := w.Header().Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type: got %q, want application/wasm", got)
			}
			if got := w.Header().Get("Vary"); !strings.Contains(got, "Accept-Encoding") {
				t.Errorf("Vary: got %q, want Accept-Encoding", got)
			}
			body := decode(t, tc.wantEncoding, w.Body.Bytes())
			if !bytes.Equal(body, raw) {
				t.Errorf("decoded body: got %d bytes, want the %d bytes of app.wasm", len(body), len(raw))
			}
			if tc.wantEncoding != "" && w.Body.Len() >= len(raw)/2 {
				t.Errorf("compressed body is %d bytes for %d raw: not compressed well", w.Body.Len(), len(raw))
			}
		})
	}
}

func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	switch encoding {
	case "br":
		r = brotli.NewReader(r)
	case "gzip":
		gz, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = gz
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", encoding, err)
	}
	return out
}

// The page references app.wasm with the version in its URL: that URL is cached for a
// year; any other is revalidated with its ETag.
func TestAppWasmCachingFollowsTheVersionInTheURL(t *testing.T) {
	builtWasm(t)
	h := web.NewHandler(web.Options{})
	appJS := get(h, "/app.js").Body.String()
	i := strings.Index(appJS, "/web/app.wasm?v=")
	if i < 0 {
		t.Fatal("app.js does not load /web/app.wasm?v=<version>")
	}
	versioned := appJS[i : i+strings.IndexByte(appJS[i:], '"')]

	w := get(h, versioned, "Accept-Encoding", "br")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control of %s: got %q, want a year, immutable", versioned, got)
	}
	for _, stale := range []string{"/web/app.wasm", "/web/app.wasm?v=old"} {
		w := get(h, stale, "Accept-Encoding", "br")
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("Cache-Control of %s: got %q, want no-cache", stale, got)
		}
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("%s has no ETag", stale)
		}
		if got := get(h, stale, "Accept-Encoding", "br", "If-None-Match", etag).Code; got != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: got %d, want 304", stale, got)
		}
	}
	brTag := get(h, "/web/app.wasm", "Accept-Encoding", "br").Header().Get("ETag")
	gzTag := get(h, "/web/app.wasm", "Accept-Encoding", "gzip").Header().Get("ETag")
	if brTag == gzTag {
		t.Errorf("the br and gzip bodies share the ETag %s: a cache could mix them up", brTag)
	}
}

// staticOnly is the embedded static files without web/: a server whose app.wasm was
// not built.
func staticOnly(t *testing.T) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(static.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path, "web/") {
			return err
		}
		b, err := fs.ReadFile(static.Files, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMissingAppWasmIsAClear503(t *testing.T) {
	h := web.NewHandler(web.Options{Files: staticOnly(t)})
	w := get(h, "/web/app.wasm", "Accept-Encoding", "br")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status: got %d, want 503", w.Code)
	}
	if !strings.Contains(w.Body.String(), "make build") {
		t.Errorf("body: got %q, want it to say to run make build", w.Body)
	}
	if got := get(h, "/").Code; got != http.StatusOK {
		t.Errorf("pages without app.wasm: got %d, want 200", got)
	}
}

func TestManifestListsRegularAndMaskableIcons(t *testing.T) {
	h := web.NewHandler(web.Options{})
	w := get(h, "/manifest.webmanifest")
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("Content-Type: got %q", ct)
	}
	var m struct {
		Name     string `json:"name"`
		StartURL string `json:"start_url"`
		Display  string `json:"display"`
		Icons    []struct {
			Src     string `json:"src"`
			Sizes   string `json:"sizes"`
			Type    string `json:"type"`
			Purpose string `json:"purpose"`
		} `json:"icons"`
	}
	dec := json.NewDecoder(w.Body)
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "AiSpace Credits" || m.StartURL != "/" || m.Display != "standalone" {
		t.Errorf("manifest: got name %q start_url %q display %q", m.Name, m.StartURL, m.Display)
	}
	want := map[string]bool{"192x192 any": false, "512x512 any": false, "192x192 maskable": false, "512x512 maskable": false}
	for _, icon := range m.Icons {
		if icon.Type != "image/png" {
			continue
		}
		key := icon.Sizes + " " + icon.Purpose
		if _, ok := want[key]; !ok {
			continue
		}
		want[key] = true
		r := get(h, icon.Src)
		if r.Code != http.StatusOK || r.Header().Get("Content-Type") != "image/png" {
			t.Errorf("icon %s: got %d %q, want 200 image/png", icon.Src, r.Code, r.Header().Get("Content-Type"))
			continue
		}
		img, err := png.Decode(r.Body)
		if err != nil {
			t.Errorf("icon %s: %v", icon.Src, err)
			continue
		}
		if side := strconv.Itoa(img.Bounds().Dx()); img.Bounds().Dx() != img.Bounds().Dy() || icon.Sizes != side+"x"+side {
			t.Errorf("icon %s: %v, manifest says %s", icon.Src, img.Bounds(), icon.Sizes)
		}
		if icon.Purpose == "maskable" {
			checkMaskable(t, icon.Src, img)
		}
	}
	for k, found := range want {
		if !found {
			t.Errorf("manifest lacks a %s PNG icon", k)
		}
	}
}

// checkMaskable: a maskable icon fills its square (launchers cut any shape out of
// it) and keeps its glyph (white) inside the safe zone, the centred circle of radius
// 40%.
func checkMaskable(t *testing.T, name string, img image.Image) {
	t.Helper()
	b := img.Bounds()
	size := float64(b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a != 0xffff {
				t.Fatalf("maskable icon %s: pixel (%d,%d) is not opaque", name, x, y)
			}
			dx, dy := float64(x)+0.5-size/2, float64(y)+0.5-size/2
			outside := dx*dx+dy*dy > (0.4*size)*(0.4*size)
			if outside && r > 0xd000 && g > 0xd000 && bl > 0xd000 {
				t.Fatalf("maskable icon %s: glyph pixel (%d,%d) is outside the safe zone", name, x, y)
			}
		}
	}
}

func TestServiceWorkerCachesTheShellAndAppWasm(t *testing.T) {
	h := web.NewHandler(web.Options{})
	w := get(h, "/app-worker.js")
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type: got %q, want javascript", ct)
	}
	sw := w.Body.String()
	for _, want := range []string{`"/"`, `"/web/app.wasm?v=`, `"/app.js"`, `"/wasm_exec.js"`, `"/web/app.css?v=`, `"/pricing"`, `"/manifest.webmanifest"`} {
		if !strings.Contains(sw, want) {
			t.Errorf("app-worker.js does not cache %s", want)
		}
	}
	if strings.Contains(sw, "{{") {
		t.Error("app-worker.js has unfilled template placeholders")
	}
}

func TestAcceptEncodingNegotiation(t *testing.T) {
	builtWasm(t)
	h := web.NewHandler(web.Options{})
	for accept, want := range map[string]string{
		"*":                  "br",
		"*;q=0, gzip":        "gzip",
		"BR":                 "br",
		"gzip;q=0":           "",
		"deflate":            "",
		"br;q=0.001":         "br",
		"gzip, br;q=0":       "gzip",
		" gzip ; q=1.0 , br": "br",
	} {
		if got := get(h, "/web/app.wasm", "Accept-Encoding", accept).Header().Get("Content-Encoding"); got != want {
			t.Errorf("Accept-Encoding %q: got %q, want %q", accept, got, want)
		}
	}
}
