// Package stripemock runs stripe-mock, Stripe's official API mock, for tests.
//
// stripe-mock answers every Stripe API path with fixture objects and validates request
// parameters against Stripe's OpenAPI specification, so a request that it accepts has
// the shape Stripe expects. It is stateless: it never reports a Checkout Session as
// paid, so tests of fulfilment need their own fake server as well.
//
// The binary is the one the environment variable AISPACE_STRIPE_MOCK names (the Makefile
// builds bin/stripe-mock and sets it; a test builds it there when it is missing); when
// the variable is unset, github.com/stripe/stripe-mock at the version go.mod pins is
// built once into the user's cache directory and reused.
package stripemock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvBinary names the environment variable that points at a stripe-mock binary.
const EnvBinary = "AISPACE_STRIPE_MOCK"

// TestKey is a secret key stripe-mock accepts; it is obviously not a real key.
const TestKey = "sk_test_123"

// Mock is a running stripe-mock on loopback.
type Mock struct {
	// URL is the plain HTTP base URL, e.g. "http://127.0.0.1:41234", to use as a
	// Stripe API base URL.
	URL string
	// HTTPSURL is the HTTPS base URL; stripe-mock serves a self-signed certificate.
	HTTPSURL string
	// PID is the process id of stripe-mock; it is killed in the test's cleanup.
	PID int
}

// Start runs stripe-mock on free loopback ports, waits until it answers, and stops it
// (kill, then wait) when the test and its subtests are done. It fails the test when
// stripe-mock cannot be found, built or started.
func Start(tb testing.TB) *Mock {
	tb.Helper()
	bin := Binary(tb)

	// An explicit address with port 0 lets the kernel choose a free port, and stripe-mock
	// prints the address it bound, so there is no window in which another process can
	// take a port we picked. Both listeners are given: with only one, stripe-mock would
	// also open the other on its fixed default port (12111/12112) on every interface.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out := &tailBuffer{max: 16 << 10}
	addrs := &addrWatcher{out: out, found: make(chan struct{})}
	cmd.Stdout = addrs
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("stripemock: start %s: %v", bin, err)
	}
	m := &Mock{PID: cmd.Process.Pid}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		// Stop it by its own process id, never by name: other tests and people run
		// stripe-mock on the same machine.
		_ = cmd.Process.Kill()
		<-exited
	})

	select {
	case <-addrs.found:
		m.URL, m.HTTPSURL = "http://"+addrs.http, "https://"+addrs.https
	case <-exited:
		tb.Fatalf("stripemock: %s exited before listening (%v):\n%s", bin, waitErr, out.String())
	case <-time.After(60 * time.Second):
		tb.Fatalf("stripemock: %s did not report its addresses within 60s:\n%s", bin, out.String())
	}

	if err := waitAnswering(m.URL, exited, 30*time.Second); err != nil {
		tb.Fatalf("stripemock: %v\n%s", err, out.String())
	}
	return m
}

// waitAnswering polls a cheap authenticated GET until stripe-mock answers 200.
func waitAnswering(base string, exited <-chan struct{}, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("stripe-mock exited while starting")
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer "+TestKey)
		res, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /v1/balance: %s", res.Status)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("stripe-mock at %s did not answer within %v: %v", base, limit, last)
}

// Binary returns the path of a stripe-mock binary: $AISPACE_STRIPE_MOCK when set (built
// there if missing, as the Makefile would), else one built from the module's pinned
// version into <UserCacheDir>/aispace-credits/stripe-mock-<version>/. Either is built
// at most once and then reused by every test process.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() { build.path, build.err = findOrBuild(os.Getenv(EnvBinary)) })
	if build.err != nil {
		tb.Fatalf("stripemock: no stripe-mock binary: %v", build.err)
	}
	return build.path
}

var build struct {
	once sync.Once
	path string
	err  error
}

func findOrBuild(path string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil && path == "" {
		return "", fmt.Errorf("the go command is needed to build stripe-mock: %w", err)
	}
	if path == "" {
		v, err := pinnedVersion(goBin)
		if err != nil {
			return "", err
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory to build stripe-mock into: %w", err)
		}
		path = filepath.Join(cache, "aispace-credits", "stripe-mock-"+v, "stripe-mock")
	}
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return path, nil
	}
	if goBin == "" {
		return "", fmt.Errorf("%s is missing and there is no go command to build it", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build under a unique name and rename into place, so concurrent test processes
	// never run a half-written binary (at worst two build it, and one rename wins).
	tmp, err := os.CreateTemp(dir, ".stripe-mock-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp.Name(), "github.com/stripe/stripe-mock")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build github.com/stripe/stripe-mock: %v\n%s", err, stderr.String())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// pinnedVersion is the stripe-mock version go.mod pins (the test runs inside the
// module), so a version bump builds a new binary instead of reusing an old one.
func pinnedVersion(goBin string) (string, error) {
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Version}}", "github.com/stripe/stripe-mock").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/stripe/stripe-mock: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" || strings.ContainsAny(v, `/\`) {
		return "", fmt.Errorf("unexpected stripe-mock version %q", v)
	}
	return v, nil
}

// addrWatcher is stripe-mock's standard output: it finds the lines
// "Listening for HTTP at address: 127.0.0.1:41234" (and HTTPS) and closes found once
// both are known. Everything is also kept in out for failure messages.
type addrWatcher struct {
	out         *tailBuffer
	found       chan struct{}
	line        []byte
	http, https string // written before found is closed, read after
	done        bool
}

func (a *addrWatcher) Write(p []byte) (int, error) {
	a.out.Write(p)
	if a.done {
		return len(p), nil
	}
	a.line = append(a.line, p...)
	for {
		i := bytes.IndexByte(a.line, '\n')
		if i < 0 {
			break
		}
		l := strings.TrimSpace(string(a.line[:i]))
		a.line = a.line[i+1:]
		if v, ok := strings.CutPrefix(l, "Listening for HTTP at address: "); ok {
			a.http = v
		}
		if v, ok := strings.CutPrefix(l, "Listening for HTTPS at address: "); ok {
			a.https = v
		}
		if a.http != "" && a.https != "" {
			a.done, a.line = true, nil
			close(a.found)
			break
		}
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it, for failure messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
