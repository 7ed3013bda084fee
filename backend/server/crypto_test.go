package server_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/payments"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

// CryptoServer is a server taking crypto purchases, its price an HTTP spot price the
// test moves or breaks. There is no chain: payments are journaled as the watcher would.
type CryptoServer struct {
	*TestServer
	spotPrice atomic.Value
	spotDown  atomic.Bool
	payTo     common.Address
}

func MustRunCryptoServer(t *testing.T) *CryptoServer {
	t.Helper()
	cs := &CryptoServer{payTo: common.HexToAddress("0xA7f3Ad0E69F61864092FAbBa6Cee00AF6e584689")}
	cs.spotPrice.Store("3333.33333333")
	spot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cs.spotDown.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"data":{"amount":%q,"base":"ETH","currency":"USD"}}`, cs.spotPrice.Load())
	}))
	t.Cleanup(spot.Close)
	prices := &payments.PriceService{Feed: &chain.PriceFeed{SpotURL: spot.URL}, Refresh: time.Millisecond}
	c := &server.Crypto{ChainID: 8453, ChainName: "Base", PaymentAddress: cs.payTo, Prices: prices}
	cs.TestServer = MustRunServer(t, func(o *options) { o.publicURL, o.crypto = "", c })
	return cs
}

func (cs *CryptoServer) quote(t *testing.T, usd, wallet string) (shared.PurchaseCreated, int, shared.ErrorBody) {
	t.Helper()
	var p shared.PurchaseCreated
	var e shared.ErrorBody
	body := map[string]string{"usd": usd, "method": "crypto", "wallet": wallet}
	resp := cs.Do("POST", "/api/v1/purchases", "", body, &p)
	if resp.StatusCode != http.StatusCreated {
		cs.Do("POST", "/api/v1/purchases", "", body, &e) // the error body, for the message
	}
	return p, resp.StatusCode, e
}

func TestQuotePaysExactlyItsCreditsForAnyAmount(t *testing.T) {
	cs := MustRunCryptoServer(t)
	for _, usd := range []string{"0.01", "1.00", "12.34", "333.33", "9999.99"} {
		p, code, e := cs.quote(t, usd, "")
		if code != http.StatusCreated {
			t.Fatalf("quote %s: %d %+v", usd, code, e)
		}
		wei, _ := new(big.Int).SetString(p.Crypto.Wei, 10)
		price, _ := ethmath.ParsePrice(p.Crypto.EthUSD)
		if got := ethmath.CreditsForWei(wei, price); got != p.Credits || price.String() != "3333.33333333" {
			t.Errorf("$%s: %s wei at %s buys %d credits, want exactly %d", usd, wei, price, got, p.Credits)
		}
		if less := new(big.Int).Sub(wei, big.NewInt(1)); ethmath.CreditsForWei(less, price) >= p.Credits {
			t.Errorf("$%s: one wei less still buys %d credits: the quote is not the least that pays", usd, p.Credits)
		}
		if p.Crypto.ETH != ethmath.FormatETH(wei) || !strings.HasPrefix(p.Crypto.EIP681, "ethereum:"+cs.payTo.Hex()+"@8453?value=") {
			t.Errorf("$%s: quote %+v", usd, p.Crypto)
		}
		expires, err := time.Parse(time.RFC3339, p.Crypto.ExpiresAt)
		if err != nil || time.Until(expires) < 14*time.Minute || time.Until(expires) > 15*time.Minute {
			t.Errorf("$%s: expires_at %s, want 15 minutes from now", usd, p.Crypto.ExpiresAt)
		}
	}
}

func TestQuoteValidatesTheWalletAndKeepsItLowerCase(t *testing.T) {
	cs := MustRunCryptoServer(t)
	const checksummed = "0x52908400098527886E0F7030069857D2E4169EE7" // EIP-55's own example
	for _, bad := range []string{"0x1234", "52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886e0F7030069857D2E4169EE7", "0xZZ908400098527886E0F7030069857D2E4169EE7"} {
		if _, code, e := cs.quote(t, "1.00", bad); code != http.StatusBadRequest || e.Error.Code != shared.CodeInvalid {
			t.Errorf("wallet %q: %d %+v, want 400 invalid", bad, code, e)
		}
	}
	p, code, _ := cs.quote(t, "1.00", checksummed)
	if code != http.StatusCreated {
		t.Fatalf("a checksummed wallet: %d", code)
	}
	v, err := cs.Ledger.PurchaseView(p.ID, cs.Keys.HashSecret(p.Secret))
	if err != nil || v.Wallet != strings.ToLower(checksummed) {
		t.Fatalf("stored wallet %q, want it lower case", v.Wallet)
	}
}

func TestNoFreshPriceNoQuote(t *testing.T) {
	cs := MustRunCryptoServer(t)
	cs.spotDown.Store(true)
	if _, code, e := cs.quote(t, "1.00", ""); code != http.StatusServiceUnavailable || e.Error.Code != shared.CodePriceUnavailable {
		t.Fatalf("quote without a price: %d %+v, want 503 price_unavailable", code, e)
	}
	var e shared.ErrorBody
	if resp := cs.Do("GET", "/api/v1/price", "", nil, &e); resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != shared.CodePriceUnavailable {
		t.Fatalf("GET /api/v1/price: %d %+v", resp.StatusCode, e)
	}
	cs.spotDown.Store(false)
	var p shared.Price
	if resp := cs.Do("GET", "/api/v1/price", "", nil, &p); resp.StatusCode != http.StatusOK || p.EthUSD != "3333.33333333" || p.Source != "spot" {
		t.Fatalf("GET /api/v1/price: %d %+v", resp.StatusCode, p)
	}
}

func TestSubmittedTxMustBeAHashAndComeWithTheSecret(t *testing.T) {
	cs := MustRunCryptoServer(t)
	p, _, _ := cs.quote(t, "1.00", "")
	submit := func(secret, hash string) int {
		req, _ := http.NewRequest("POST", cs.URL+"/api/v1/purchases/"+p.ID+"/tx", strings.NewReader(`{"tx_hash":"`+hash+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Purchase-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := "0x" + strings.Repeat("ab", 32)
	for _, bad := range []string{"", "0x1234", strings.Repeat("ab", 32), "0x" + strings.Repeat("zz", 32), good + "00"} {
		if code := submit(p.Secret, bad); code != http.StatusBadRequest {
			t.Errorf("tx_hash %q: %d, want 400", bad, code)
		}
	}
	if code := submit("wrong", good); code != http.StatusNotFound {
		t.Errorf("a wrong secret: %d, want 404 (as for no such purchase)", code)
	}
	if code := submit(p.Secret, strings.ToUpper(good[:2])+strings.ToUpper(good[2:])); code != http.StatusBadRequest && code != http.StatusAccepted {
		t.Errorf("upper case: %d", code)
	}
	if code := submit(p.Secret, good); code != http.StatusAccepted {
		t.Errorf("a good hash: %d, want 202", code)
	}
}

