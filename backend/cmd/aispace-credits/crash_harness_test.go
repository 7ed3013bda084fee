package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/aispace/credits/backend/card/cardtest"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// The crash harness runs the real binary, drives crypto purchases (on a dev chain
// this test process serves, so the chain outlives the server), card purchases
// (through a local stand-in for Stripe that answers sessions as paid, and signed
// webhooks) and charges against the keys the buyers received, and kills the server
// with SIGKILL at random moments, again and again. At the end it checks that every
// payment the chain confirmed and every paid session was credited exactly once, that
// every acknowledged charge is in the ledger exactly once, that every balance is its
// ledger's sum, and that no key or purchase secret ever reached a log line.
//
// make test runs 20 kills; make soak (AISPACE_SOAK=1) runs 200.

// crashWorld is what the harness did and was told, across all the restarts.
type crashWorld struct {
	mu        sync.Mutex
	crypto    []crashCrypto
	cards     []crashCard
	keys      []string                       // Secure Keys the buyers received
	charges   map[string]shared.ChargeResult // acknowledged charges by idempotency key
	chargedBy map[string]string              // idempotency key → the key it spent from
	secrets   []string                       // purchase secrets, never to be logged
}

type crashCrypto struct {
	p    shared.PurchaseCreated
	tx   common.Hash
	sent bool
}

type crashCard struct {
	p       shared.PurchaseCreated
	session string
	browser *http.Client
}

func TestCrashHarnessLosesAndDoublesNothing(t *testing.T) {
	kills := 20
	if os.Getenv("AISPACE_SOAK") != "" {
		kills = 200
	}
	ch := startDevChain(t)
	stripe := cardtest.NewStripe(t, cardTestKey)
	payKey, _ := crypto.GenerateKey()
	payTo := crypto.PubkeyToAddress(payKey.PublicKey)
	adminAddr := freeAddr(t)
	args := append([]string{"-chain-rpc", ch.URLs(), "-chain-id", fmt.Sprint(ch.ChainID()), "-payment-address", payTo.Hex(),
		"-chain-poll", "100ms", "-price-refresh", "300ms", "-admin-addr", adminAddr, "-admin-token", testAdminToken,
		"-stripe-secret-key", cardTestKey, "-stripe-api-base", stripe.URL(), "-stripe-webhook-secret", cardTestWebhook,
		"-service-token", "crash-service"}, ch.PriceArgs()...)
	dir := t.TempDir()
	w := &crashWorld{charges: map[string]shared.ChargeResult{}, chargedBy: map[string]string{}}
	var logs []string

	for round := 0; round < kills; round++ {
		// A wallet of its own each round: a payment is matched to its purchase by
		// hash, or by sender and open quote, never to another round's quote.
		b := newBuyer(t, ch)
		p := StartProc(t, dir, nil, args...)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); w.buyWithCrypto(p.URL, ch, b, payTo, round, stop) }()
		go func() { defer wg.Done(); w.buyWithCard(p.URL, stripe, round, stop) }()
		go func() { defer wg.Done(); w.spend(p.URL, round, stop) }()
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
		logs = append(logs, p.Log())
	}

	// The last run: everything paid gets credited, then the checks.
	p := StartProc(t, dir, nil, args...)
	defer func() { p.Stop(t); logs = append(logs, p.Log()); w.checkLogs(t, logs) }()
	ch.Commit()
	w.settle(t, p.URL, stripe)
	w.check(t, p.URL, "http://"+adminAddr, ch)
	t.Logf("%d kills: %d crypto and %d card purchases, %d keys received, %d charges acknowledged",
		kills, len(w.crypto), len(w.cards), len(w.keys), len(w.charges))
}

