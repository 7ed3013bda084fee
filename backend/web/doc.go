// Package web serves the AiSpace Credits PWA: the prerendered pages, the files go-app
// needs to start the app (app.js, wasm_exec.js, the service worker, the manifest),
// and the static files embedded by package static (styles, icons, app.wasm).
//
// NewHandler returns one http.Handler for all of it. The server mounts it as its
// fallback "/" handler, after its own routes (/api/v1/..., /dev/..., /healthz,
// /readyz, /metrics):
//
//	mux.Handle("/", web.NewHandler(web.Options{PublicURL: cfg.PublicURL, Dev: cfg.Dev, Version: version}))
//
// Paths it owns:
//
//   - the pages of app.Routes ("/", "/buy", "/account", "/login", "/pricing",
//     "/help", "/purchase/{id}"), each prerendered on the server with its title,
//     heading and text, then taken over by the wasm app in the browser;
//   - /app.js, /wasm_exec.js, /app-worker.js, /app.css (go-app's own);
//   - /manifest.webmanifest (and /manifest.json), written here with the regular and
//     maskable icons;
//   - /web/app.wasm, sent precompressed: brotli when the request accepts br, else
//     gzip, else the raw file, with Content-Type application/wasm and
//     Vary: Accept-Encoding; 503 with a clear message when app.wasm was not built;
//   - /web/app.css and /web/icon*.{png,svg};
//   - /robots.txt (purchase pages are not to be indexed).
//
// Anything else is 404 (GET, HEAD) or 405 (other methods).
//
// Speed on a phone network. The pages carry their styles inline (go-app links two
// stylesheets, each a round trip before the first paint), and pages and go-app's
// scripts are sent gzip-compressed (go-app sends them raw). go-app's app.js is
// served with one change: on a repeat visit, with a service worker in control,
// app.wasm is fetched plainly instead of through go-app's progress-bar stream, so
// V8 reuses the code it compiled last time (see fetchWasmJS).
//
// Caching. Every file under /web/ is referenced with ?v=<version>, where the version
// is a hash of the embedded files (with Options.Version in front when set). A request
// whose v matches is answered "Cache-Control: public, max-age=31536000, immutable":
// the URL changes whenever the content does, so a browser never asks twice. Any other
// request for the same file (no v, or an old one) gets "no-cache" and a strong ETag
// (a hash of the bytes sent, per encoding), so it is revalidated and a stale copy is
// never kept for long. Pages, app.js and the service worker are go-app's: "no-cache"
// with the version as ETag. The service worker caches the shell and app.wasm per
// version, so the installed app opens offline; it answers a cached page from its
// cache at once and refreshes it in the background.
//
// Nothing is read from the working directory: all files come from Options.Files
// (static.Files by default), embedded in the binary.
package web
