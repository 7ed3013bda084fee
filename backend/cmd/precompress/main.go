package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/andybalholm/brotli"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "precompress:", err)
		os.Exit(1)
	}
}

// goBrotliQuality is the pure-Go encoder's quality: 11 takes over a minute on an
// 8 MB wasm, 10 about half of it for a result within 1% of the CLI's quality 11.
const goBrotliQuality = 10

// brotliWindow is log2 of the brotli window: 24 (16 MB), the format's largest, so
// matches can reach across the whole wasm.
const brotliWindow = 24

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: precompress FILE...")
	}
	for _, path := range args {
		if err := precompress(path, stdout); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func precompress(path string, stdout io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start := time.Now()
	gzDone := make(chan error, 1)
	go func() { gzDone <- writeVerified(path+".gz", raw, gzipBytes, gunzip) }()
	how, brErr := writeBrotli(path, raw)
	gzErr := <-gzDone
	if err := errors.Join(brErr, gzErr); err != nil {
		return err
	}
	br, _ := os.Stat(path + ".br")
	gz, _ := os.Stat(path + ".gz")
	fmt.Fprintf(stdout, "%s: raw %d bytes, brotli %d (%s), gzip %d, in %s\n",
		filepath.Base(path), len(raw), br.Size(), how, gz.Size(), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// writeBrotli compresses with the brotli CLI when it is installed, else in Go.
func writeBrotli(path string, raw []byte) (how string, err error) {
	if cli, lookErr := exec.LookPath("brotli"); lookErr == nil {
		how = "brotli CLI -q 11 -w 24"
		return how, writeVerified(path+".br", raw, func(b []byte) ([]byte, error) { return brotliCLI(cli, b) }, unbrotli)
	}
	how = fmt.Sprintf("pure Go quality %d", goBrotliQuality)
	return how, writeVerified(path+".br", raw, brotliGo, unbrotli)
}

func brotliCLI(cli string, raw []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "-c", "-q", "11", "-w", fmt.Sprint(brotliWindow))
	cmd.Stdin = bytes.NewReader(raw)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("brotli: %w: %s", err, stderr.Bytes())
	}
	return out.Bytes(), nil
}

func brotliGo(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	w := brotli.NewWriterOptions(&out, brotli.WriterOptions{Quality: goBrotliQuality, LGWin: brotliWindow})
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func unbrotli(b []byte) ([]byte, error) { return io.ReadAll(brotli.NewReader(bytes.NewReader(b))) }

func gzipBytes(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// writeVerified compresses raw, checks that decompressing gives raw back, and puts
// the result at path through a temporary file and a rename.
func writeVerified(path string, raw []byte, compress, decompress func([]byte) ([]byte, error)) error {
	packed, err := compress(raw)
	if err != nil {
		return err
	}
	back, err := decompress(packed)
	if err != nil {
		return fmt.Errorf("checking %s: %w", filepath.Base(path), err)
	}
	if !bytes.Equal(back, raw) {
		return fmt.Errorf("checking %s: it does not decompress to the input", filepath.Base(path))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(packed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	return os.Rename(tmp.Name(), path)
}
