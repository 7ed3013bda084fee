package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/devchain"
	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

// The crypto tests drive the whole binary (run, in this process or as a process of its
// own) against a real chain: the dev chain (go-ethereum's simulated beacon, chain id
// 8453) served over HTTP and websocket by this test process, so the test can reorg it
// and move its price feed, or geth --dev. Buyers are funded keys that sign their own
// transactions, like a wallet.

// testChain is a chain the server watches and the test pays on.
type testChain interface {
	URLs() string // for -chain-rpc
	ChainID() uint64
	Eth() *ethclient.Client
	Fund(t *testing.T, to common.Address, wei *big.Int) // from a rich account, mined
	Mine(t *testing.T)                                  // one more block
	SetPrice(t *testing.T, usd string)                  // the price the server reads
	PriceArgs() []string                                // how the server reads it
}

// devChain is the dev chain, served over HTTP and websocket by this test process.
type devChain struct {
	*devchain.Chain
	srv *httptest.Server
	eth *ethclient.Client
}

func startDevChain(t *testing.T) *devChain {
	t.Helper()
	c, err := devchain.Start(context.Background(), devchain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &devChain{Chain: c, srv: srv, eth: c.Client()}
}

func (d *devChain) URLs() string {
	return d.srv.URL + "," + strings.Replace(d.srv.URL, "http://", "ws://", 1)
}
func (d *devChain) Eth() *ethclient.Client { return d.eth }
func (d *devChain) Fund(t *testing.T, to common.Address, wei *big.Int) {
	t.Helper()
	h, err := d.SendETH(context.Background(), d.WalletKey(), to, wei)
	if err != nil {
		t.Fatal(err)
	}
	waitMined(t, d, h)
}
func (d *devChain) Mine(t *testing.T) { d.Commit() }
func (d *devChain) SetPrice(t *testing.T, usd string) {
	t.Helper()
	if err := d.Chain.SetPrice(context.Background(), usd); err != nil {
		t.Fatal(err)
	}
}
func (d *devChain) PriceArgs() []string {
	return []string{"-price-feed", d.PriceFeed().Hex(), "-price-spot-url", "off"}
}

// gethChain is geth --dev, its price an HTTP spot price this test serves (geth has no
// Chainlink feed): the same fallback path the server takes when Chainlink fails.
type gethChain struct {
	*gethdev.Node
	eth   *ethclient.Client
	price atomic.Value // string
	spot  *httptest.Server
	mu    sync.Mutex // serialises Mine's use of the node's key
}

func startGeth(t *testing.T) *gethChain {
	t.Helper()
	g := &gethChain{Node: gethdev.Start(t)}
	var err error
	if g.eth, err = ethclient.Dial(g.HTTP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.eth.Close)
	g.price.Store(devchain.DefaultInitialPrice)
	g.spot = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":{"amount":%q,"base":"ETH","currency":"USD"}}`, g.price.Load().(string))
	}))
	t.Cleanup(g.spot.Close)
	return g
}

func (g *gethChain) URLs() string           { return g.HTTP + "," + g.WS }
func (g *gethChain) ChainID() uint64        { return gethdev.ChainID }
func (g *gethChain) Eth() *ethclient.Client { return g.eth }
func (g *gethChain) Fund(t *testing.T, to common.Address, wei *big.Int) {
	t.Helper()
	g.WaitReceipt(t, g.SendFromDev(t, &to, wei, nil))
}
func (g *gethChain) Mine(t *testing.T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Node.Mine(t, 1)
}
func (g *gethChain) SetPrice(t *testing.T, usd string) { g.price.Store(usd) }
func (g *gethChain) PriceArgs() []string {
	return []string{"-price-feed", "off", "-price-spot-url", g.spot.URL}
}

// buyer is a wallet: a funded key that signs its own transactions.
type buyer struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

func newBuyer(t *testing.T, ch testChain) buyer {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b := buyer{key, crypto.PubkeyToAddress(key.PublicKey)}
	ch.Fund(t, b.addr, new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)))
	return b
}

// sign signs a transaction sending wei (and data, for a contract) to to, without
// sending it: the page learns the hash from the wallet and can submit it at once.
func (b buyer) sign(t *testing.T, ch testChain, to common.Address, wei *big.Int, data []byte) *types.Transaction {
	t.Helper()
	ctx := context.Background()
	ec := ch.Eth()
	nonce, err := ec.PendingNonceAt(ctx, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gas := uint64(21_000)
	if len(data) > 0 {
		est, err := ec.EstimateGas(ctx, ethCall(b.addr, to, wei, data))
		if err != nil {
			t.Fatal(err)
		}
		gas = est + est/4
	}
	tip := big.NewInt(1e9)
	tx, err := types.SignNewTx(b.key, types.LatestSignerForChainID(new(big.Int).SetUint64(ch.ChainID())), &types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(ch.ChainID()), Nonce: nonce, GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))),
		Gas:       gas, To: &to, Value: wei, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func send(t *testing.T, ch testChain, tx *types.Transaction) {
	t.Helper()
	if err := ch.Eth().SendTransaction(context.Background(), tx); err != nil {
		t.Fatal(err)
	}
}

