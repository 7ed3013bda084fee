package chain

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// rpcServer is a JSON-RPC server over HTTP for client tests: answer gives each call's
// result or error; fail, when set, makes the whole request fail in some way.
type rpcServer struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	answer func(method string, params []json.RawMessage) (any, *RPCError)
	fail   func(w http.ResponseWriter) bool // returns true if it answered
}

func newRPCServer(t *testing.T, answer func(method string, params []json.RawMessage) (any, *RPCError)) *rpcServer {
	s := &rpcServer{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *rpcServer) setAnswer(a func(method string, params []json.RawMessage) (any, *RPCError)) {
	s.mu.Lock()
	s.answer = a
	s.mu.Unlock()
}

func (s *rpcServer) setFail(f func(w http.ResponseWriter) bool) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

type rpcReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (s *rpcServer) reply(r rpcReq) map[string]any {
	out := map[string]any{"jsonrpc": "2.0", "id": r.ID}
	s.mu.Lock()
	answer := s.answer
	s.mu.Unlock()
	v, e := answer(r.Method, r.Params)
	if e != nil {
		out["error"] = e
	} else {
		out["result"] = v
	}
	return out
}

func (s *rpcServer) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil && fail(w) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var reqs []rpcReq
		json.Unmarshal(body, &reqs)
		var out []map[string]any
		for _, rq := range reqs {
			out = append(out, s.reply(rq))
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	var rq rpcReq
	json.Unmarshal(body, &rq)
	json.NewEncoder(w).Encode(s.reply(rq))
}

// blockNumberServer answers eth_blockNumber with n and everything else with "method
// not found".
func blockNumberServer(t *testing.T, n uint64) *rpcServer {
	return newRPCServer(t, func(method string, _ []json.RawMessage) (any, *RPCError) {
		if method == "eth_blockNumber" {
			return hexutil.Uint64(n), nil
		}
		return nil, &RPCError{Code: CodeMethodNotFound, Message: "the method " + method + " does not exist/is not available"}
	})
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func mustClient(t testing.TB, urls []string, opts ClientOptions) *Client {
	t.Helper()
	c, err := NewClient(urls, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func blockNumber(t *testing.T, c *Client) (uint64, error) {
	t.Helper()
	var n hexutil.Uint64
	err := c.Call(context.Background(), &n, "eth_blockNumber")
	return uint64(n), err
}

func TestClientSurvivesAURLGoingDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(s *rpcServer)
	}{
		{"ConnectionRefused", func(s *rpcServer) { s.Close() }},
		{"HTTP503", func(s *rpcServer) {
			s.setFail(func(w http.ResponseWriter) bool { http.Error(w, "down", http.StatusServiceUnavailable); return true })
		}},
		{"RateLimited429", func(s *rpcServer) {
			s.setFail(func(w http.ResponseWriter) bool { http.Error(w, "slow down", http.StatusTooManyRequests); return true })
		}},
		{"HTMLInsteadOfJSON", func(s *rpcServer) {
			s.setFail(func(w http.ResponseWriter) bool { io.WriteString(w, "<html>bad gateway</html>"); return true })
		}},
		{"LimitExceeded", func(s *rpcServer) {
			s.setAnswer(func(string, []json.RawMessage) (any, *RPCError) {
				return nil, &RPCError{Code: -32005, Message: "daily request count exceeded"}
			})
		}},
		{"WrongID", func(s *rpcServer) {
			s.setFail(func(w http.ResponseWriter) bool {
				io.WriteString(w, `{"jsonrpc":"2.0","id":999999,"result":"0x1"}`)
				return true
			})
		}},
		{"Hangs", func(s *rpcServer) {
			s.setFail(func(w http.ResponseWriter) bool { time.Sleep(300 * time.Millisecond); return true })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := blockNumberServer(t, 1), blockNumberServer(t, 2)
			clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
			c := mustClient(t, []string{a.URL, b.URL}, ClientOptions{Now: clock.Now, MinBackoff: time.Second, MaxBackoff: time.Minute, AttemptTimeout: 100 * time.Millisecond})

			if n, err := blockNumber(t, c); err != nil || n != 1 {
				t.Fatalf("before: %d, %v; want 1 from the first URL", n, err)
			}
			tc.down(a)
			if n, err := blockNumber(t, c); err != nil || n != 2 {
				t.Fatalf("after the first URL went down: %d, %v; want 2 from the second", n, err)
			}
			st := c.Status()
			if st[0].Up || st[0].Failures != 1 || !st[1].Up {
				t.Errorf("status = %+v, want the first URL down once and the second up", st)
			}
			// While it backs off, the failed URL is skipped, not tried first.
			hitsA := a.hits.Load()
			for range 3 {
				if n, err := blockNumber(t, c); err != nil || n != 2 {
					t.Fatalf("during backoff: %d, %v", n, err)
				}
			}
			if got := a.hits.Load(); got != hitsA {
				t.Errorf("the failed URL got %d requests during its backoff, want 0", got-hitsA)
			}
			// When the backoff is over it is tried again; still down, it backs off twice as long.
			clock.Add(1100 * time.Millisecond)
			if n, err := blockNumber(t, c); err != nil || n != 2 {
				t.Fatalf("after backoff: %d, %v", n, err)
			}
			if st := c.Status(); st[0].Failures != 2 || !st[0].DownUntil.Equal(clock.Now().Add(2*time.Second)) {
				t.Errorf("status = %+v, want 2 failures and a 2 s backoff", st[0])
			}
		})
	}
}

func TestClientReturnsToARecoveredURL(t *testing.T) {
	a, b := blockNumberServer(t, 1), blockNumberServer(t, 2)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := mustClient(t, []string{a.URL, b.URL}, ClientOptions{Now: clock.Now})
	a.setFail(func(w http.ResponseWriter) bool { http.Error(w, "down", http.StatusBadGateway); return true })
	if n, _ := blockNumber(t, c); n != 2 {
		t.Fatalf("got %d, want 2 while the first URL is down", n)
	}
	a.setFail(nil)
	clock.Add(2 * time.Second)
	if n, _ := blockNumber(t, c); n != 1 {
		t.Errorf("got %d, want 1: the first URL is preferred again once it answers", n)
	}
	if st := c.Status(); !st[0].Up || st[0].Failures != 0 {
		t.Errorf("status = %+v, want the first URL healthy again", st[0])
	}
}

func TestClientBackoffDoublesUpToTheMaximum(t *testing.T) {
	a := blockNumberServer(t, 1)
	a.setFail(func(w http.ResponseWriter) bool { http.Error(w, "down", http.StatusServiceUnavailable); return true })
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := mustClient(t, []string{a.URL}, ClientOptions{Now: clock.Now, MinBackoff: time.Second, MaxBackoff: 10 * time.Second})
	for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		if _, err := blockNumber(t, c); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: error = %v, want ErrUnavailable", i, err)
		}
		if got := c.Status()[0].DownUntil.Sub(clock.Now()); got != want*time.Second {
			t.Errorf("after failure %d: backoff %s, want %s", i+1, got, want*time.Second)
		}
	}
}

