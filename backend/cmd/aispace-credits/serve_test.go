package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/shared"
)

// logAddr is stderr for run(): it finds the address in the "serving" log line.
type logAddr struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	once sync.Once
}

func newLogAddr() *logAddr { return &logAddr{addr: make(chan string, 1)} }

func (l *logAddr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			l.once.Do(func() { l.addr <- line.Addr })
		}
	}
	return len(p), nil
}

func (l *logAddr) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// RunningServer is run() serving in this test process.
type RunningServer struct {
	URL    string
	Stdout *bytes.Buffer
	Log    *logAddr
	stop   context.CancelFunc
	done   chan error
}

// MustRunServer calls run("serve", ...) on a free loopback port with the data dir,
// and waits until /readyz answers 200.
func MustRunServer(t *testing.T, dataDir string, extra ...string) *RunningServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &RunningServer{Stdout: &bytes.Buffer{}, Log: newLogAddr(), stop: cancel, done: make(chan error, 1)}
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-data", dataDir}, extra...)
	go func() { s.done <- run(ctx, args, func(string) string { return "" }, s.Stdout, s.Log) }()
	select {
	case addr := <-s.Log.addr:
		s.URL = "http://" + addr
	case err := <-s.done:
		t.Fatalf("run: %v\n%s", err, s.Log)
	case <-time.After(60 * time.Second):
		t.Fatalf("no serving line within 60s:\n%s", s.Log)
	}
	t.Cleanup(func() { s.Stop(t) })
	waitReady(t, s.URL)
	return s
}

// Stop ends the server as SIGTERM would, and waits for run to return.
func (s *RunningServer) Stop(t *testing.T) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Error("run did not return within 60s of the stop")
	}
}

func waitReady(t *testing.T, url string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("%s/readyz not 200 within 60s (%v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url, bearer string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func post(url, bearer string, body any, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: %w", data, err)
		}
	}
	return resp.StatusCode, nil
}

type devAccount struct {
	Account string `json:"account"`
	Key     string `json:"key"`
}

func mustDevAccount(t *testing.T, url string, credits int64) devAccount {
	t.Helper()
	var a devAccount
	if code, err := post(url+"/dev/accounts", "", map[string]int64{"credits": credits}, &a); code != 201 || err != nil {
		t.Fatalf("POST /dev/accounts: %d %v", code, err)
	}
	return a
}

func TestServeIsReadyAndPrerendersThePages(t *testing.T) {
	s := MustRunServer(t, t.TempDir())
	for path, heading := range map[string]string{"/": "Buy Credits", "/pricing": "Pricing", "/help": "Help"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>") || !strings.Contains(string(body), heading) {
			t.Errorf("GET %s: %d, want a prerendered page with %q", path, resp.StatusCode, heading)
		}
	}
	if code := get(t, s.URL+"/healthz", "", nil); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	if code := get(t, s.URL+"/dev/wallet", "", nil); code != 404 {
		t.Fatalf("/dev/wallet outside dev mode: %d, want 404", code)
	}
}

func TestDevModeServesTheWalletAndTheChain(t *testing.T) {
	s := MustRunServer(t, t.TempDir(), "-dev", "-dev-block-time", "0")
	var w struct {
		Address    string `json:"address"`
		PrivateKey string `json:"private_key"`
		RPCURL     string `json:"rpc_url"`
		ChainID    uint64 `json:"chain_id"`
	}
	if code := get(t, s.URL+"/dev/wallet", "", &w); code != 200 || w.ChainID != 8453 || !strings.HasPrefix(w.Address, "0x") || len(w.PrivateKey) != 66 || !strings.HasSuffix(w.RPCURL, "/dev/rpc") {
		t.Fatalf("/dev/wallet: %d %+v", code, w)
	}
	if !strings.Contains(s.Stdout.String(), w.Address) || !strings.Contains(s.Stdout.String(), "How to try it") {
		t.Fatalf("the dev banner does not show the wallet:\n%s", s.Stdout)
	}
	var rpc struct{ Result string }
	if code, err := post(s.URL+"/dev/rpc", "", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []any{}}, &rpc); code != 200 || err != nil || rpc.Result != "0x2105" {
		t.Fatalf("eth_chainId through /dev/rpc: %d %v %q", code, err, rpc.Result)
	}
}

func TestDevModeIsRefusedOffLoopback(t *testing.T) {
	err := run(context.Background(), []string{"serve", "-dev", "-addr", "0.0.0.0:0", "-data", t.TempDir()}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("dev mode on 0.0.0.0: %v, want a refusal", err)
	}
}

func TestFlagsReadTheEnvironment(t *testing.T) {
	env := map[string]string{"AISPACE_SERVICE_TOKEN": "from-env", "MONGODB_URI": "mongodb://x", "AISPACE_ADDR": "127.0.0.1:9"}
	c, err := parseServe([]string{"-addr", "127.0.0.1:7"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceToken != "from-env" || c.MongoURI != "mongodb://x" || c.Addr != "127.0.0.1:7" {
		t.Fatalf("config %+v: the flag wins over the environment, the environment over defaults", c)
	}
}

func TestRestartFindsWhatTheFirstRunStored(t *testing.T) {
	dir := t.TempDir()
	s := MustRunServer(t, dir, "-dev", "-dev-block-time", "0")
	acct := mustDevAccount(t, s.URL, 1000)
	var ch shared.ChargeResult
	if code, err := post(s.URL+"/api/v1/charges", "dev-service-token", map[string]any{"key": acct.Key, "idempotency_key": "first-run", "credits": 250}, &ch); code != 200 || err != nil {
		t.Fatalf("charge: %d %v", code, err)
	}
	s.Stop(t)

	s = MustRunServer(t, dir, "-dev", "-dev-block-time", "0")
	var a shared.Account
	if code := get(t, s.URL+"/api/v1/account", acct.Key, &a); code != 200 || a.Balance != 750 || a.Used != 250 {
		t.Fatalf("after restart: %d %+v, want balance 750 used 250", code, a)
	}
	// The charge is remembered, not repeated.
	var again shared.ChargeResult
	post(s.URL+"/api/v1/charges", "dev-service-token", map[string]any{"key": acct.Key, "idempotency_key": "first-run", "credits": 250}, &again)
	if again.ID != ch.ID || again.Balance != 750 {
		t.Fatalf("repeat after restart: %+v, want the first answer %+v", again, ch)
	}
}
