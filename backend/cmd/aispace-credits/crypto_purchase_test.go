package main

import (
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

// cryptoScenario is one rule of crypto purchases, checked over HTTP and the
// websocket against a server watching a real chain.
type cryptoScenario struct {
	name string
	run  func(t *testing.T, s *cryptoServer)
}

// cryptoScenarios hold on any chain; each has its own buyers, so they run side by
// side on one server.
var cryptoScenarios = []cryptoScenario{
	{"PayingTheExactQuoteBuysTheQuotedCreditsAndDeliversTheKeyOnceOverTheWebsocket", payExactQuote},
	{"UnderpayingBuysFewerCredits", underpay},
	{"OverpayingBuysMoreCreditsMatchedBySenderWithoutASubmittedHash", overpay},
	{"OneTransactionSubmittedForTwoPurchasesPaysOnlyOne", oneTxTwoPurchases},
	{"PaymentFromAWalletWithNoQuoteIsClaimedByWalletSignature", unclaimedThenRecovered},
}

// testCryptoPurchases runs the scenarios on ch, and the one that needs a server of its
// own (a short quote window).
func testCryptoPurchases(t *testing.T, ch testChain, more ...cryptoScenario) {
	s := startCryptoServer(t, ch)
	for _, sc := range append(cryptoScenarios, more...) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, s)
		})
	}
	t.Run("PaidAfterTheQuoteExpiredIsCreditedAtThePriceOfConfirmation", func(t *testing.T) {
		t.Parallel()
		paidAfterExpiry(t, startCryptoServer(t, ch, "-quote-window", "3s"))
	})
}

func TestCryptoPurchasesOnTheDevChain(t *testing.T) {
	testCryptoPurchases(t, startDevChain(t), cryptoScenario{"CrossOriginWebsocketIsRefused", crossOriginRefused})
}

func TestCryptoPurchasesOnGeth(t *testing.T) {
	g := startGeth(t)
	testCryptoPurchases(t, g, cryptoScenario{"InternalTransferThroughAContractIsFoundByTrace", func(t *testing.T, s *cryptoServer) {
		internalTransfer(t, s, g)
	}})
}

func payExactQuote(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p := s.quote(t, "12.34", b.addr)
	// The quote: paying exactly its wei buys exactly its credits.
	wei, price := weiOf(t, p), priceOf(t, p)
	if p.Credits != 123_400 || ethmath.CreditsForWei(wei, price) != p.Credits {
		t.Fatalf("quote of %d credits: %s wei at %s buys %d", p.Credits, wei, price, ethmath.CreditsForWei(wei, price))
	}
	if req, err := chain.ParseEIP681(p.Crypto.EIP681); err != nil || req.To != s.payTo || req.ChainID != s.ch.ChainID() || req.Value.Cmp(wei) != 0 {
		t.Fatalf("EIP-681 %q: %+v %v", p.Crypto.EIP681, req, err)
	}
	if p.Crypto.To != s.payTo.Hex() || p.Crypto.ChainID != s.ch.ChainID() {
		t.Fatalf("quote pays %s on %d, want %s on %d", p.Crypto.To, p.Crypto.ChainID, s.payTo.Hex(), s.ch.ChainID())
	}
	// The deep link carries the secret in the fragment, never in a query.
	if link := p.Crypto.MetaMaskLink; !strings.HasSuffix(link, "/purchase/"+p.ID+"#s="+p.Secret) || strings.Contains(link, "?") {
		t.Fatalf("metamask_link %q", link)
	}

	ws := s.dial(t, p.ID, p.Secret)
	ws.waitFor(t, "the price", func(m shared.WSMessage) bool { return m.Type == "price" && m.EthUSD != "" })
	ws.waitStatus(t, shared.StatusPending)
	tx := b.sign(t, s.ch, s.payTo, wei, nil)
	if code := s.submit(t, p, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit: %d, want 202", code)
	}
	ws.waitStatus(t, shared.StatusSubmitted)
	send(t, s.ch, tx)
	key := ws.waitFor(t, "the key", func(m shared.WSMessage) bool { return m.Type == "key" }).Key
	if err := shared.CheckKeyFormat(key); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	credited := ws.waitStatus(t, shared.StatusCredited)
	if credited.CreditsGranted != p.Credits || credited.Confirmations < 1 || credited.TxHash != strings.ToLower(tx.Hash().Hex()) {
		t.Fatalf("credited message %+v", credited)
	}
	checkAdvances(t, ws.statuses())
	if got := s.balance(t, key); got != p.Credits {
		t.Fatalf("balance %d, want %d", got, p.Credits)
	}
	// Once: GET shows the purchase credited without the key, and another socket for
	// it is not given the key either.
	if st := s.status(t, p); st.Status != shared.StatusCredited || st.Key != "" || !st.KeyDelivered {
		t.Fatalf("GET after the key went over the websocket: %+v", st)
	}
	ws2 := s.dial(t, p.ID, p.Secret)
	ws2.waitStatus(t, shared.StatusCredited)
	time.Sleep(200 * time.Millisecond)
	if len(ws.keys()) != 1 || len(ws2.keys()) != 0 {
		t.Fatalf("keys sent: %d to the first socket, %d to the second; want 1 and 0", len(ws.keys()), len(ws2.keys()))
	}
}