func crashCall(method, url, secret, bearer string, client *http.Client, body, out any) (int, error) {
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
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(data) > 0 {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// buyWithCrypto quotes, pays the exact wei, submits the hash and waits for the key,
// once a round; a kill anywhere in between is fine.
func (w *crashWorld) buyWithCrypto(base string, ch *devChain, b buyer, payTo common.Address, round int, stop <-chan struct{}) {
	var p shared.PurchaseCreated
	usd := fmt.Sprintf("%d.%02d", 1+round%7, round%100)
	if code, err := crashCall("POST", base+"/api/v1/purchases", "", "", nil, map[string]string{"usd": usd, "method": "crypto", "wallet": b.addr.Hex()}, &p); err != nil || code != 201 {
		return
	}
	wei, _ := new(big.Int).SetString(p.Crypto.Wei, 10)
	ctx := context.Background()
	nonce, err := ch.Eth().PendingNonceAt(ctx, b.addr)
	if err != nil {
		return
	}
	tip := big.NewInt(1e9)
	head, err := ch.Eth().HeaderByNumber(ctx, nil)
	if err != nil {
		return
	}
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignNewTx(b.key, types.LatestSignerForChainID(new(big.Int).SetUint64(ch.ChainID())),
		&types.DynamicFeeTx{Nonce: nonce, GasTipCap: tip, GasFeeCap: fee, Gas: 21_000, To: &payTo, Value: wei})
	if err != nil {
		return
	}
	w.mu.Lock()
	w.secrets = append(w.secrets, p.Secret)
	w.crypto = append(w.crypto, crashCrypto{p: p, tx: tx.Hash()})
	i := len(w.crypto) - 1
	w.mu.Unlock()
	crashCall("POST", base+"/api/v1/purchases/"+p.ID+"/tx", p.Secret, "", nil, map[string]string{"tx_hash": tx.Hash().Hex()}, nil)
	if err := ch.Eth().SendTransaction(ctx, tx); err != nil {
		return
	}
	w.mu.Lock()
	w.crypto[i].sent = true
	w.mu.Unlock()
	w.waitKey(base, p, nil, stop)
}

// buyWithCard opens a Checkout Session, pays it at the stand-in, delivers the signed
// webhook and reads the key on the return page, in the buyer's browser.
func (w *crashWorld) buyWithCard(base string, stripe *cardtest.Stripe, round int, stop <-chan struct{}) {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var p shared.PurchaseCreated
	if code, err := crashCall("POST", base+"/api/v1/purchases", "", "", browser, map[string]string{"usd": fmt.Sprintf("%d.00", 1+round%5), "method": "card"}, &p); err != nil || code != 201 {
		return
	}
	session := strings.TrimPrefix(p.Card.CheckoutURL, "https://checkout.stripe.com/c/pay/")
	w.mu.Lock()
	w.secrets = append(w.secrets, p.Secret)
	w.cards = append(w.cards, crashCard{p: p, session: session, browser: browser})
	w.mu.Unlock()
	stripe.Pay(session, "pi_crash_"+p.ID)
	deliverCompleted(base, stripe, session)
	w.waitKey(base, p, browser, stop)
}

func deliverCompleted(base string, stripe *cardtest.Stripe, session string) (int, error) {
	event := cardtest.Event("evt_"+session, "checkout.session.completed", stripe.Session(session))
	req, _ := http.NewRequest("POST", base+"/api/v1/stripe/webhook", bytes.NewReader(event))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", cardtest.Sign(event, cardTestWebhook, time.Now()))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitKey reads the purchase until it is credited and keeps the key it is given.
func (w *crashWorld) waitKey(base string, p shared.PurchaseCreated, browser *http.Client, stop <-chan struct{}) {
	for {
		var st shared.PurchaseStatus
		if code, err := crashCall("GET", base+"/api/v1/purchases/"+p.ID, p.Secret, "", browser, nil, &st); err == nil && code == 200 {
			if st.Key != "" {
				w.mu.Lock()
				w.keys = append(w.keys, st.Key)
				w.mu.Unlock()
			}
			if st.Status == shared.StatusCredited {
				return
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// spend charges the keys received so far, from two clients at a time.
func (w *crashWorld) spend(base string, round int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				w.mu.Lock()
				var key string
				if len(w.keys) > 0 {
					key = w.keys[rand.IntN(len(w.keys))]
				}
				w.mu.Unlock()
				if key == "" {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				idem := fmt.Sprintf("crash-%d-%d-%d", round, c, n)
				var res shared.ChargeResult
				code, err := crashCall("POST", base+"/api/v1/charges", "", "crash-service", nil,
					map[string]any{"key": key, "idempotency_key": idem, "credits": 1 + rand.IntN(50)}, &res)
				if err == nil && code == 200 {
					w.mu.Lock()
					w.charges[idem], w.chargedBy[idem] = res, key
					w.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// settle lets the last run finish what the kills interrupted: the watcher credits
// what the chain holds; paid sessions are delivered again (as Stripe retries).
func (w *crashWorld) settle(t *testing.T, base string, stripe *cardtest.Stripe) {
	t.Helper()
	for _, c := range w.cards {
		if s := stripe.Session(c.session); s != nil && s["payment_status"] == "paid" {
			if code, err := deliverCompleted(base, stripe, c.session); err != nil || code != 200 {
				t.Fatalf("redelivery of %s: %d %v", c.session, code, err)
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range w.crypto {
		if !c.sent {
			continue
		}
		for {
			var st shared.PurchaseStatus
			code, err := crashCall("GET", base+"/api/v1/purchases/"+c.p.ID, c.p.Secret, "", nil, nil, &st)
			if err == nil && code == 200 && st.Status == shared.StatusCredited {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("crypto purchase %s paid by %s: not credited after the last restart (%d %+v %v)", c.p.ID, c.tx.Hex(), code, st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// check is the harness's verdict, read through the admin API.
func (w *crashWorld) check(t *testing.T, base, admin string, ch *devChain) {
	t.Helper()
	lookup := func(q string) ledger.LookupResult {
		var r ledger.LookupResult
		if code, err := crashCall("GET", admin+"/admin/v1/lookup?"+q, "", testAdminToken, nil, nil, &r); err != nil || code != 200 {
			t.Fatalf("admin lookup %s: %d %v", q, code, err)
		}
		return r
	}
	accounts := map[string]ledger.AccountReport{}
	creditedOnce := func(id string, want int64) {
		r := lookup("purchase=" + id)
		if len(r.Purchases) != 1 || r.Purchases[0].Status != shared.StatusCredited || r.Purchases[0].CreditsGranted != want || len(r.Accounts) != 1 {
			t.Fatalf("purchase %s: %+v, want credited with %d", id, r.Purchases, want)
		}
		a := r.Accounts[0]
		lots := 0
		for _, l := range a.Lots {
			if l.Ref == id {
				lots++
			}
		}
		if lots != 1 {
			t.Fatalf("purchase %s added %d lots to %s, want 1", id, lots, a.ID)
		}
		accounts[a.ID] = a
	}
	for _, c := range w.crypto {
		receipt, err := ch.Eth().TransactionReceipt(context.Background(), c.tx)
		mined := err == nil && receipt.Status == types.ReceiptStatusSuccessful
		if c.sent && !mined {
			t.Fatalf("transaction %s was sent but is not on the chain", c.tx.Hex())
		}
		if mined {
			creditedOnce(c.p.ID, c.p.Credits) // the exact wei buys exactly the quoted credits
		}
	}
	for _, c := range w.cards {
		creditedOnce(c.p.ID, c.p.Credits)
	}
	// Every acknowledged charge once, with the answer it was given; every balance
	// its ledger's sum.
	seen := map[string]int{}
	for _, a := range accounts {
		var granted, used int64
		for _, l := range a.Lots {
			granted += l.Credits
		}
		for _, u := range a.Usage {
			used += u.Credits
			seen[u.Idem]++
		}
		if a.Used != used || a.Balance != granted-used || a.Held != 0 || a.Debt != 0 {
			t.Fatalf("account %s: balance %d used %d; its ledger: %d granted − %d spent", a.ID, a.Balance, a.Used, granted, used)
		}
	}
	for idem, res := range w.charges {
		if seen[idem] != 1 {
			t.Fatalf("acknowledged charge %s (%s) is in the ledger %d times", idem, res.ID, seen[idem])
		}
	}
	for idem, n := range seen {
		if n != 1 {
			t.Fatalf("charge %s is in the ledger %d times", idem, n)
		}
	}
	if len(w.keys) == 0 || len(w.charges) == 0 {
		t.Fatalf("the harness did too little to prove anything: %d keys, %d charges", len(w.keys), len(w.charges))
	}
}

// checkLogs: no Secure Key and no purchase secret in any log line of any run.
func (w *crashWorld) checkLogs(t *testing.T, logs []string) {
	t.Helper()
	all := strings.Join(logs, "\n")
	for _, k := range w.keys {
		if strings.Contains(all, k) || strings.Contains(all, k[len(shared.KeyPrefix):]) {
			t.Fatalf("a Secure Key (%s) is in the server's log", shared.KeyHint(k))
		}
	}
	for _, s := range w.secrets {
		if strings.Contains(all, s) {
			t.Fatalf("a purchase secret is in the server's log")
		}
	}
	if !strings.Contains(all, `"msg":"serving"`) {
		t.Fatal("the logs checked are empty")
	}
}
