package main

// Crypto payments' figures (benchCrypto), each against a baseline of the same run:
//
//   - Payment to key: from the block that confirms a payment reaching the node to the
//     key message leaving the purchase's websocket, p50 and p99 over 200 purchases on
//     the dev chain (four payments a block); baselines: the dev chain's own newHeads
//     notification, and one durable journal append.
//   - Watcher catch-up over 5,000 geth --dev blocks (one in ten paying): the runner
//     (watcher and journal), the watcher alone, and the raw block fetch as baseline.
//   - 10,000 purchase websockets on a server in a process of its own: the time for a
//     price tick to reach them all (baseline: one socket), and the server's memory per
//     socket.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/devchain"
	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/payments"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/shared"
)

// benchCrypto prints the crypto payment figures: payment to key over purchases
// purchases, catch-up over blocks geth --dev blocks, a price tick to sockets sockets.
// main calls it (make bench); BenchmarkCrypto runs the same parts under go test.
func benchCrypto(purchases, blocks, sockets int) {
	benchPaymentToKey(purchases)
	testing.Init() // gethdev wants a testing.TB, which testing.Benchmark gives
	testing.Benchmark(func(b *testing.B) {
		if b.N == 1 {
			benchCatchUp(b, blocks)
		}
	})
	benchSockets(sockets)
}

// cryptoStack is the crypto part of the server as serve assembles it, in this process.
type cryptoStack struct {
	url    string
	ledger *ledger.Ledger
	stop   func()
}

func newLedger(dir string) (*store.Store, *keys.Keyring, *ledger.Ledger) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet})
	must(err)
	secrets, err := keys.LoadSecrets(dir, "", "")
	must(err)
	kr, err := keys.New(secrets)
	must(err)
	l, err := ledger.Open(ctx, ledger.Config{Journal: db, Logger: quiet})
	must(err)
	return db, kr, l
}

func keyMaker(kr *keys.Keyring) ledger.KeyMaker {
	return func(account string) ledger.KeyOp {
		key := kr.NewKey()
		return ledger.KeyOp{Hash: kr.Hash(key), Sealed: kr.Seal(key, account), Hint: shared.KeyHint(key)}
	}
}

// startCryptoStack serves the API with crypto payments on the dev chain: its feed
// read through the same client as the watcher's, the watcher woken by newHeads.
func startCryptoStack(dev *devchain.Chain, payTo common.Address) *cryptoStack {
	dir, _ := os.MkdirTemp("", "aispace-bench-crypto-")
	db, kr, l := newLedger(dir)
	rpc, err := payments.DevChainRPC(dev)
	must(err)
	// Blocks sealed faster than one a second run the dev chain's clock ahead of the
	// wall clock, and the feed's rounds with it: a wide margin keeps them usable.
	prices := &payments.PriceService{Feed: &chain.PriceFeed{RPC: rpc, Aggregator: dev.PriceFeed(), NoSpot: true, StaleMargin: time.Hour}}
	runner := &payments.Runner{Ledger: l, RPC: rpc, ChainID: dev.ChainID(), Address: payTo, Poll: time.Second,
		Prices: prices, NewKey: keyMaker(kr), Logger: slog.New(slog.DiscardHandler)}
	c := &server.Crypto{ChainID: dev.ChainID(), ChainName: "Base", PaymentAddress: payTo, Prices: prices}
	pricing, _ := credits.ParsePricing(credits.DefaultPricing)
	ts := httptest.NewUnstartedServer(nil)
	// TrustProxy: each purchase names its own client, or the per-client limits on
	// quotes (a person buys a few times a minute) would refuse a benchmark's 200.
	ts.Config.Handler = server.New(server.Deps{Config: server.Config{PublicURL: "http://" + ts.Listener.Addr().String(), TrustProxy: true},
		Ledger: l, Keys: kr, Pricing: pricing, DB: db, Crypto: c, Logger: slog.New(slog.DiscardHandler)})
	ts.Start()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); prices.Run(ctx) }()
	go func() { defer wg.Done(); runner.Run(ctx) }()
	for l.ChainCursor().Number == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	return &cryptoStack{url: ts.URL, ledger: l, stop: func() {
		cancel()
		wg.Wait()
		c.Close()
		ts.Close()
		l.Close(context.Background())
		db.Close(context.Background())
		os.RemoveAll(dir)
	}}
}