func underpay(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p := s.quote(t, "10.00", b.addr)
	half := new(big.Int).Div(weiOf(t, p), big.NewInt(2))
	tx := b.sign(t, s.ch, s.payTo, half, nil)
	if code := s.submit(t, p, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit: %d", code)
	}
	send(t, s.ch, tx)
	st := s.waitStatus(t, p, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited })
	want := ethmath.CreditsForWei(half, priceOf(t, p))
	if st.CreditsGranted != want || want >= p.Credits || want < p.Credits/2-1 {
		t.Fatalf("underpaid: credited %d, want %d (for exactly what arrived)", st.CreditsGranted, want)
	}
	if st.Key == "" || s.balance(t, st.Key) != want {
		t.Fatalf("underpaid: key %q", st.Key)
	}
}

func overpay(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p := s.quote(t, "10.00", b.addr)
	triple := new(big.Int).Mul(weiOf(t, p), big.NewInt(3))
	tx := b.pay(t, s.ch, s.payTo, triple) // no hash submitted: matched by sender and open quote
	st := s.waitStatus(t, p, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited })
	if want := ethmath.CreditsForWei(triple, priceOf(t, p)); st.CreditsGranted != want || want != 3*p.Credits {
		t.Fatalf("overpaid: credited %d, want %d", st.CreditsGranted, want)
	}
	if st.TxHash != strings.ToLower(tx.Hash().Hex()) || s.balance(t, st.Key) != 3*p.Credits {
		t.Fatalf("overpaid: %+v", st)
	}
}

func oneTxTwoPurchases(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p1, p2 := s.quote(t, "1.00", b.addr), s.quote(t, "1.00", b.addr)
	tx := b.sign(t, s.ch, s.payTo, weiOf(t, p1), nil)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, p := range []shared.PurchaseCreated{p1, p2} {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = s.submit(t, p, tx.Hash()) }()
	}
	wg.Wait()
	if !(codes[0] == http.StatusAccepted && codes[1] == http.StatusConflict) && !(codes[0] == http.StatusConflict && codes[1] == http.StatusAccepted) {
		t.Fatalf("the same transaction submitted to two purchases at once: %v, want one 202 and one 409", codes)
	}
	winner, loser := p1, p2
	if codes[1] == http.StatusAccepted {
		winner, loser = p2, p1
	}
	send(t, s.ch, tx)
	s.waitStatus(t, winner, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited })
	if st := s.status(t, loser); st.Status != shared.StatusPending || st.CreditsGranted != 0 {
		t.Fatalf("the other purchase: %+v, want pending and nothing granted", st)
	}
	var e shared.ErrorBody
	if code := api(t, "POST", s.URL+"/api/v1/purchases/"+loser.ID+"/tx", loser.Secret, map[string]string{"tx_hash": tx.Hash().Hex()}, &e); code != http.StatusConflict || e.Error.Code != shared.CodeConflict {
		t.Fatalf("submitting the paid transaction again to the other purchase: %d %+v, want 409 conflict", code, e)
	}
}

