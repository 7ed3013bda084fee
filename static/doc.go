// Package static embeds the PWA's static files into the server binary, so that it
// serves them from any working directory: app.css (the mobile-first stylesheet),
// app-worker.js (the service worker template), the icons (icon-*.png, icon.svg) and
// web/, where `make wasm` writes app.wasm, app.wasm.br and app.wasm.gz.
//
// The icons are drawn by gen_icons.go (`go run static/gen_icons.go` from the
// repository root); its outputs are committed. web/ is a build output, ignored by git
// except for its .gitkeep.
package static
