package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/aispace/credits/shared"
)

// TestKilledAfterThePaymentIsMinedAndBeforeItIsCreditedCreditsItOnceAfterTheRestart
// kills the server (SIGKILL, no shutdown) while a payment is in a block but short of
// its confirmations, lets the chain move on without it, and restarts it: the payment is
// credited exactly once, and the key is still handed out exactly once.
func TestKilledAfterThePaymentIsMinedAndBeforeItIsCreditedCreditsItOnceAfterTheRestart(t *testing.T) {
	ch := startDevChain(t)
	key, _ := crypto.GenerateKey()
	payTo := crypto.PubkeyToAddress(key.PublicKey)
	args := append([]string{"-chain-rpc", ch.URLs(), "-chain-id", fmt.Sprint(ch.ChainID()), "-payment-address", payTo.Hex(),
		"-confirmations", "2", "-chain-poll", "200ms"}, ch.PriceArgs()...)
	dir := t.TempDir()
	p := StartProc(t, dir, nil, args...)
	s := &cryptoServer{RunningServer: &RunningServer{URL: p.URL}, ch: ch, payTo: payTo}

	b := newBuyer(t, ch)
	q := s.quote(t, "7.00", b.addr)
	tx := b.sign(t, ch, payTo, weiOf(t, q), nil)
	if code := s.submit(t, q, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit: %d", code)
	}
	send(t, ch, tx)
	s.waitStatus(t, q, "seen (1 of 2 confirmations)", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusSeen })
	p.Kill()

	ch.Commit() // the second confirmation comes while the server is down
	ch.Commit()
	p = StartProc(t, dir, nil, args...)
	s.RunningServer.URL = p.URL
	st := s.waitStatus(t, q, "credited after the restart", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited })
	if st.CreditsGranted != q.Credits || st.Key == "" {
		t.Fatalf("after the restart: %+v, want %d credits and the key", st, q.Credits)
	}
	if got := s.balance(t, st.Key); got != q.Credits {
		t.Fatalf("balance %d, want %d", got, q.Credits)
	}

	// Killed again, and restarted: still once, and the key is not handed out again.
	p.Kill()
	ch.Commit()
	p = StartProc(t, dir, nil, args...)
	s.RunningServer.URL = p.URL
	if got := s.balance(t, st.Key); got != q.Credits {
		t.Fatalf("balance %d after a second restart, want %d", got, q.Credits)
	}
	if again := s.status(t, q); again.Key != "" || again.CreditsGranted != q.Credits {
		t.Fatalf("after a second restart: %+v, want the key not handed out again", again)
	}
}

// switchProxy is the chain RPC behind a switch: off, it answers every request with
// 503, as a node under maintenance does.
type switchProxy struct {
	*httptest.Server
	off atomic.Bool
}

func newSwitchProxy(t *testing.T, h http.Handler) *switchProxy {
	p := &switchProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.off.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestRPCDownForAWhileMissesNoBlock turns the chain RPC off while payments are mined,
// then on again: the watcher catches up from its cursor and credits every one.
func TestRPCDownForAWhileMissesNoBlock(t *testing.T) {
	ch := startDevChain(t)
	proxy := newSwitchProxy(t, ch.Handler())
	key, _ := crypto.GenerateKey()
	payTo := crypto.PubkeyToAddress(key.PublicKey)
	// HTTP only: the watcher polls the head.
	srv := MustRunServer(t, t.TempDir(), append([]string{"-chain-rpc", proxy.URL, "-chain-id", fmt.Sprint(ch.ChainID()),
		"-payment-address", payTo.Hex(), "-chain-poll", "100ms"}, ch.PriceArgs()...)...)
	s := &cryptoServer{RunningServer: srv, ch: ch, payTo: payTo}

	buyers := []buyer{newBuyer(t, ch), newBuyer(t, ch), newBuyer(t, ch)}
	var quotes []shared.PurchaseCreated
	for _, b := range buyers {
		quotes = append(quotes, s.quote(t, "2.50", b.addr))
	}

	proxy.off.Store(true)
	buyers[0].pay(t, ch, payTo, weiOf(t, quotes[0])) // matched by sender
	tx := buyers[1].sign(t, ch, payTo, weiOf(t, quotes[1]), nil)
	if code := s.submit(t, quotes[1], tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit while the RPC is down: %d", code)
	}
	send(t, ch, tx)
	waitMined(t, ch, tx.Hash())
	for range 5 {
		ch.Commit()
	}
	time.Sleep(2 * time.Second) // the watcher fails and backs off meanwhile
	if code := get(t, s.URL+"/readyz", "", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the chain RPC down: %d, want 503", code)
	}
	for _, q := range quotes[:2] {
		if st := s.status(t, q); st.Status == shared.StatusCredited {
			t.Fatalf("credited while the RPC was down: %+v", st)
		}
	}

	proxy.off.Store(false)
	buyers[2].pay(t, ch, payTo, weiOf(t, quotes[2]))
	for _, q := range quotes {
		if st := s.waitStatus(t, q, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited }); st.CreditsGranted != q.Credits {
			t.Fatalf("after the RPC came back: %+v", st)
		}
	}
	if code := get(t, s.URL+"/readyz", "", nil); code != http.StatusOK {
		t.Fatalf("/readyz with the chain RPC back: %d", code)
	}
}