// siweField is a field of an EIP-4361 message.
var siweField = regexp.MustCompile(`(?m)^(URI|Version|Chain ID|Nonce|Issued At|Expiration Time): (.+)$`)

func TestRecoveryChallengeIsAnEIP4361MessageAndAcceptsVAsZeroOrOne(t *testing.T) {
	cs := MustRunCryptoServer(t)
	key, _ := crypto.GenerateKey()
	wallet := crypto.PubkeyToAddress(key.PublicKey)
	challenge := func(w common.Address) string {
		var c shared.RecoverChallenge
		if resp := cs.Do("POST", "/api/v1/recover/challenge", "", shared.RecoverChallengeRequest{Wallet: strings.ToLower(w.Hex())}, &c); resp.StatusCode != http.StatusOK {
			t.Fatalf("challenge: %d", resp.StatusCode)
		}
		return c.Message
	}
	msg := challenge(wallet)
	host := strings.TrimPrefix(cs.URL, "http://")
	if first, _, _ := strings.Cut(msg, "\n"); first != host+" wants you to sign in with your Ethereum account:" {
		t.Fatalf("first line %q", first)
	}
	if !strings.Contains(msg, "\n"+wallet.Hex()+"\n\n") {
		t.Fatalf("the message does not name the wallet, checksummed:\n%s", msg)
	}
	fields := map[string]string{}
	for _, m := range siweField.FindAllStringSubmatch(msg, -1) {
		fields[m[1]] = m[2]
	}
	issued, err1 := time.Parse(time.RFC3339, fields["Issued At"])
	expires, err2 := time.Parse(time.RFC3339, fields["Expiration Time"])
	if fields["URI"] != cs.URL || fields["Version"] != "1" || fields["Chain ID"] != "8453" || !regexp.MustCompile(`^[A-Za-z0-9]{8,}$`).MatchString(fields["Nonce"]) ||
		err1 != nil || err2 != nil || !expires.After(issued) {
		t.Fatalf("fields %v of\n%s", fields, msg)
	}
	if again := challenge(wallet); again == msg {
		t.Fatal("two challenges are the same: the nonce is not random")
	}
	sign := func(msg string, v byte) string {
		sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), key)
		sig[64] += v
		return hexutil.Encode(sig)
	}
	recoverKey := func(sig string) (int, map[string]any) {
		var out map[string]any
		resp := cs.Do("POST", "/api/v1/recover", "", shared.RecoverRequest{Wallet: wallet.Hex(), Signature: sig}, &out)
		return resp.StatusCode, out
	}
	// v as 0/1 is accepted: the signature is good, but this wallet never paid.
	if code, out := recoverKey(sign(challenge(wallet), 0)); code != http.StatusNotFound {
		t.Fatalf("a good signature of a wallet that never paid: %d %v, want 404", code, out)
	}
}