func unclaimedThenRecovered(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	var pr shared.Price
	if code := api(t, "GET", s.URL+"/api/v1/price", "", nil, &pr); code != http.StatusOK {
		t.Fatalf("price: %d", code)
	}
	price, _ := ethmath.ParsePrice(pr.EthUSD)
	tx := b.pay(t, s.ch, s.payTo, ethmath.WeiForCredits(50_000, price)) // no quote, no purchase
	h := strings.ToLower(tx.Hash().Hex())
	// Support sees it as unclaimed once it is confirmed and priced.
	var priced int64
	deadline := time.Now().Add(30 * time.Second)
	for priced == 0 {
		var u []struct {
			Tx      string
			PriceE8 int64
		}
		api(t, "GET", s.admin+"/admin/v1/unclaimed", "", nil, &u)
		for _, p := range u {
			if p.Tx == h {
				priced = p.PriceE8
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the payment is not among the unclaimed ones: %+v", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
	challenge := func() string {
		var c shared.RecoverChallenge
		if code := api(t, "POST", s.URL+"/api/v1/recover/challenge", "", shared.RecoverChallengeRequest{Wallet: b.addr.Hex()}, &c); code != http.StatusOK {
			t.Fatalf("challenge: %d", code)
		}
		return c.Message
	}
	// A signature by another wallet is refused, and uses the challenge up.
	other, _ := crypto.GenerateKey()
	msg := challenge()
	if !strings.Contains(msg, "wants you to sign in with your Ethereum account:\n"+b.addr.Hex()) || !strings.Contains(msg, "Nonce: ") {
		t.Fatalf("challenge %q is not an EIP-4361 message for the wallet", msg)
	}
	var e shared.ErrorBody
	if code := api(t, "POST", s.URL+"/api/v1/recover", "", shared.RecoverRequest{Wallet: b.addr.Hex(), Signature: buyer{key: other}.personalSign(t, msg)}, &e); code != http.StatusUnauthorized {
		t.Fatalf("another wallet's signature: %d %+v, want 401", code, e)
	}
	var got struct {
		Key            string `json:"key"`
		CreditsClaimed int64  `json:"credits_claimed"`
	}
	if code := api(t, "POST", s.URL+"/api/v1/recover", "", shared.RecoverRequest{Wallet: b.addr.Hex(), Signature: b.personalSign(t, msg)}, &got); code != http.StatusUnauthorized {
		t.Fatalf("the right signature of a used challenge: %d, want 401", code)
	}
	msg = challenge()
	if code := api(t, "POST", s.URL+"/api/v1/recover", "", shared.RecoverRequest{Wallet: b.addr.Hex(), Signature: b.personalSign(t, msg)}, &got); code != http.StatusOK {
		t.Fatalf("recover: %d", code)
	}
	want := ethmath.CreditsForWei(ethmath.WeiForCredits(50_000, price), ethmath.PriceE8(priced))
	if got.CreditsClaimed != want || s.balance(t, got.Key) != want {
		t.Fatalf("recovered: claimed %d (balance %d), want %d at the price of confirmation", got.CreditsClaimed, s.balance(t, got.Key), want)
	}
}

func paidAfterExpiry(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p := s.quote(t, "10.00", b.addr)
	expires, err := time.Parse(time.RFC3339, p.Crypto.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(expires) + 1500*time.Millisecond)
	// ETH doubled meanwhile.
	doubled := ethmath.FormatPrice(2 * priceOf(t, p))
	s.ch.SetPrice(t, doubled)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pr shared.Price
		if api(t, "GET", s.URL+"/api/v1/price", "", nil, &pr); pr.EthUSD == doubled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's price is not %s within 20s", doubled)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wei := weiOf(t, p)
	tx := b.sign(t, s.ch, s.payTo, wei, nil)
	if code := s.submit(t, p, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit after expiry: %d", code)
	}
	send(t, s.ch, tx)
	st := s.waitStatus(t, p, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited })
	if want := ethmath.CreditsForWei(wei, 2*priceOf(t, p)); st.CreditsGranted != want {
		t.Fatalf("paid after expiry: credited %d, want %d (at the doubled price of confirmation, not the quote's %d)", st.CreditsGranted, want, p.Credits)
	}
}

func crossOriginRefused(t *testing.T, s *cryptoServer) {
	b := newBuyer(t, s.ch)
	p := s.quote(t, "1.00", b.addr)
	url := strings.Replace(s.URL, "http", "ws", 1) + "/api/v1/ws?purchase=" + p.ID
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a websocket from another origin: %v %v, want 403", err, resp)
	}
	// The right origin with a wrong secret is closed with a policy violation.
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {s.origin}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteJSON(shared.WSHello{Secret: "not-the-secret"})
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("wrong secret: %v, want a close with code %d", err, websocket.ClosePolicyViolation)
	}
}

