// Package shared holds what both the WebAssembly app and the backend compile: the
// request and response types of the HTTP API (API.md), exact money math in USD cents
// and credits, and the Secure Key format check.
//
// It must stay light: no backend-only imports and no big-number math, so the wasm stays
// small. Wei arithmetic lives in shared/ethmath, which only the backend imports.
package shared
