package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/aispace/credits/backend/internal/browser"
	"github.com/aispace/credits/shared"
)

// The PWA against the real server in dev mode: the in-process dev chain, its funded
// wallet, the real crypto backend (quotes, watcher, websocket) and the ledger.
//
// The browser's wallet is browser.MustInjectWallet's EIP-1193 provider, announced
// through EIP-6963. It holds no key: eth_sendTransaction and personal_sign go,
// through a DevTools binding, to newSigner in this test process, which signs with
// the dev wallet's private key (from /dev/wallet) using go-ethereum and relays the
// signed transaction to /dev/rpc. That keeps secp256k1, Keccak and RLP out of JavaScript
// fixtures; everything else the page does is what it does with MetaMask.

// pwaDevWallet is GET /dev/wallet.
type pwaDevWallet struct {
	Address    string `json:"address"`
	PrivateKey string `json:"private_key"`
	RPCURL     string `json:"rpc_url"`
	ChainID    uint64 `json:"chain_id"`
}

func mustDevWallet(t *testing.T, s *RunningServer) pwaDevWallet {
	t.Helper()
	var w pwaDevWallet
	if code := get(t, s.URL+"/dev/wallet", "", &w); code != 200 || w.PrivateKey == "" {
		t.Fatalf("/dev/wallet: %d %+v", code, w)
	}
	return w
}

