// Command wasm is the AiSpace Credits PWA, built with GOOS=js GOARCH=wasm into
// static/web/app.wasm (see the Makefile's wasm target). It registers the pages
// (app.Routes) and hands the browser's page over to go-app; the server prerenders the
// same routes, so the page the wasm takes over already shows its content.
package main