func postJSON(url, client string, headers map[string]string, body, out any) int {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", client)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

// benchPaymentToKey pays n purchases, four to a block, and times each from the block
// to the key on its page's websocket.
func benchPaymentToKey(n int) {
	const perBlock = 4
	fmt.Printf("Crypto: payment to key on the dev chain, %d purchases, %d payments a block\n\n", n, perBlock)
	ctx := context.Background()
	dev, err := devchain.Start(ctx, devchain.Options{BlockTime: time.Hour}) // a block when the benchmark commits one
	must(err)
	defer dev.Close()
	payTo := randomAddress()
	st := startCryptoStack(dev, payTo)
	defer st.stop()
	eth := dev.Client()
	payer := dev.WalletKey()
	from := crypto.PubkeyToAddress(payer.PublicKey)
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(dev.ChainID()))
	nonce, err := eth.PendingNonceAt(ctx, from)
	must(err)

	// Baseline 1: the node's own newHeads notification of a block.
	heads := make(chan *types.Header, 16)
	sub, err := eth.SubscribeNewHead(ctx, heads)
	must(err)
	var headLat []time.Duration
	for range 50 {
		t0 := time.Now()
		dev.Commit()
		<-heads
		headLat = append(headLat, time.Since(t0))
	}
	sub.Unsubscribe()
	// Baseline 2: one durable journal append.
	var appendLat []time.Duration
	for i := range 50 {
		t0 := time.Now()
		must(st.ledger.CreatePurchase(ctx, ledger.Purchase{ID: fmt.Sprintf("bench_%d", i), Method: shared.MethodCard, Cents: 100, Credits: 10_000}))
		appendLat = append(appendLat, time.Since(t0))
	}

	var lat []time.Duration
	var sealLat []time.Duration
	for done := 0; done < n; done += perBlock {
		type page struct {
			conn *websocket.Conn
			got  chan time.Time
		}
		var pages []page
		for i := range min(perBlock, n-done) {
			client := fmt.Sprintf("10.0.%d.%d", (done+i)/250, (done+i)%250+1)
			var p shared.PurchaseCreated
			if code := postJSON(st.url+"/api/v1/purchases", client, nil, map[string]string{"usd": "10.00", "method": "crypto", "wallet": from.Hex()}, &p); code != http.StatusCreated {
				must(fmt.Errorf("quote: HTTP %d", code))
			}
			conn, _, err := websocket.DefaultDialer.Dial(strings.Replace(st.url, "http", "ws", 1)+"/api/v1/ws?purchase="+p.ID, nil)
			must(err)
			must(conn.WriteJSON(shared.WSHello{Secret: p.Secret}))
			var first shared.WSMessage
			for first.Type != "purchase" {
				must(conn.ReadJSON(&first))
			}
			pg := page{conn, make(chan time.Time, 1)}
			go func() {
				for {
					var m shared.WSMessage
					if err := pg.conn.ReadJSON(&m); err != nil {
						return
					}
					if m.Type == "key" {
						pg.got <- time.Now()
					}
				}
			}()
			pages = append(pages, pg)
			wei, _ := new(big.Int).SetString(p.Crypto.Wei, 10)
			tx := signTransfer(payer, signer, dev.ChainID(), nonce, payTo, wei)
			nonce++
			if code := postJSON(st.url+"/api/v1/purchases/"+p.ID+"/tx", client, map[string]string{"X-Purchase-Secret": p.Secret},
				map[string]string{"tx_hash": tx.Hash().Hex()}, nil); code != http.StatusAccepted {
				must(fmt.Errorf("submit: HTTP %d", code))
			}
			must(eth.SendTransaction(ctx, tx))
		}
		t0 := time.Now()
		dev.Commit()
		sealLat = append(sealLat, time.Since(t0))
		for _, pg := range pages {
			select {
			case at := <-pg.got:
				lat = append(lat, at.Sub(t0))
			case <-time.After(30 * time.Second):
				must(fmt.Errorf("no key within 30s"))
			}
			pg.conn.Close()
		}
	}
	slices.Sort(lat)
	slices.Sort(headLat)
	slices.Sort(appendLat)
	slices.Sort(sealLat)
	pct := func(l []time.Duration, p float64) time.Duration { return l[min(len(l)-1, int(float64(len(l))*p))] }
	fmt.Printf("| %-52s | %8s | %8s | %8s |\n", "from the block (its sealing included)", "p50", "p99", "max")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 54), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10))
	row := func(name string, l []time.Duration) {
		fmt.Printf("| %-52s | %8s | %8s | %8s |\n", name, round(pct(l, 0.5)), round(pct(l, 0.99)), round(l[len(l)-1]))
	}
	row(fmt.Sprintf("payment to key on the page's websocket (%d)", len(lat)), lat)
	row("  of which sealing the block (Commit)", sealLat)
	row("baseline: the node's newHeads notification", headLat)
	row("baseline: one durable journal append", appendLat)
	fmt.Printf("\n  goal p99 ≤ 300ms: %s; p50 is %.1f× one journal append (the path: the head's notice, the step's reads, two appends)\n\n",
		verdict(pct(lat, 0.99) <= 300*time.Millisecond), float64(pct(lat, 0.5))/float64(pct(appendLat, 0.5)))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func signTransfer(key *ecdsa.PrivateKey, signer types.Signer, chainID, nonce uint64, to common.Address, wei *big.Int) *types.Transaction {
	tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{ChainID: new(big.Int).SetUint64(chainID), Nonce: nonce,
		GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: 21_000, To: &to, Value: wei})
	must(err)
	return tx
}

