package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

// fixedPrice is a price source that never moves by itself: the test ticks the hub.
type fixedPrice struct{}

func (fixedPrice) Price(context.Context) (chain.Price, error) {
	return chain.Price{USD: 315_012_000_000, Source: chain.SourceSpot, UpdatedAt: time.Now()}, nil
}
func (fixedPrice) Last() (chain.Price, bool) {
	p, _ := fixedPrice{}.Price(context.Background())
	return p, true
}
func (fixedPrice) Subscribe(func(chain.Price)) (cancel func()) { return func() {} }

// TestSlowSocketIsDroppedWithoutHoldingUpTheOthers: a page that stops reading fills
// its socket's queue and is dropped; the hub never waits for it, and a page that
// reads gets every tick.
func TestSlowSocketIsDroppedWithoutHoldingUpTheOthers(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	kr, _ := keys.New(keys.Secrets{HMAC: make([]byte, 32), Master: bytes.Repeat([]byte{3}, 32)})
	l, err := ledger.Open(ctx, ledger.Config{Journal: db})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	c := &Crypto{ChainID: 8453, Prices: fixedPrice{}}
	defer c.Close()
	ts := httptest.NewServer(nil)
	defer ts.Close()
	ts.Config.Handler = New(Deps{Config: Config{PublicURL: ts.URL}, Ledger: l, Keys: kr, DB: db, Crypto: c})
	if err := l.CreatePurchase(ctx, ledger.Purchase{ID: "pur_1", SecretHash: kr.HashSecret("s1"), Method: shared.MethodCrypto, Cents: 100, Credits: 10_000}); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(ts.URL, "http", "ws", 1) + "/api/v1/ws?purchase=pur_1"
	dial := func(readBuf int) *websocket.Conn {
		d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil && readBuf > 0 {
				conn.(*net.TCPConn).SetReadBuffer(readBuf)
			}
			return conn, err
		}}
		conn, _, err := d.Dial(url, http.Header{"Origin": {ts.URL}})
		if err != nil {
			t.Fatal(err)
		}
		conn.WriteJSON(shared.WSHello{Secret: "s1"})
		return conn
	}
	fast := dial(0)
	defer fast.Close()
	var last atomic.Value
	last.Store("")
	go func() {
		for {
			var m shared.WSMessage
			if err := fast.ReadJSON(&m); err != nil {
				return
			}
			if m.Type == "price" {
				last.Store(m.EthUSD)
			}
		}
	}()
	slow := dial(4096) // and never read
	defer slow.Close()
	c.mu.Lock()
	h := c.hub
	c.mu.Unlock()
	waitFor(t, "two sockets", func() bool { return h.count() == 2 })
	h.mu.Lock()
	for k := range h.sockets { // small kernel buffers, so the slow page's fill up soon
		k.conn.NetConn().(*net.TCPConn).SetWriteBuffer(4096)
	}
	h.mu.Unlock()

	// Ticks until the slow page's buffers are full and it is dropped: how many that
	// takes depends on the kernel's buffers, not on the hub.
	var slowest time.Duration
	var want string
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; h.count() == 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the slow socket was not dropped after %d ticks", i)
		}
		p := chain.Price{USD: ethmath.PriceE8(300_000_000_000 + int64(i)), Source: chain.SourceSpot, UpdatedAt: time.Now()}
		start := time.Now()
		h.onPrice(p)
		slowest = max(slowest, time.Since(start))
		want = p.USD.String()
		time.Sleep(200 * time.Microsecond)
	}
	waitFor(t, "the last tick at the page that reads", func() bool { return last.Load() == want })
	if slowest > 100*time.Millisecond {
		t.Fatalf("a tick took %v to hand out: the hub waited for a socket", slowest)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