func TestClientDoesNotFailOverOnANodeError(t *testing.T) {
	a, b := blockNumberServer(t, 1), blockNumberServer(t, 2)
	c := mustClient(t, []string{a.URL, b.URL}, ClientOptions{})
	err := c.Call(context.Background(), nil, "debug_traceTransaction", "0x01")
	if !IsMethodNotFound(err) {
		t.Errorf("error = %v, want the node's method-not-found", err)
	}
	if b.hits.Load() != 0 {
		t.Error("the second URL was asked: a node's error answer is not a failure of its URL")
	}
	if !c.Status()[0].Up {
		t.Error("the first URL was marked down for answering")
	}
}

func TestClientErrorsDoNotShowTheURLsSecrets(t *testing.T) {
	s := blockNumberServer(t, 1)
	s.Close()
	c := mustClient(t, []string{s.URL + "/v2/SECRETAPIKEY?key=SECRETQUERY"}, ClientOptions{})
	_, err := blockNumber(t, c)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error = %v, want one without the URL's path and query", err)
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(s.URL, "http://")) {
		t.Errorf("error = %v, want it to name the host", err)
	}
}

func TestClientBatchMatchesAnswersByID(t *testing.T) {
	// The server answers in reverse order and leaves out the call for "skip".
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqs []rpcReq
		json.NewDecoder(r.Body).Decode(&reqs)
		var out []map[string]any
		for i := len(reqs) - 1; i >= 0; i-- {
			var p []string
			for _, raw := range reqs[i].Params {
				var s string
				json.Unmarshal(raw, &s)
				p = append(p, s)
			}
			switch p[0] {
			case "skip":
			case "fail":
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": reqs[i].ID, "error": map[string]any{"code": -32000, "message": "nope"}})
			default:
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": reqs[i].ID, "result": "echo " + p[0]})
			}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(s.Close)
	c := mustClient(t, []string{s.URL}, ClientOptions{})
	args := []string{"a", "skip", "b", "fail", "c"}
	results := make([]string, len(args))
	batch := make([]BatchElem, len(args))
	for i, a := range args {
		batch[i] = BatchElem{Method: "echo", Args: []any{a}, Result: &results[i]}
	}
	if err := c.BatchCall(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"echo a", "", "echo b", "", "echo c"} {
		eq(t, "result "+args[i], results[i], want)
	}
	if !errors.Is(batch[1].Error, errNoAnswer) {
		t.Errorf("left-out call: error = %v, want errNoAnswer", batch[1].Error)
	}
	var re *RPCError
	if !errors.As(batch[3].Error, &re) || re.Message != "nope" {
		t.Errorf("failed call: error = %v, want the node's", batch[3].Error)
	}
}

func TestClientSplitsBatchesAtMaxBatch(t *testing.T) {
	var sizes []int
	var mu sync.Mutex
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqs []rpcReq
		json.NewDecoder(r.Body).Decode(&reqs)
		mu.Lock()
		sizes = append(sizes, len(reqs))
		mu.Unlock()
		var out []map[string]any
		for _, rq := range reqs {
			out = append(out, map[string]any{"jsonrpc": "2.0", "id": rq.ID, "result": "0x1"})
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(s.Close)
	c := mustClient(t, []string{s.URL}, ClientOptions{MaxBatch: 10})
	batch := make([]BatchElem, 25)
	for i := range batch {
		batch[i] = BatchElem{Method: "eth_blockNumber", Result: new(hexutil.Uint64)}
	}
	if err := c.BatchCall(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 10 || sizes[2] != 5 {
		t.Errorf("batch sizes = %v, want [10 10 5]", sizes)
	}
	for i, el := range batch {
		if el.Error != nil || *el.Result.(*hexutil.Uint64) != 1 {
			t.Errorf("element %d: %v", i, el.Error)
		}
	}
}

func TestClientFailsOverARefusedBatch(t *testing.T) {
	a := newRPCServer(t, nil)
	a.setFail(func(w http.ResponseWriter) bool {
		io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}`)
		return true
	})
	b := blockNumberServer(t, 7)
	c := mustClient(t, []string{a.URL, b.URL}, ClientOptions{})
	var n hexutil.Uint64
	batch := []BatchElem{{Method: "eth_blockNumber", Result: &n}}
	if err := c.BatchCall(context.Background(), batch); err != nil || batch[0].Error != nil || n != 7 {
		t.Errorf("BatchCall = %v, %v, %d; want 7 from the second URL", err, batch[0].Error, n)
	}
}

func TestNewClientChecksItsURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		urls []string
	}{
		{"None", nil},
		{"OnlyWebsocket", []string{"ws://127.0.0.1:8546"}},
		{"NotAURL", []string{"127.0.0.1:8545"}},
		{"OtherScheme", []string{"ftp://127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewClient(tc.urls, ClientOptions{}); err == nil {
				t.Errorf("NewClient(%q) accepted it", tc.urls)
			}
		})
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":"0x2105"}`), uint64(1))
	f.Add(fixture(f, "base/chainid-base-mainnet.json"), uint64(1))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}`), uint64(1))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":null}`), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, id uint64) {
		raw, err := decodeAnswer(data, id)
		var re *RPCError
		var ef *endpointFailure
		switch {
		case err == nil && raw == nil:
			t.Fatal("no error and no result")
		case err != nil && !errors.As(err, &re) && !errors.As(err, &ef):
			t.Fatalf("error %v is neither the node's nor the URL's", err)
		}
	})
}

func FuzzDecodeBatchAnswer(f *testing.F) {
	f.Add([]byte(`[{"jsonrpc":"2.0","id":2,"result":"0x1"},{"jsonrpc":"2.0","id":1,"result":"0x2"}]`), uint64(1), 3)
	f.Add([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"too large"}}`), uint64(5), 2)
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":1,"result":"0x1"}]`), uint64(1), 2)
	f.Fuzz(func(t *testing.T, data []byte, first uint64, n int) {
		if n < 0 || n > 1000 {
			return
		}
		answers, err := decodeBatchAnswer(data, first, n)
		if err != nil {
			return
		}
		if len(answers) != n {
			t.Fatalf("%d answers for %d calls", len(answers), n)
		}
		for i, a := range answers {
			if a != nil && (a.ID == nil || *a.ID != first+uint64(i) || (a.Error == nil && a.Result == nil)) {
				t.Fatalf("answer %d is misplaced or empty: %+v", i, a)
			}
		}
	})
}