func randomAddress() common.Address {
	k, _ := crypto.GenerateKey()
	return crypto.PubkeyToAddress(k.PublicKey)
}

// benchCatchUp mines blocks on geth --dev, then catches up over them three ways.
func benchCatchUp(b *testing.B, blocks int) {
	fmt.Printf("Crypto: watcher catch-up over %d geth --dev blocks, one in ten paying the payment address\n\n", blocks)
	n := gethdev.Start(b)
	payTo := randomAddress()
	to := []common.Address{payTo}
	for range 9 {
		to = append(to, randomAddress())
	}
	start := n.BlockNumber(b) + 1
	t0 := time.Now()
	n.Mine(b, blocks, to...)
	head := n.BlockNumber(b)
	count := head - start + 1
	fmt.Printf("  mined %d blocks in %v\n\n", count, time.Since(t0).Round(time.Second))
	rpc, err := chain.NewClient([]string{n.HTTP}, chain.ClientOptions{})
	must(err)
	ctx := context.Background()

	// Baseline: the blocks as the node sends them, in the watcher's batches, not decoded.
	t0 = time.Now()
	for from := start; from <= head; from += chain.DefaultBatchSize {
		to := min(head, from+chain.DefaultBatchSize-1)
		batch := make([]chain.BatchElem, 0, to-from+1)
		raws := make([]json.RawMessage, to-from+1)
		for i := from; i <= to; i++ {
			batch = append(batch, chain.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.EncodeUint64(i), true}, Result: &raws[i-from]})
		}
		must(rpc.BatchCall(ctx, batch))
	}
	raw := time.Since(t0)

	// The watcher alone: decoded blocks, receipts of the payments.
	w := &chain.Watcher{RPC: rpc, Address: payTo}
	t0 = time.Now()
	found := 0
	for c := chain.StartAt(start); c.Number < head; {
		r, err := w.Step(ctx, c)
		must(err)
		for _, blk := range r.Blocks {
			found += len(blk.Payments)
		}
		c = c.Apply(r, 0)
	}
	watcher := time.Since(t0)

	// The runner: the watcher and the journal, as the server runs it.
	dir, _ := os.MkdirTemp("", "aispace-bench-catchup-")
	defer os.RemoveAll(dir)
	db, kr, l := newLedger(dir)
	defer db.Close(ctx)
	defer l.Close(ctx)
	r := &payments.Runner{Ledger: l, RPC: rpc, ChainID: gethdev.ChainID, Address: payTo, StartBlock: &start, NewKey: keyMaker(kr),
		Logger: slog.New(slog.DiscardHandler)}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t0 = time.Now()
	go func() { r.Run(rctx); close(done) }()
	for l.ChainCursor().Number < head {
		time.Sleep(time.Millisecond)
	}
	runner := time.Since(t0)
	cancel()
	<-done
	journaled := 0
	l.Read(func(s *ledger.State) { journaled = len(s.Payments) })

	rate := func(d time.Duration) float64 { return float64(count) / d.Seconds() }
	fmt.Printf("| %-46s | %10s | %8s | %12s |\n", "catch-up", "blocks/s", "time", "vs raw fetch")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 48), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 14))
	fmt.Printf("| %-46s | %10.0f | %8s | %12s |\n", "baseline: raw block fetch (batches of 100)", rate(raw), round(raw), "1.00×")
	fmt.Printf("| %-46s | %10.0f | %8s | %11.2f× |\n", fmt.Sprintf("watcher steps (%d payments found)", found), rate(watcher), round(watcher), rate(watcher)/rate(raw))
	fmt.Printf("| %-46s | %10.0f | %8s | %11.2f× |\n", fmt.Sprintf("runner: steps journaled (%d payments)", journaled), rate(runner), round(runner), rate(runner)/rate(raw))
	fmt.Printf("\n  goal ≥ 500 blocks/s: %s\n\n", verdict(rate(runner) >= 500))
}

