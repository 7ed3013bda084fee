package web

import (
	"bytes"
	"compress/gzip"
	"io"

	"github.com/andybalholm/brotli"
)

// encodings are the precompressed copies of app.wasm, with the decoder that checks a
// copy at start-up.
var encodings = []struct {
	name, ext string
	decode    func([]byte) ([]byte, error)
}{
	{"br", ".br", func(b []byte) ([]byte, error) { return io.ReadAll(brotli.NewReader(bytes.NewReader(b))) }},
	{"gzip", ".gz", func(b []byte) ([]byte, error) {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}},
}
