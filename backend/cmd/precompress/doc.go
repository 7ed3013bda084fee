// Command precompress writes the brotli and gzip copies of a build output beside it,
// once at build time, so the server sends app.wasm compressed without compressing it
// on every request:
//
//	go run ./backend/cmd/precompress static/web/app.wasm
//
// writes static/web/app.wasm.br and static/web/app.wasm.gz. Brotli uses the Debian
// `brotli` command when it is on PATH (quality 11, window 2^24: about 15 s for an
// 8 MB wasm on one core) and the pure-Go github.com/andybalholm/brotli otherwise, at
// a quality chosen to stay well under 30 s. Gzip is level 9 (compress/gzip), run
// while brotli works. Each output is written to a temporary file, checked by
// decompressing it and comparing with the input, and renamed into place, so a failed
// or interrupted run never leaves a truncated file for the server to embed.
package main