// internalTransfer pays through a contract (a smart-contract wallet's way): the
// payment is an internal call, found by tracing the submitted hash; also when the
// hash comes only after the watcher has passed its block.
func internalTransfer(t *testing.T, s *cryptoServer, g *gethChain) {
	b := newBuyer(t, s.ch)
	fwd := g.DeployForwarder(t, s.payTo)
	p := s.quote(t, "5.00", b.addr)
	tx := b.sign(t, s.ch, fwd, weiOf(t, p), gethdev.ForwarderPayInTwo)
	if code := s.submit(t, p, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit: %d", code)
	}
	send(t, s.ch, tx)
	first := waitMined(t, s.ch, tx.Hash())
	if st := s.waitStatus(t, p, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited }); st.CreditsGranted != p.Credits {
		t.Fatalf("internal transfer: credited %d, want %d", st.CreditsGranted, p.Credits)
	}

	// The hash submitted late: the watcher has scanned its block without tracing it.
	p2 := s.quote(t, "2.00", b.addr)
	tx2 := b.sign(t, s.ch, fwd, weiOf(t, p2), gethdev.ForwarderPay)
	send(t, s.ch, tx2)
	block := waitMined(t, s.ch, tx2.Hash()).BlockNumber.Uint64()
	s.waitStatus(t, p, "past the late payment's block", func(st shared.PurchaseStatus) bool {
		return uint64(st.Confirmations) >= block-first.BlockNumber.Uint64()+1
	})
	if st := s.status(t, p2); st.Status != shared.StatusPending {
		t.Fatalf("before its hash came: %+v, want pending (an internal transfer is found by its hash only)", st)
	}
	if code := s.submit(t, p2, tx2.Hash()); code != http.StatusAccepted {
		t.Fatalf("late submit: %d", code)
	}
	if st := s.waitStatus(t, p2, "credited", func(st shared.PurchaseStatus) bool { return st.Status == shared.StatusCredited }); st.CreditsGranted != p2.Credits {
		t.Fatalf("late internal transfer: credited %d, want %d", st.CreditsGranted, p2.Credits)
	}
	if !strings.Contains(s.Log.String(), "found an internal transfer submitted after its block was scanned") {
		t.Fatal("the late transfer was not found by the late check")
	}
}