// newSigner is the signing half of the test wallet, for
// browser.WalletConfig.Sign: kind "tx" {from, to, value, chainId} signs a transfer
// as the dev wallet with go-ethereum and sends it to rpcURL, returning its hash;
// kind "message" {message, address} returns the personal_sign (EIP-191) signature.
func newSigner(t *testing.T, rpcURL, privateKey string) func(string, json.RawMessage) (string, error) {
	t.Helper()
	key, err := crypto.HexToECDSA(strings.TrimPrefix(privateKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	self := crypto.PubkeyToAddress(key.PublicKey)
	client, err := ethclient.Dial(rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	signTx := func(body json.RawMessage) (string, error) {
		var req struct{ From, To, Value, ChainID string }
		if err := json.Unmarshal(body, &req); err != nil {
			return "", err
		}
		if !strings.EqualFold(req.From, self.Hex()) {
			return "", fmt.Errorf("the signer holds %s, not %s", self.Hex(), req.From)
		}
		value, err := hexutil.DecodeBig(req.Value)
		if err != nil {
			return "", fmt.Errorf("value %q: %w", req.Value, err)
		}
		chainID, err := hexutil.DecodeBig(req.ChainID)
		if err != nil {
			return "", fmt.Errorf("chainId %q: %w", req.ChainID, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		nonce, err := client.PendingNonceAt(ctx, self)
		if err != nil {
			return "", err
		}
		gasPrice, err := client.SuggestGasPrice(ctx)
		if err != nil {
			return "", err
		}
		to := common.HexToAddress(req.To)
		tx, err := types.SignTx(types.NewTx(&types.LegacyTx{Nonce: nonce, GasPrice: new(big.Int).Mul(gasPrice, big.NewInt(2)), Gas: 21_000, To: &to, Value: value}),
			types.LatestSignerForChainID(chainID), key)
		if err != nil {
			return "", err
		}
		return tx.Hash().Hex(), client.SendTransaction(ctx, tx)
	}
	signMessage := func(body json.RawMessage) (string, error) {
		var req struct{ Message, Address string }
		if err := json.Unmarshal(body, &req); err != nil {
			return "", err
		}
		msg, err := hexutil.Decode(req.Message)
		if err != nil {
			msg = []byte(req.Message) // wallets take text too
		}
		sig, err := crypto.Sign(accounts.TextHash(msg), key)
		if err != nil {
			return "", err
		}
		sig[64] += 27 // personal_sign's v is 27 or 28
		return hexutil.Encode(sig), nil
	}
	return func(kind string, body json.RawMessage) (string, error) {
		if kind == "message" {
			return signMessage(body)
		}
		return signTx(body)
	}
}

// mustStartDev runs the real server in dev mode with a block every second, so the
// page has time to show each step.
func mustStartDev(t *testing.T) (*RunningServer, pwaDevWallet) {
	t.Helper()
	s := MustRunServer(t, t.TempDir(), "-dev", "-dev-block-time", "1s")
	return s, mustDevWallet(t, s)
}

func walletFor(s *RunningServer, w pwaDevWallet, signer func(string, json.RawMessage) (string, error)) browser.WalletConfig {
	return browser.WalletConfig{Address: w.Address, ChainID: "0x2105", Sign: signer, RPCURL: s.URL + "/dev/rpc"}
}

// recordStates makes the page keep every text #purchase-state shows, in order, in
// window.seenStates: the test reads the sequence after the fact, however fast the
// dev chain moved.
const recordStates = `(() => {
	window.seenStates = [];
	const note = () => {
		const e = document.getElementById("purchase-state");
		const s = e && e.textContent.trim();
		if (s && window.seenStates[window.seenStates.length - 1] !== s) window.seenStates.push(s);
	};
	new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true });
})()`

// purchaseSecretOf reads the purchase secret the page stored.
func purchaseSecretOf(t *testing.T, b *browser.Browser, id string) string {
	t.Helper()
	var secret string
	raw := browser.MustEval[string](b, `localStorage.getItem("purchase-secret:`+id+`") || ""`)
	if err := json.Unmarshal([]byte(raw), &secret); err != nil || secret == "" {
		t.Fatalf("the page did not store the purchase secret: %q", raw)
	}
	return secret
}

func getPurchaseStatus(t *testing.T, s *RunningServer, id, secret string) shared.PurchaseStatus {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/purchases/"+id, nil)
	req.Header.Set("X-Purchase-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st shared.PurchaseStatus
	json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != 200 {
		t.Fatalf("GET purchase %s: %d", id, resp.StatusCode)
	}
	return st
}

// expiryOf is when a lot added at t expires: 30 days later, rounded up to the next
// 0:00 UTC (SPEC §4).
func expiryOf(t time.Time) time.Time {
	e := t.UTC().Add(30 * 24 * time.Hour)
	if d := e.Truncate(24 * time.Hour); !d.Equal(e) {
		e = d.Add(24 * time.Hour)
	}
	return e
}

// checkConsole fails on uncaught exceptions and Go panics in the page.
func checkPageConsole(t *testing.T, b *browser.Browser) {
	t.Helper()
	for _, line := range b.ConsoleLog() {
		if strings.HasPrefix(line, "exception:") || strings.Contains(line, "panic:") {
			t.Errorf("console: %s", line)
		}
	}
}

// The whole crypto purchase in the browser: type an amount, see the credits and the
// ETH, pay from the wallet, watch the status advance live, receive the key on
// screen, log in with it, and see the balance and the lot's expiry.
func TestPWACryptoPurchaseEndToEnd(t *testing.T) {
	s, dw := mustStartDev(t)
	signer := newSigner(t, s.URL+"/dev/rpc", dw.PrivateKey)
	b := browser.MustStart(t, browser.Timeout(90*time.Second))
	b.MustInjectWallet(walletFor(s, dw, signer))

	b.MustNavigate(s.URL + "/buy")
	b.MustWaitAppReady()
	b.MustEval0(`document.getElementById("amount").select()`)
	b.MustType("#amount", "12.34")
	if got := b.MustWaitText("#credits-out", "123,400 Credits"); got != "123,400 Credits" {
		t.Errorf("credits for $12.34: got %q, want 123,400 Credits", got)
	}
	eth := b.MustWaitText("#eth-out", " ETH at $")
	t.Logf("ETH preview: %s", eth)
	b.MustScreenshotScreen("1-buy")
	b.MustBeAccessible("buy")

	b.MustClick("#pay-crypto")
	id := strings.TrimPrefix(b.MustWaitPath("/purchase/"), "/purchase/")
	secret := purchaseSecretOf(t, b, id)
	b.MustWaitVisible("#pay-wallet")
	quote := getPurchaseStatus(t, s, id, secret).Crypto
	if quote == nil {
		t.Fatal("the purchase has no crypto quote")
	}
	if got := b.MustText("#quote-eth"); got != quote.ETH+" ETH" {
		t.Errorf("quote shown: got %q, want %s ETH", got, quote.ETH)
	}
	if got := b.MustText("#quote-credits"); got != "123,400 Credits" {
		t.Errorf("credits in the review: got %q", got)
	}
	b.MustWaitText("#wallet-status", "✓")
	b.MustScreenshotScreen("2-review")
	b.MustBeAccessible("review")

	b.MustEval0(recordStates)
	b.MustClick("#pay-wallet")
	if browser.MustEval[bool](b, `(document.getElementById("purchase-state") || {}).textContent.includes("submitted")`) {
		b.MustScreenshotScreen("3-submitted") // the dev chain may have credited it already
	}
	key := b.MustWaitText("#secure-key", "aisk_")
	if err := shared.CheckKeyFormat(key); err != nil {
		t.Errorf("the key on screen is not a Secure Key: %q: %v", key, err)
	}
	paidAt := time.Now()
	b.MustWaitText("#purchase-state", "Credited: 123,400 Credits added")
	b.MustScreenshotScreen("4-credited-key")
	b.MustScreenshot("4-credited-key-full")
	b.MustBeAccessible("key reveal")

	states := browser.MustEval[[]string](b, "window.seenStates")
	t.Logf("states the page showed: %q", states)
	// The page may skip a step when the chain moves faster than a frame (a block
	// can carry a payment from seen to credited), but never goes back.
	order := []string{"Waiting for your payment", "Payment submitted", "Payment seen", "Payment confirmed", "Credited"}
	last := -1
	for _, st := range states {
		at := -1
		for i, o := range order {
			if strings.HasPrefix(st, o) {
				at = i
			}
		}
		if at < last {
			t.Errorf("states shown: %q: %q came after a later step", states, st)
		}
		last = max(last, at)
	}
	if last != len(order)-1 {
		t.Errorf("states shown: %q, want them to end credited", states)
	}
	st := getPurchaseStatus(t, s, id, secret)
	if st.Status != shared.StatusCredited || st.TxHash == "" || st.CreditsGranted != 123_400 || st.Key != "" {
		t.Errorf("the purchase after the page: %+v, want credited, 123,400 credits, its tx, and the key handed out already", st)
	}
	wallet := browser.MustEval[[]map[string]any](b, `testWallet.calls.filter(c => c.method === "eth_sendTransaction").map(c => c.params[0])`)
	if len(wallet) != 1 || wallet[0]["to"] != quote.To {
		t.Errorf("eth_sendTransaction: got %v, want one to %s", wallet, quote.To)
	} else if want, _ := new(big.Int).SetString(quote.Wei, 10); hexutil.EncodeBig(want) != wallet[0]["value"] {
		t.Errorf("value sent: got %v, want %s (%s wei)", wallet[0]["value"], hexutil.EncodeBig(want), quote.Wei)
	}

	// Log in with the key, as a buyer would who saved it.
	b.MustNavigate(s.URL + "/login")
	b.MustWaitAppReady()
	b.MustType("#secure-key-input", key)
	b.MustClick("form.login button[type=submit]")
	b.MustWaitPath("/account")
	b.MustWaitText("#balance", "123,400 Credits")
	expiry := expiryOf(paidAt).Format("2006-01-02") + " 00:00 UTC"
	if got := b.MustWaitText("#lots", "expires "); !strings.Contains(got, expiry) && !strings.Contains(got, expiryOf(paidAt.Add(-time.Minute)).Format("2006-01-02")) {
		t.Errorf("lot: got %q, want it to expire %s", got, expiry)
	}
	b.MustWaitText("#renewal", " s")
	b.MustScreenshotScreen("5-account")
	b.MustScreenshot("5-account-full")
	b.MustBeAccessible("account")

	// Lost the key? The wallet that paid signs the challenge and gets it back.
	b.MustNavigate(s.URL + "/help#recover")
	b.MustWaitAppReady()
	b.MustClick("#recover-start")
	if got := b.MustWaitText("#recovered-key", "aisk_"); got != key {
		t.Errorf("recovered key: got %q, want the purchase's key %q", got, key)
	}
	signs := browser.MustEval[[][]any](b, `testWallet.calls.filter(c => c.method === "personal_sign").map(c => c.params)`)
	if len(signs) != 1 {
		t.Errorf("personal_sign calls: got %v, want one", signs)
	}
	b.MustScreenshotScreen("6-recovered")
	checkPageConsole(t, b)
	// The key went to the page three times (reveal, login, recovery): never to a log.
	if k := keyPattern.FindString(s.Log.String()); k != "" {
		t.Errorf("a Secure Key (%s) is in the server's log", shared.KeyHint(k))
	}
}

// keyPattern matches a Secure Key anywhere in a text.
var keyPattern = regexp.MustCompile(`aisk_[0-9A-Za-z]{49}`)

// The wallet refusing (4001) at each step and a wallet on another network that does
// not know Base: the page says so in words, adds the dev chain to the wallet, and
// the buyer pays in the end.
func TestPWAWalletRefusalsAndWrongChainRecover(t *testing.T) {
	s, dw := mustStartDev(t)
	signer := newSigner(t, s.URL+"/dev/rpc", dw.PrivateKey)
	b := browser.MustStart(t, browser.Timeout(90*time.Second))
	w := walletFor(s, dw, signer)
	w.ChainID, w.KnownChains = "0x1", []string{"0x1"}
	b.MustInjectWallet(w)

	b.MustNavigate(s.URL + "/buy")
	b.MustWaitAppReady()
	b.MustEval0(`testWallet.reject.eth_requestAccounts = 1`)
	b.MustClick("#pay-crypto")
	b.MustWaitText(".buy .alert", "rejected in your wallet")
	b.MustScreenshotScreen("1-connect-rejected")
	b.MustClick("#pay-crypto")
	b.MustWaitPath("/purchase/")
	b.MustWaitText("#wallet-status", "Ethereum (chain 1)")

	b.MustEval0(`testWallet.reject.wallet_addEthereumChain = 1`)
	b.MustClick("#pay-wallet")
	b.MustWaitText("#pay-problem", "Your wallet is on Ethereum (chain 1), not Base")
	b.MustScreenshotScreen("2-wrong-chain")
	b.MustBeAccessible("wrong chain")

	b.MustEval0(`testWallet.reject.eth_sendTransaction = 1`)
	b.MustClick("#pay-wallet")
	b.MustWaitText("#pay-problem", "You rejected the payment in your wallet")
	b.MustScreenshotScreen("3-payment-rejected")
	added := browser.MustEval[map[string]any](b, `testWallet.added`)
	rpcs, _ := added["rpcUrls"].([]any)
	if added["chainId"] != "0x2105" || len(rpcs) != 1 || !strings.HasSuffix(fmt.Sprint(rpcs[0]), "/dev/rpc") {
		t.Errorf("wallet_addEthereumChain: got %v, want chain 0x2105 with the dev chain's RPC", added)
	}
	if cur, _ := added["nativeCurrency"].(map[string]any); cur["symbol"] != "ETH" {
		t.Errorf("wallet_addEthereumChain currency: got %v", added["nativeCurrency"])
	}
	b.MustWaitText("#wallet-status", "✓")

	b.MustClick("#pay-wallet")
	b.MustWaitText("#secure-key", "aisk_")
	if n := browser.MustEval[int](b, `testWallet.calls.filter(c => c.method === "eth_sendTransaction").length`); n != 2 {
		t.Errorf("eth_sendTransaction calls: got %d, want 2 (one refused, one sent)", n)
	}
	checkPageConsole(t, b)
}

// A phone with no wallet: the purchase offers MetaMask's deep link to this very
// purchase and a QR code of its EIP-681 request; the code decodes to the request,
// and the deep link, opened in a browser with a wallet (MetaMask's), restores the
// purchase from the fragment and pays it.
func TestPWANoWalletOnAPhoneOffersMetaMaskAndAQRCode(t *testing.T) {
	s, dw := mustStartDev(t)
	b := browser.MustStart(t, browser.Timeout(90*time.Second))
	b.MustNavigate(s.URL + "/buy")
	b.MustWaitAppReady()
	b.MustClick(".chip:nth-child(1)") // $5
	b.MustClick("#pay-crypto")
	id := strings.TrimPrefix(b.MustWaitPath("/purchase/"), "/purchase/")
	secret := purchaseSecretOf(t, b, id)
	b.MustWaitVisible("#open-metamask")
	quote := getPurchaseStatus(t, s, id, secret).Crypto

	public, _ := url.Parse(strings.TrimSpace(dw.RPCURL))
	wantLink := "https://metamask.app.link/dapp/" + public.Host + "/purchase/" + id + "#s=" + secret
	if got := browser.MustEval[string](b, `document.getElementById("open-metamask").href`); got != wantLink {
		t.Errorf("MetaMask link: got %s, want %s", got, wantLink)
	}
	b.MustScreenshotScreen("1-no-wallet")
	b.MustScreenshot("1-no-wallet-full")
	b.MustBeAccessible("no wallet")

	img, err := png.Decode(bytes.NewReader(b.MustScreenshotElement("2-qr", ".qr")))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not decode: %v", err)
	}
	if res.GetText() != quote.EIP681 || !strings.HasPrefix(quote.EIP681, "ethereum:"+quote.To+"@8453?value=") {
		t.Errorf("QR code: got %q, want the purchase's EIP-681 URI %q", res.GetText(), quote.EIP681)
	}

	// MetaMask's browser opens the deep link: a new profile, a wallet injected.
	mm := browser.MustStart(t, browser.Timeout(90*time.Second))
	mm.MustInjectWallet(walletFor(s, dw, newSigner(t, s.URL+"/dev/rpc", dw.PrivateKey)))
	link, _ := url.Parse(wantLink)
	mm.MustNavigate(s.URL + strings.TrimPrefix(link.Path, "/dapp/"+public.Host) + "#" + link.Fragment)
	mm.MustWaitAppReady()
	mm.MustWaitVisible("#pay-wallet")
	if got := browser.MustEval[string](mm, "location.href"); strings.Contains(got, secret) || strings.Contains(got, "#") {
		t.Errorf("the secret is still in the address bar: %s", got)
	}
	mm.MustScreenshotScreen("3-deep-link-in-wallet-browser")
	mm.MustClick("#pay-wallet")
	mm.MustWaitText("#secure-key", "aisk_")
	mm.MustScreenshotScreen("4-deep-link-credited")

	// The phone's own page follows the same purchase and learns it was paid.
	b.MustWaitText("#purchase-state", "Credited")
	checkPageConsole(t, mm)
	checkPageConsole(t, b)
}
