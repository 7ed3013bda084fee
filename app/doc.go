// Package app is the AiSpace Credits PWA: the go-app components of every page, the
// routes that map paths to them, and the typed wrappers around the browser APIs the
// pages use.
//
// The same code runs in two places. The server (backend/web) calls Routes and
// prerenders each page to HTML, so a phone shows the page's title, heading and text
// before any WebAssembly arrives; the wasm binary (wasm/) calls Routes and
// app.RunWhenOnBrowser, and takes the page over. Components only touch the browser
// in OnMount, OnNav, event handlers and ctx.Async goroutines, which never run during
// prerendering.
//
// Files:
//
//   - routes.go: Routes, the page paths, PurchasePath.
//   - layout.go: the frame around every page (header, navigation, footer), small
//     shared pieces of markup, and the countdown component (quote lock, daily
//     renewal).
//   - status.go: the app's runtime status on every page: offline notice, update
//     banner, dev-mode ribbon, and the data-app="ready" marker that says the wasm app
//     has taken over the page.
//   - buy.go, purchase.go, account.go, login.go, pricing.go, help.go: one page each.
//     purchase.go is the payment: review, wallet payment, live progress (websocket
//     with polling as fallback), key reveal; help.go holds the recovery by wallet
//     signature.
//   - qr.go: the QR code of an EIP-681 payment request, drawn as an SVG of modules.
//   - api.go: the typed client of the HTTP API (API.md) over window.fetch.
//   - wallet.go: EIP-1193 / EIP-6963 wallet interop, the only place that talks to
//     wallets.
//   - browser.go: the other browser APIs (promises, connectivity, clipboard,
//     downloads, the purchase websocket, location), the only place besides
//     wallet.go and api.go that calls app.Window().
//
// Event handlers get the context of the element that fired, and go-app drops that
// context's Dispatch once a re-render has replaced the element; every component
// that works past a click keeps its own context from OnMount (the ctx field) and
// uses it.
//
// The wasm must stay small (the budget is 3.0 MB brotli on the wire), so this
// package uses no math/big, no crypto and no net/http: wei amounts are decimal
// strings converted with digit arithmetic, and requests go through fetch.
package app