// pay signs, sends and waits for a transfer; it returns the transaction.
func (b buyer) pay(t *testing.T, ch testChain, to common.Address, wei *big.Int) *types.Transaction {
	t.Helper()
	tx := b.sign(t, ch, to, wei, nil)
	send(t, ch, tx)
	waitMined(t, ch, tx.Hash())
	return tx
}

// personalSign is what a wallet's personal_sign gives: an EIP-191 signature, v 27/28.
func (b buyer) personalSign(t *testing.T, message string) string {
	t.Helper()
	sig, err := crypto.Sign(accounts.TextHash([]byte(message)), b.key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return hexutil.Encode(sig)
}

func waitMined(t *testing.T, ch testChain, h common.Hash) *types.Receipt {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := ch.Eth().TransactionReceipt(context.Background(), h)
		if err == nil {
			if r.Status != 1 {
				t.Fatalf("transaction %s failed", h.Hex())
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s not mined within 30s: %v", h.Hex(), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cryptoServer is a server taking crypto payments from a chain, run in this process.
type cryptoServer struct {
	*RunningServer
	ch     testChain
	payTo  common.Address
	admin  string // the admin API's URL
	origin string // the public URL, which the page's Origin is
}

const testAdminToken = "test-admin-token"

// startCryptoServer runs the server on ch with a payment address of its own (servers
// sharing a chain do not see each other's payments) and the extra flags.
func startCryptoServer(t *testing.T, ch testChain, extra ...string) *cryptoServer {
	t.Helper()
	key, _ := crypto.GenerateKey()
	payTo := crypto.PubkeyToAddress(key.PublicKey)
	adminAddr := freeAddr(t)
	args := []string{"-chain-rpc", ch.URLs(), "-chain-id", fmt.Sprint(ch.ChainID()), "-payment-address", payTo.Hex(),
		"-chain-poll", "200ms", "-price-refresh", "300ms", "-admin-addr", adminAddr, "-admin-token", testAdminToken,
		"-log-format", "json"}
	args = append(append(args, ch.PriceArgs()...), extra...)
	s := MustRunServer(t, t.TempDir(), args...)
	port := s.URL[strings.LastIndexByte(s.URL, ':'):]
	return &cryptoServer{RunningServer: s, ch: ch, payTo: payTo, admin: "http://" + adminAddr, origin: "http://localhost" + port}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// api sends a JSON request with an optional purchase secret and decodes a JSON answer
// (of any status) into out; it returns the status.
func api(t *testing.T, method, url, secret string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Purchase-Secret", secret)
	}
	if strings.Contains(url, "/admin/") {
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// quote is POST /api/v1/purchases for a crypto purchase.
func (s *cryptoServer) quote(t *testing.T, usd string, wallet common.Address) shared.PurchaseCreated {
	t.Helper()
	var p shared.PurchaseCreated
	body := map[string]string{"usd": usd, "method": "crypto"}
	if wallet != (common.Address{}) {
		body["wallet"] = wallet.Hex()
	}
	if code := api(t, "POST", s.URL+"/api/v1/purchases", "", body, &p); code != http.StatusCreated || p.Crypto == nil {
		t.Fatalf("quote: %d %+v", code, p)
	}
	return p
}

func (s *cryptoServer) submit(t *testing.T, p shared.PurchaseCreated, tx common.Hash) int {
	t.Helper()
	var e shared.ErrorBody
	return api(t, "POST", s.URL+"/api/v1/purchases/"+p.ID+"/tx", p.Secret, map[string]string{"tx_hash": tx.Hex()}, &e)
}

func (s *cryptoServer) status(t *testing.T, p shared.PurchaseCreated) shared.PurchaseStatus {
	t.Helper()
	var st shared.PurchaseStatus
	if code := api(t, "GET", s.URL+"/api/v1/purchases/"+p.ID, p.Secret, nil, &st); code != http.StatusOK {
		t.Fatalf("GET purchase: %d", code)
	}
	return st
}

// waitStatus polls GET /api/v1/purchases/{id} until ok says yes. GET takes the key
// when it is due: tests that want it from the websocket do not use this.
func (s *cryptoServer) waitStatus(t *testing.T, p shared.PurchaseCreated, what string, ok func(shared.PurchaseStatus) bool) shared.PurchaseStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.status(t, p)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("purchase %s: not %s within 30s: %+v", p.ID, what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *cryptoServer) balance(t *testing.T, key string) int64 {
	t.Helper()
	var a shared.Account
	if code := get(t, s.URL+"/api/v1/account", key, &a); code != http.StatusOK {
		t.Fatalf("GET account: %d", code)
	}
	return a.Balance
}

// weiOf and priceOf read a quote.
func weiOf(t *testing.T, p shared.PurchaseCreated) *big.Int {
	t.Helper()
	w, ok := new(big.Int).SetString(p.Crypto.Wei, 10)
	if !ok {
		t.Fatalf("wei %q", p.Crypto.Wei)
	}
	return w
}

func priceOf(t *testing.T, p shared.PurchaseCreated) ethmath.PriceE8 {
	t.Helper()
	pr, err := ethmath.ParsePrice(p.Crypto.EthUSD)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// pageSocket is a purchase page's websocket: every message it got, in order.
type pageSocket struct {
	conn *websocket.Conn
	mu   sync.Mutex
	msgs []shared.WSMessage
	raw  []string
	news chan struct{}
	err  error
}

// dial opens /api/v1/ws for the purchase as its page would (from the public URL's
// origin) and says hello with the secret.
func (s *cryptoServer) dial(t *testing.T, id, secret string) *pageSocket {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(strings.Replace(s.URL, "http", "ws", 1)+"/api/v1/ws?purchase="+id,
		http.Header{"Origin": {s.origin}})
	if err != nil {
		t.Fatalf("websocket: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(shared.WSHello{Secret: secret}); err != nil {
		t.Fatal(err)
	}
	ps := &pageSocket{conn: conn, news: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			ps.mu.Lock()
			if err != nil {
				ps.err = err
				ps.mu.Unlock()
				close(ps.news)
				return
			}
			var m shared.WSMessage
			json.Unmarshal(b, &m)
			ps.msgs = append(ps.msgs, m)
			ps.raw = append(ps.raw, string(b))
			ps.mu.Unlock()
			select {
			case ps.news <- struct{}{}:
			default:
			}
		}
	}()
	return ps
}

// mark is where the messages so far end, for waitFrom.
func (ps *pageSocket) mark() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.msgs)
}

// waitFor waits for a message ok accepts and returns it.
func (ps *pageSocket) waitFor(t *testing.T, what string, ok func(shared.WSMessage) bool) shared.WSMessage {
	t.Helper()
	return ps.waitFrom(t, 0, what, ok)
}

// waitFrom waits for a message ok accepts among those from the mark on.
func (ps *pageSocket) waitFrom(t *testing.T, mark int, what string, ok func(shared.WSMessage) bool) shared.WSMessage {
	t.Helper()
	deadline := time.After(30 * time.Second)
	seen := mark
	for {
		ps.mu.Lock()
		for ; seen < len(ps.msgs); seen++ {
			if ok(ps.msgs[seen]) {
				m := ps.msgs[seen]
				ps.mu.Unlock()
				return m
			}
		}
		err := ps.err
		ps.mu.Unlock()
		if err != nil {
			t.Fatalf("websocket closed before %s: %v; got %v", what, err, ps.all())
		}
		select {
		case <-ps.news:
		case <-deadline:
			t.Fatalf("no %s on the websocket within 30s; got %v", what, ps.all())
		}
	}
}

func (ps *pageSocket) waitStatus(t *testing.T, status string) shared.WSMessage {
	t.Helper()
	return ps.waitFor(t, "purchase status "+status, func(m shared.WSMessage) bool { return m.Type == "purchase" && m.Status == status })
}

func (ps *pageSocket) all() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]string(nil), ps.raw...)
}

// statuses lists the purchase statuses the socket was told, in order, without repeats.
func (ps *pageSocket) statuses() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, m := range ps.msgs {
		if m.Type == "purchase" && (len(out) == 0 || out[len(out)-1] != m.Status) {
			out = append(out, m.Status)
		}
	}
	return out
}

func (ps *pageSocket) keys() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, m := range ps.msgs {
		if m.Type == "key" {
			out = append(out, m.Key)
		}
	}
	return out
}

// statusOrder is how far along a status is; a page must never be told one going back
// except by a reorg.
var statusOrder = map[string]int{shared.StatusPending: 0, shared.StatusExpired: 0, shared.StatusSubmitted: 1,
	shared.StatusSeen: 2, shared.StatusConfirmed: 3, shared.StatusCredited: 4}

func checkAdvances(t *testing.T, statuses []string) {
	t.Helper()
	for i := 1; i < len(statuses); i++ {
		if statusOrder[statuses[i]] < statusOrder[statuses[i-1]] {
			t.Fatalf("the status went back: %v", statuses)
		}
	}
}

func ethCall(from, to common.Address, wei *big.Int, data []byte) ethereum.CallMsg {
	return ethereum.CallMsg{From: from, To: &to, Value: wei, Data: data}
}