// The socket figures run the server in a process of its own, so its memory is its
// own and each side has its own file descriptors.
const wsChildEnv = "AISPACE_BENCH_WS_CHILD"

func init() {
	if os.Getenv(wsChildEnv) != "" {
		runSocketServer()
		os.Exit(0)
	}
}

// cryptoSizes are the figures' sizes: 200 purchases, 5,000 blocks, 10,000 sockets, or
// AISPACE_BENCH_CRYPTO="purchases,blocks,sockets" for a quick look.
func cryptoSizes() (purchases, blocks, sockets int) {
	sizes := []int{200, 5000, 10_000}
	for i, s := range strings.Split(os.Getenv("AISPACE_BENCH_CRYPTO"), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 && i < len(sizes) {
			sizes[i] = n
		}
	}
	return sizes[0], sizes[1], sizes[2]
}

// memReport is the socket server's memory, after a GC.
type memReport struct {
	HeapInuse, StackInuse, RSS uint64
	Goroutines                 int
}

// runSocketServer is the child: the API with crypto payments, its price a spot price
// the parent moves, and endpoints for the parent to make purchases, tick the price
// and read memory.
func runSocketServer() {
	dir, _ := os.MkdirTemp("", "aispace-bench-ws-")
	defer os.RemoveAll(dir)
	db, kr, l := newLedger(dir)
	var price atomic.Value
	price.Store("3150.12")
	spot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":{"amount":%q,"base":"ETH","currency":"USD"}}`, price.Load())
	}))
	prices := &payments.PriceService{Feed: &chain.PriceFeed{SpotURL: spot.URL}, Refresh: time.Hour}
	c := &server.Crypto{ChainID: 8453, ChainName: "Base", PaymentAddress: randomAddress(), Prices: prices}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	pricing, _ := credits.ParsePricing(credits.DefaultPricing)
	api := server.New(server.Deps{Config: server.Config{PublicURL: "http://" + ln.Addr().String()},
		Ledger: l, Keys: kr, Pricing: pricing, DB: db, Crypto: c, Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.HandleFunc("POST /bench/purchases", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		out := make([][2]string, n)
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					id, secret := keys.NewID("pur_"), keys.NewSecret()
					must(l.CreatePurchase(r.Context(), ledger.Purchase{ID: id, SecretHash: kr.HashSecret(secret), Method: shared.MethodCrypto,
						Cents: 1000, Credits: 100_000, Wei: "3174600000000000", PriceE8: 315_012_000_000, ExpiresAt: time.Now().Add(time.Hour)}))
					out[i] = [2]string{id, secret}
				}
			}()
		}
		wg.Wait()
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /bench/tick", func(w http.ResponseWriter, r *http.Request) {
		price.Store(r.URL.Query().Get("usd"))
		_, err := prices.RefreshNow(r.Context())
		must(err)
	})
	mux.HandleFunc("GET /bench/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(memReport{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	fmt.Println("http://" + ln.Addr().String())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
	c.Close()
	l.Close(context.Background())
	db.Close(context.Background())
}

