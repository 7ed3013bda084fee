package payments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/payments"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/shared"
)

func mustLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	l, err := ledger.Open(ctx, ledger.Config{Journal: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(ctx) })
	return l
}

var testKeys = func() *keys.Keyring {
	k, _ := keys.New(keys.Secrets{HMAC: make([]byte, 32), Master: bytes.Repeat([]byte{7}, 32)})
	return k
}()

func newKey(account string) ledger.KeyOp {
	key := testKeys.NewKey()
	return ledger.KeyOp{Hash: testKeys.Hash(key), Sealed: testKeys.Seal(key, account), Hint: shared.KeyHint(key)}
}

// goldenNode is a JSON-RPC node that knows one block: a real Base (Goerli) block from
// package chain's golden files, with its L1-info deposit transaction (type 0x7E), which
// go-ethereum's ethclient cannot decode.
func goldenNode(t *testing.T) (url string, calls *atomic.Int64) {
	t.Helper()
	raw, err := os.ReadFile("../chain/testdata/base/goerli/block-7542-full.json")
	if err != nil {
		t.Fatal(err)
	}
	var envelope struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil {
		t.Fatal(err)
	}
	type req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	calls = new(atomic.Int64)
	answer := func(r req) map[string]any {
		calls.Add(1)
		out := map[string]any{"jsonrpc": "2.0", "id": r.ID}
		switch {
		case r.Method == "eth_chainId":
			out["result"] = "0x14a33" // Base Goerli
		case r.Method == "eth_blockNumber":
			out["result"] = "0x1d76"
		case r.Method == "eth_getBlockByNumber" && len(r.Params) == 2 && string(r.Params[0]) == `"0x1d76"`:
			out["result"] = envelope.Result
		default:
			out["error"] = map[string]any{"code": -32601, "message": "not in the golden files: " + r.Method}
		}
		return out
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
			var batch []req
			json.Unmarshal(body, &batch)
			var outs []map[string]any
			for _, q := range batch {
				outs = append(outs, answer(q))
			}
			json.NewEncoder(w).Encode(outs)
			return
		}
		var q req
		json.Unmarshal(body, &q)
		json.NewEncoder(w).Encode(answer(q))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

// TestRunnerJournalsARealBaseBlockWithADepositTransaction runs the watcher's whole path
// (the chain client, the raw block decoder, the ledger's journal) over a real Base
// block whose first transaction is an OP Stack deposit.
func TestRunnerJournalsARealBaseBlockWithADepositTransaction(t *testing.T) {
	url, _ := goldenNode(t)
	rpc, err := chain.NewClient([]string{url}, chain.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := mustLedger(t)
	start := uint64(7542)
	r := &payments.Runner{Ledger: l, RPC: rpc, ChainID: 84531, StartBlock: &start, Poll: 50 * time.Millisecond, NewKey: newKey,
		// The block's last transaction goes to this address, with no value: no payment.
		Address: common.HexToAddress("0xbb89e84cb43f9a206dd6ff97b5b1a041dd075aff")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for l.ChainCursor().Number != 7542 {
		if time.Now().After(deadline) {
			t.Fatalf("the cursor did not reach block 7542: %+v", l.ChainCursor())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cur := l.ChainCursor()
	if want := "0x7edba9bf0ac05b8f5b97f31bc54c54b0891414023b2e6ec27beef93c9925c298"; len(cur.Recent) != 1 || cur.Recent[0] != want || cur.Head != 7542 {
		t.Fatalf("cursor %+v, want block 7542 with hash %s", cur, want)
	}
	if u := l.Unclaimed(); len(u) != 0 {
		t.Fatalf("payments %+v in a block with no value to the address", u)
	}
}

// TestRunnerRefusesANodeOnAnotherChain: blocks of another chain must never be
// journaled as this one's.
func TestRunnerRefusesANodeOnAnotherChain(t *testing.T) {
	url, calls := goldenNode(t)
	rpc, _ := chain.NewClient([]string{url}, chain.ClientOptions{})
	l := mustLedger(t)
	r := &payments.Runner{Ledger: l, RPC: rpc, ChainID: 8453, Poll: 20 * time.Millisecond, NewKey: newKey}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	r.Run(ctx)
	if cur := l.ChainCursor(); cur.Number != 0 || len(cur.Recent) != 0 {
		t.Fatalf("the watcher stepped on chain 84531 configured for 8453: cursor %+v", cur)
	}
	if calls.Load() == 0 {
		t.Fatal("the node was never asked")
	}
}

// spot is an HTTP spot price in Coinbase's shape that the test moves or breaks.
type spot struct {
	*httptest.Server
	price atomic.Value
	down  atomic.Bool
}

func newSpot(t *testing.T, price string) *spot {
	s := &spot{}
	s.price.Store(price)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"data":{"amount":%q,"base":"ETH","currency":"USD"}}`, s.price.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func TestPriceServiceCachesTellsSubscribersAndNeverServesAStalePrice(t *testing.T) {
	sp := newSpot(t, "3150.12")
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	ps := &payments.PriceService{
		Feed:    &chain.PriceFeed{SpotURL: sp.URL, Heartbeat: time.Minute, StaleMargin: time.Second, Now: func() time.Time { return time.Unix(0, clock.Load()) }},
		Refresh: 10 * time.Second,
		Now:     func() time.Time { return time.Unix(0, clock.Load()) },
	}
	var ticks []string
	cancel := ps.Subscribe(func(p chain.Price) { ticks = append(ticks, p.USD.String()) })
	defer cancel()
	ctx := context.Background()
	p, err := ps.Price(ctx)
	if err != nil || p.USD.String() != "3150.12" || p.Source != chain.SourceSpot {
		t.Fatalf("first price: %+v %v", p, err)
	}
	// Within the refresh period the cached price is given, without a read.
	sp.price.Store("3200.00")
	if p, _ := ps.Price(ctx); p.USD.String() != "3150.12" {
		t.Fatalf("within the refresh period: %s, want the cached 3150.12", p.USD)
	}
	clock.Add(int64(11 * time.Second))
	if p, _ := ps.Price(ctx); p.USD.String() != "3200.00" {
		t.Fatalf("after the refresh period: %s, want 3200.00", p.USD)
	}
	if strings.Join(ticks, ",") != "3150.12,3200.00" {
		t.Fatalf("subscribers heard %v", ticks)
	}
	// The source fails: the cached price serves until it would be stale, then none.
	sp.down.Store(true)
	clock.Add(int64(11 * time.Second))
	if _, err := ps.Price(ctx); err == nil {
		t.Fatal("a price with every source down")
	}
	if _, ok := ps.Last(); !ok {
		t.Fatal("Last dropped a price that is not stale yet")
	}
	clock.Add(int64(time.Minute))
	if _, ok := ps.Last(); ok {
		t.Fatal("Last gave a stale price")
	}
	if _, err := ps.Price(ctx); err == nil || !strings.Contains(err.Error(), chain.ErrPriceUnavailable.Error()) {
		t.Fatalf("stale: %v, want ErrPriceUnavailable", err)
	}
}