// recoverer is a wallet asking a server for its key back.
type recoverer struct {
	cs  *CryptoServer
	key *ecdsa.PrivateKey
}

func (r recoverer) wallet() common.Address { return crypto.PubkeyToAddress(r.key.PublicKey) }

func (r recoverer) challenge(t *testing.T) string {
	t.Helper()
	var c shared.RecoverChallenge
	if resp := r.cs.Do("POST", "/api/v1/recover/challenge", "", shared.RecoverChallengeRequest{Wallet: r.wallet().Hex()}, &c); resp.StatusCode != http.StatusOK {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	return c.Message
}

func (r recoverer) recover(t *testing.T, signer *ecdsa.PrivateKey, msg string) (int, map[string]any) {
	t.Helper()
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), signer)
	sig[64] += 27
	var out map[string]any
	resp := r.cs.Do("POST", "/api/v1/recover", "", shared.RecoverRequest{Wallet: r.wallet().Hex(), Signature: hexutil.Encode(sig)}, &out)
	return resp.StatusCode, out
}

func TestRecoveryByWalletSignatureClaimsItsUnclaimedPayment(t *testing.T) {
	cs := MustRunCryptoServer(t)
	key, _ := crypto.GenerateKey()
	r := recoverer{cs, key}
	wallet := r.wallet()
	// A payment without a quote, confirmed: the wallet's signature claims it.
	price := ethmath.PriceE8(315_012_000_000)
	wei := ethmath.WeiForCredits(25_000, price)
	_, err := cs.Ledger.ApplyChainStep(context.Background(), ledger.ChainStep{Head: 10, Blocks: []ledger.ChainBlock{{Number: 10, Hash: "0xb10", Time: time.Now(),
		Payments: []ledger.ChainPayment{{Tx: "0x" + strings.Repeat("01", 32), From: strings.ToLower(wallet.Hex()), Wei: wei.String()}}}}},
		ledger.ChainParams{ChainID: 8453, PriceE8: int64(price), NewKey: func(a string) ledger.KeyOp {
			k := cs.Keys.NewKey()
			return ledger.KeyOp{Hash: cs.Keys.Hash(k), Sealed: cs.Keys.Seal(k, a), Hint: shared.KeyHint(k)}
		}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.GenerateKey()
	if code, _ := r.recover(t, other, r.challenge(t)); code != http.StatusUnauthorized {
		t.Fatalf("another wallet's signature: %d, want 401", code)
	}
	code, out := r.recover(t, key, r.challenge(t))
	if code != http.StatusOK || out["credits_claimed"] != float64(25_000) {
		t.Fatalf("recover: %d %v", code, out)
	}
	if got := cs.balance(out["key"].(string)); got != 25_000 {
		t.Fatalf("balance %d, want 25000", got)
	}
}

func (cs *CryptoServer) balance(key string) int64 {
	var a shared.Account
	cs.Do("GET", "/api/v1/account", key, nil, &a)
	return a.Balance
}

func TestRecoveryIsRateLimitedPerClient(t *testing.T) {
	cs := MustRunCryptoServer(t)
	key, _ := crypto.GenerateKey()
	r := recoverer{cs, key}
	for i := 0; ; i++ {
		var e shared.ErrorBody
		resp := cs.Do("POST", "/api/v1/recover", "", shared.RecoverRequest{Wallet: r.wallet().Hex(), Signature: "0x" + strings.Repeat("11", 65)}, &e)
		if resp.StatusCode == http.StatusTooManyRequests {
			if e.Error.Code != shared.CodeRateLimited || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 %+v with Retry-After %q", e, resp.Header.Get("Retry-After"))
			}
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || i > 20 {
			t.Fatalf("attempt %d: %d %+v, want 401 until a 429", i, resp.StatusCode, e)
		}
	}
	// Challenges share the budget: a guesser cannot get fresh ones either.
	if resp := cs.Do("POST", "/api/v1/recover/challenge", "", shared.RecoverChallengeRequest{Wallet: r.wallet().Hex()}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("challenge after the attempts: %d, want 429", resp.StatusCode)
	}
}