// rss is the resident set of this process, from /proc.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// benchSockets opens n purchase websockets on the child server and ticks the price.
func benchSockets(n int) {
	fmt.Printf("Crypto: %d purchase websockets, server in a process of its own\n\n", n)
	exe, err := os.Executable()
	must(err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), wsChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(err)
	stdout, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must(err)
	base := strings.TrimSpace(line)

	resp, err := http.Post(base+"/bench/purchases?n="+strconv.Itoa(n), "application/json", nil)
	must(err)
	var purchases [][2]string
	must(json.NewDecoder(resp.Body).Decode(&purchases))
	resp.Body.Close()
	mem := func() memReport {
		resp, err := http.Get(base + "/bench/mem")
		must(err)
		defer resp.Body.Close()
		var m memReport
		must(json.NewDecoder(resp.Body).Decode(&m))
		return m
	}
	tick := func(usd string) {
		resp, err := http.Post(base+"/bench/tick?usd="+usd, "application/json", nil)
		must(err)
		resp.Body.Close()
	}

	type client struct {
		conn   *websocket.Conn
		joined chan struct{}
		got    atomic.Int64 // unix nanos of the tick's arrival
	}
	var target atomic.Value
	target.Store("")
	dialer := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: time.Minute}
	open := func(p [2]string) *client {
		conn, _, err := dialer.Dial(strings.Replace(base, "http", "ws", 1)+"/api/v1/ws?purchase="+p[0], nil)
		must(err)
		must(conn.WriteJSON(shared.WSHello{Secret: p[1]}))
		c := &client{conn: conn, joined: make(chan struct{})}
		go func() {
			joined := false
			for {
				var m shared.WSMessage
				if err := conn.ReadJSON(&m); err != nil {
					return
				}
				if m.Type == "purchase" && !joined {
					joined = true
					close(c.joined)
				}
				if m.Type == "price" && m.EthUSD == target.Load() {
					c.got.Store(time.Now().UnixNano())
				}
			}
		}()
		<-c.joined
		return c
	}
	// waitTick ticks the price to usd and returns how long until every client had it,
	// and the median arrival.
	waitTick := func(cs []*client, usd string) (all, p50 time.Duration) {
		for _, c := range cs {
			c.got.Store(0)
		}
		target.Store(usd)
		t0 := time.Now()
		tick(usd)
		deadline := time.Now().Add(time.Minute)
		for {
			var arr []time.Duration
			for _, c := range cs {
				if at := c.got.Load(); at != 0 {
					arr = append(arr, time.Unix(0, at).Sub(t0))
				}
			}
			if len(arr) == len(cs) {
				slices.Sort(arr)
				return arr[len(arr)-1], arr[len(arr)/2]
			}
			if time.Now().After(deadline) {
				must(fmt.Errorf("the tick reached %d of %d sockets in a minute", len(arr), len(cs)))
			}
			time.Sleep(time.Millisecond)
		}
	}

	before := mem()
	one := []*client{open(purchases[0])}
	oneAll, _ := waitTick(one, "3200.01")
	clients := make([]*client, n)
	clients[0] = one[0]
	t0 := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(1)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				clients[i] = open(purchases[i])
			}
		}()
	}
	wg.Wait()
	opened := time.Since(t0)
	after := mem()
	all, p50 := waitTick(clients, "3456.78")
	for _, c := range clients {
		c.conn.Close()
	}

	perSocket := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) / 1024 }
	fmt.Printf("  %d sockets opened and greeted in %v; server goroutines %d → %d\n\n", n, opened.Round(time.Millisecond), before.Goroutines, after.Goroutines)
	fmt.Printf("| %-44s | %12s | %12s |\n", "price tick", "to all", "median")
	fmt.Printf("|%s|%s|%s|\n", strings.Repeat("-", 46), strings.Repeat("-", 14), strings.Repeat("-", 14))
	fmt.Printf("| %-44s | %12s | %12s |\n", "baseline: one socket", round(oneAll), round(oneAll))
	fmt.Printf("| %-44s | %12s | %12s |\n", fmt.Sprintf("%d sockets", n), round(all), round(p50))
	fmt.Printf("\n| %-44s | %12s |\n", "server memory per socket", "KB")
	fmt.Printf("|%s|%s|\n", strings.Repeat("-", 46), strings.Repeat("-", 14))
	fmt.Printf("| %-44s | %12.1f |\n", "Go heap and stacks in use", perSocket(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse))
	fmt.Printf("| %-44s | %12.1f |\n", "resident set (RSS)", perSocket(before.RSS, after.RSS))
	fmt.Printf("\n  goals: a tick to all ≤ 1s: %s; ≤ 30 KB a socket: %s\n\n", verdict(all <= time.Second),
		verdict(perSocket(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse) <= 30 && perSocket(before.RSS, after.RSS) <= 30))
}
