package static

import "embed"

// Files holds the static files the web handler serves under /web/: the stylesheet,
// the icons, the service worker template and the build outputs of web/ (app.wasm and
// its precompressed copies, when they were built). The "all:" prefix keeps the embed
// compiling when web/ holds only its .gitkeep.
//
//go:embed app.css app-worker.js icon.svg icon-192.png icon-512.png icon-maskable-192.png icon-maskable-512.png all:web
var Files embed.FS