// waitChainClock waits until the dev chain's head is not ahead of the wall clock
// (blocks sealed faster than one a second run ahead of it).
func waitChainClock(t *testing.T, ch *devChain) {
	t.Helper()
	for {
		h, err := ch.Eth().HeaderByNumber(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if int64(h.Time) < time.Now().Unix() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStalePriceRefusesQuotes(t *testing.T) {
	ch := startDevChain(t)
	waitChainClock(t, ch)
	s := startCryptoServer(t, ch, "-price-heartbeat", "2s", "-price-stale-margin", "2s")
	ch.SetPrice(t, "3000.00")
	b := newBuyer(t, ch)
	try := func() (int, shared.ErrorBody) {
		var e shared.ErrorBody
		return api(t, "POST", s.URL+"/api/v1/purchases", "", map[string]string{"usd": "1.00", "method": "crypto", "wallet": b.addr.Hex()}, &e), e
	}
	if code, e := try(); code != http.StatusCreated {
		t.Fatalf("quote on a fresh price: %d %+v", code, e)
	}
	// No new round: the feed goes stale. (Quotes are rate-limited: poll the price.)
	waitPrice := func(ok func(code int, p shared.Price) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var p shared.Price
			if code := api(t, "GET", s.URL+"/api/v1/price", "", nil, &p); ok(code, p) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the price did not change as expected within 20s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitPrice(func(code int, _ shared.Price) bool { return code == http.StatusServiceUnavailable })
	if code, e := try(); code != http.StatusServiceUnavailable || e.Error.Code != shared.CodePriceUnavailable {
		t.Fatalf("quote on a stale price: %d %+v, want 503 price_unavailable", code, e)
	}
	// A new round: quotes again, at the new price.
	ch.SetPrice(t, "3100.00")
	waitPrice(func(code int, p shared.Price) bool { return code == http.StatusOK && p.EthUSD == "3100.00" })
	var p shared.PurchaseCreated
	if code := api(t, "POST", s.URL+"/api/v1/purchases", "", map[string]string{"usd": "1.00", "method": "crypto"}, &p); code != http.StatusCreated || p.Crypto.EthUSD != "3100.00" {
		t.Fatalf("after a new round: %d %+v", code, p)
	}
}

// reorgSetup pays a purchase on the dev chain and returns it with its key, the hash of
// the block before the payment's (to fork from), the page's socket and a function
// that sends the same signed transaction again.
func reorgSetup(t *testing.T, s *cryptoServer, ch *devChain) (p shared.PurchaseCreated, key string, parent common.Hash, ws *pageSocket, resend func()) {
	b := newBuyer(t, ch)
	p = s.quote(t, "3.00", b.addr)
	ws = s.dial(t, p.ID, p.Secret)
	tx := b.sign(t, ch, s.payTo, weiOf(t, p), nil)
	s.submit(t, p, tx.Hash())
	send(t, ch, tx)
	r := waitMined(t, ch, tx.Hash())
	before, err := ch.Eth().HeaderByNumber(t.Context(), new(big.Int).Sub(r.BlockNumber, big.NewInt(1)))
	if err != nil {
		t.Fatal(err)
	}
	key = ws.waitFor(t, "the key", func(m shared.WSMessage) bool { return m.Type == "key" }).Key
	if got := s.balance(t, key); got != p.Credits {
		t.Fatalf("balance %d, want %d", got, p.Credits)
	}
	return p, key, before.Hash(), ws, func() { send(t, ch, tx) }
}

func TestReorgsOnTheDevChain(t *testing.T) {
	ch := startDevChain(t)
	s := startCryptoServer(t, ch, "-reorg-grace", "3")

	t.Run("ReorgThatDropsThePaymentsBlockThenReincludesItCreditsOnce", func(t *testing.T) {
		p, key, parent, ws, resend := reorgSetup(t, s, ch)
		mark := ws.mark()
		if err := ch.Fork(parent); err != nil {
			t.Fatal(err)
		}
		ch.Commit()
		ch.Commit() // the new branch is longer: the watcher sees the reorg
		ws.waitFrom(t, mark, "the payment back to pending", func(m shared.WSMessage) bool {
			return m.Type == "purchase" && m.Status == shared.StatusSubmitted && m.Confirmations == 0
		})
		mark = ws.mark()
		resend() // the same signed transaction comes back, in a new block
		ws.waitFrom(t, mark, "credited again", func(m shared.WSMessage) bool { return m.Type == "purchase" && m.Status == shared.StatusCredited })
		if got := s.balance(t, key); got != p.Credits {
			t.Fatalf("balance %d after the transaction came back, want %d (credited once)", got, p.Credits)
		}
		if len(ws.keys()) != 1 {
			t.Fatalf("%d keys sent, want 1", len(ws.keys()))
		}
	})

	t.Run("ReorgThatDropsThePaymentForGoodClawsItBackAndAuditsIt", func(t *testing.T) {
		p, key, parent, ws, _ := reorgSetup(t, s, ch)
		mark := ws.mark()
		if err := ch.Fork(parent); err != nil {
			t.Fatal(err)
		}
		ch.Commit()
		ch.Commit()
		ws.waitFrom(t, mark, "the payment back to pending", func(m shared.WSMessage) bool { return m.Type == "purchase" && m.Status == shared.StatusSubmitted })
		for range 4 { // past -reorg-grace
			ch.Commit()
		}
		failed := ws.waitFrom(t, mark, "the purchase failed", func(m shared.WSMessage) bool { return m.Type == "purchase" && m.Status == shared.StatusFailed })
		if got := s.balance(t, key); got != 0 {
			t.Fatalf("balance %d after the clawback, want 0 (%d clawed back)", got, p.Credits)
		}
		var audit []struct{ Who, Why, Action string }
		api(t, "GET", s.admin+"/admin/v1/audit", "", nil, &audit)
		found := false
		for _, a := range audit {
			found = found || (a.Action == "clawback" && strings.Contains(a.Why, failed.TxHash))
		}
		if !found {
			t.Fatalf("the clawback of %s is not in the audit trail: %+v", failed.TxHash, audit)
		}
		if !strings.Contains(s.Log.String(), "clawed back") {
			t.Fatal("the clawback was not logged for support")
		}
	})
}
