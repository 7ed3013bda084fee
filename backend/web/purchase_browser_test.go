package web_test

import (
	"bytes"
	"image"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/aispace/credits/backend/internal/browser"
	"github.com/aispace/credits/shared"
)

// These tests put a purchase through every state the page shows, against fakeAPI,
// and save a screenshot of each at 390×844 (testdata/artifacts/<Test>/). The
// whole purchase against the real server and dev chain is
// backend/cmd/aispace-credits/pwa_purchase_test.go.

func testWallet(srvURL string) browser.WalletConfig {
	return browser.WalletConfig{
		Address: fakeAccount, ChainID: "0x2105",
		SignerURL: srvURL + fakeSignURL, RPCURL: srvURL + "/dev/rpc",
	}
}

func TestCryptoPurchaseShowsEveryStateOnAPhone(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustInjectWallet(testWallet(srv.URL))

	b.MustNavigate(srv.URL + "/buy?usd=25")
	b.MustWaitAppReady()
	if got := b.MustWaitText("#credits-out", "250,000 Credits"); got != "250,000 Credits" {
		t.Errorf("credits for the deep-linked $25: got %q", got)
	}
	b.MustWaitText("#eth-out", "ETH at $3150.12 per ETH")
	b.MustScreenshotScreen("1-buy")
	b.MustBeAccessible("buy")

	b.MustClick("#pay-crypto")
	path := b.MustWaitPath("/purchase/")
	id, _ := api.only(t)
	if path != "/purchase/"+id {
		t.Errorf("path: got %s, want /purchase/%s", path, id)
	}
	b.MustWaitVisible("#pay-wallet")
	if got := b.MustText("#quote-eth"); got != "0.003174 ETH" {
		t.Errorf("quote: got %q", got)
	}
	b.MustWaitText("#wallet-status", "on Base ✓")
	b.MustScreenshotScreen("2-review")
	b.MustScreenshot("2-review-full")
	b.MustBeAccessible("review")

	b.MustClick("#pay-wallet")
	b.MustWaitText("#purchase-state", "Payment submitted")
	api.mu.Lock()
	txs := append([]string(nil), api.txs...)
	api.mu.Unlock()
	if len(txs) != 1 || txs[0] != fakeTxHash {
		t.Errorf("hashes handed to the backend: got %q, want [%s]", txs, fakeTxHash)
	}
	b.MustWaitText("#tx-hash", "0x5c504ed4")
	b.MustWaitVisible(".live")
	b.MustScreenshotScreen("3-submitted")

	api.set(id, func(s *shared.PurchaseStatus) { s.Status = shared.StatusSeen })
	b.MustWaitText("#purchase-state", "Payment seen on Base")
	b.MustScreenshotScreen("4-seen")

	api.set(id, func(s *shared.PurchaseStatus) { s.Status, s.Confirmations = shared.StatusConfirmed, 1 })
	b.MustWaitText("#purchase-state", "Payment confirmed")
	b.MustScreenshotScreen("5-confirmed")

	api.set(id, func(s *shared.PurchaseStatus) {
		s.Status, s.Confirmations, s.CreditsGranted = shared.StatusCredited, 1, 250_000
	})
	api.pushKey(id)
	b.MustWaitText("#secure-key", fakeKey)
	b.MustWaitText("#purchase-state", "Credited: 250,000 Credits added")
	b.MustScreenshotScreen("6-credited-key")
	b.MustScreenshot("6-credited-key-full")
	b.MustBeAccessible("key reveal")

	// The key is shown once: a reload says so, and sends the buyer to log in.
	b.MustReload()
	b.MustWaitAppReady()
	b.MustWaitText("#done", "shown once already")
	if n := browser.MustEval[int](b, `document.querySelectorAll("#secure-key").length`); n != 0 {
		t.Error("the key is shown again after a reload")
	}
	b.MustScreenshotScreen("7-key-shown-before")
	checkConsole(t, b)
}

// The key arrives by polling too, when there is no websocket message for it, and
// "Log in and see my Credits" opens the account with it.
func TestKeyRevealLogsInToTheAccount(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustInjectWallet(testWallet(srv.URL))
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()
	b.MustClick("#pay-crypto")
	b.MustWaitPath("/purchase/")
	id, _ := api.only(t)
	b.MustWaitVisible("#pay-wallet")
	b.MustClick("#pay-wallet")
	b.MustWaitText("#purchase-state", "submitted")
	api.set(id, func(s *shared.PurchaseStatus) { s.Status, s.CreditsGranted = shared.StatusCredited, 100_000 })
	b.MustWaitText("#secure-key", fakeKey)

	b.MustClick("#key-saved")
	b.MustClick("#continue-account")
	b.MustWaitPath("/account")
	b.MustWaitText("#balance", "99,546 Credits")
	b.MustWaitText("#lots", "expires 2026-04-01")
	b.MustWaitText("#renewal", " s")
	b.MustWaitVisible("#usage")
	b.MustScreenshotScreen("account")
	b.MustScreenshot("account-full")
	b.MustBeAccessible("account")

	b.MustClick("#view-key")
	b.MustWaitText("#account-key", fakeKey)
	b.MustClick("#rotate-key")
	b.MustWaitVisible("#rotate-confirm")
	b.MustScreenshotScreen("account-rotate-confirm")
	b.MustClick("#rotate-confirm")
	b.MustWaitText("#account-key", "aisk_9Rb3")
	b.MustScreenshotScreen("account-rotated")

	b.MustType("#daily-cap", "5000")
	b.MustClick(".cap button[type=submit]")
	b.MustWaitText(".cap .ok", "at most 5,000 Credits a day")

	b.MustClick("#export-csv")
	b.MustWaitFor("the export to finish", `document.querySelector("#export-csv").disabled ? "busy" : ""`)
	if n := browser.MustEval[int](b, `document.querySelectorAll("#usage ~ .alert, .alert").length`); n != 0 {
		t.Errorf("an error is shown after the CSV export: %s", b.MustText(".alert"))
	}
	checkConsole(t, b)
}

// On a phone with no wallet, the purchase offers MetaMask's deep link and a QR code
// of the EIP-681 request; the deep link opens the purchase with its secret in the
// fragment, which the page keeps and takes out of the address bar.
func TestNoWalletOffersMetaMaskAndAQRCode(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()
	b.MustWaitVisible("#open-in-metamask")
	b.MustClick("#pay-crypto")
	b.MustWaitPath("/purchase/")
	id, secret := api.only(t)
	b.MustWaitVisible("#open-metamask")
	href := browser.MustEval[string](b, `document.querySelector("#open-metamask").href`)
	wantLink := "https://metamask.app.link/dapp/" + strings.TrimPrefix(srv.URL, "http://") + "/purchase/" + id + "#s=" + secret
	if href != wantLink {
		t.Errorf("MetaMask link: got %s, want %s", href, wantLink)
	}
	b.MustScreenshotScreen("1-no-wallet")
	b.MustScreenshot("1-no-wallet-full")
	b.MustBeAccessible("no wallet")

	got := decodeQR(t, b.MustScreenshotElement("qr", ".qr"))
	api.mu.Lock()
	want := api.purchases[id].status.Crypto.EIP681
	api.mu.Unlock()
	if got != want {
		t.Errorf("QR code: got %q, want %q", got, want)
	}

	// Paid from another wallet: the hash typed in goes to the backend.
	b.MustType("#manual-tx", "0x1234")
	b.MustClick(".manual-tx button")
	b.MustWaitText(".manual-tx .alert", "64 hex digits")
	b.MustEval0(`document.querySelector("#manual-tx").value = ""`)
	b.MustType("#manual-tx", fakeTxHash)
	b.MustClick(".manual-tx button")
	b.MustWaitText("#purchase-state", "Payment submitted")

	// The deep link, opened in another browser (MetaMask's).
	mm := browser.MustStart(t, browser.Timeout(60*time.Second))
	u, _ := url.Parse(wantLink)
	mm.MustNavigate(srv.URL + strings.TrimPrefix(u.Path, "/dapp/"+strings.TrimPrefix(srv.URL, "http://")) + "#" + u.Fragment)
	mm.MustWaitAppReady()
	mm.MustWaitText("#purchase-state", "Payment submitted")
	if got := browser.MustEval[string](mm, "location.href"); strings.Contains(got, "#") || strings.Contains(got, secret) {
		t.Errorf("the address bar still shows the secret: %s", got)
	}
	if got := browser.MustEval[string](mm, `localStorage.getItem("purchase-secret:`+id+`")`); got != `"`+secret+`"` {
		t.Errorf("stored secret: got %s", got)
	}
	mm.MustScreenshotScreen("2-deep-link-opened")
	checkConsole(t, b)
}

func decodeQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	return decodeQRImage(t, img)
}

func decodeQRImage(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

// The wallet refusing (4001) and a wallet on the wrong network are said in words,
// and the buyer recovers from both with the same button.
func TestWalletRefusalsAndWrongNetworkAreExplained(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	w := testWallet(srv.URL)
	w.ChainID = "0x1" // on Ethereum; Base unknown to it: the page must add it
	b.MustInjectWallet(w)
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()

	// Refused connection on the Buy page.
	b.MustEval0(`testWallet.reject.eth_requestAccounts = 1`)
	b.MustClick("#pay-crypto")
	b.MustWaitText(".buy .alert", "rejected in your wallet")
	b.MustScreenshotScreen("1-connect-rejected")
	b.MustClick("#pay-crypto")
	b.MustWaitPath("/purchase/")
	b.MustWaitText("#wallet-status", "Ethereum (chain 1)")

	// Refused network switch.
	b.MustEval0(`testWallet.reject.wallet_switchEthereumChain = 1`)
	b.MustClick("#pay-wallet")
	b.MustWaitText("#pay-problem", "Your wallet is on Ethereum (chain 1), not Base (chain 8453)")
	b.MustWaitText("#pay-wallet", "Switch to Base and pay")
	b.MustScreenshotScreen("2-wrong-network")
	b.MustBeAccessible("wrong network")

	// Refused payment, after the switch (the wallet learns Base from the page).
	b.MustEval0(`testWallet.reject.eth_sendTransaction = 1`)
	b.MustClick("#pay-wallet")
	b.MustWaitText("#pay-problem", "You rejected the payment in your wallet")
	added := browser.MustEval[map[string]any](b, `testWallet.added`)
	rpcs, _ := added["rpcUrls"].([]any)
	if added["chainId"] != "0x2105" || len(rpcs) != 1 || rpcs[0] != srv.URL+"/dev/rpc" {
		t.Errorf("wallet_addEthereumChain: got %v, want chain 0x2105 with RPC %s/dev/rpc", added, srv.URL)
	}
	b.MustWaitText("#wallet-status", "on Base ✓")
	b.MustScreenshotScreen("3-payment-rejected")

	// The user moves the wallet away by hand; the page follows, then pays.
	b.MustEval0(`testWallet.setChain("0x1")`)
	b.MustWaitText("#wallet-status", "Ethereum (chain 1)")
	b.MustClick("#pay-wallet")
	b.MustWaitText("#purchase-state", "Payment submitted")
	id, _ := api.only(t)
	api.mu.Lock()
	got := api.purchases[id].status.TxHash
	api.mu.Unlock()
	if got != fakeTxHash {
		t.Errorf("tx handed over: got %q", got)
	}
	checkConsole(t, b)
}

// An expired quote and a failed purchase say what happened and offer a new start.
func TestExpiredAndFailedPurchases(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustNavigate(srv.URL + "/buy?usd=12.50")
	b.MustWaitAppReady()
	b.MustClick("#pay-crypto")
	b.MustWaitPath("/purchase/")
	id, _ := api.only(t)
	b.MustWaitVisible("#open-metamask")

	api.set(id, func(s *shared.PurchaseStatus) { s.Status = shared.StatusExpired })
	b.MustWaitText("#purchase-state", "The price quote expired")
	b.MustScreenshotScreen("1-expired")
	api.set(id, func(s *shared.PurchaseStatus) {
		s.Status, s.Message = shared.StatusFailed, "The payment was reversed by a reorganisation of the chain and did not come back."
	})
	b.MustWaitText("#purchase-state", "This purchase failed")
	b.MustScreenshotScreen("2-failed")
	b.MustClick("#progress a.button")
	b.MustWaitPath("/buy")
	if got := b.MustWaitText("#credits-out", "125,000 Credits"); got != "125,000 Credits" {
		t.Errorf("a new purchase starts with the same amount: got %q", got)
	}
	checkConsole(t, b)
}

// The help page's recovery: connect, sign the challenge, see the key.
func TestRecoveryByWalletSignature(t *testing.T) {
	srv, _ := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustInjectWallet(testWallet(srv.URL))
	b.MustNavigate(srv.URL + "/help#recover")
	b.MustWaitAppReady()
	b.MustEval0(`testWallet.reject.personal_sign = 1`)
	b.MustClick("#recover-start")
	b.MustWaitText("#recover .alert", "declined in your wallet")
	b.MustClick("#recover-start")
	b.MustWaitText("#recovered-key", fakeKey)
	calls := browser.MustEval[[]map[string]any](b, `testWallet.calls.filter(c => c.method === "personal_sign")`)
	if len(calls) != 2 {
		t.Fatalf("personal_sign calls: got %d, want 2", len(calls))
	}
	params, _ := calls[1]["params"].([]any)
	if len(params) != 2 || !strings.HasPrefix(params[0].(string), "0x416953706163") || params[1] != fakeAccount {
		t.Errorf("personal_sign params: got %v, want the hex of the challenge and the account", params)
	}
	b.MustScreenshotScreen("recovered")
	b.MustBeAccessible("help")
	checkConsole(t, b)
}

// A card purchase: back from Checkout the page waits for Stripe's word, then shows
// the key; back without paying, it says nothing was charged.
func TestCardReturnPage(t *testing.T) {
	srv, api := startServerWithAPI(t)
	b := browser.MustStart(t, browser.Timeout(60*time.Second))
	b.MustNavigate(srv.URL + "/buy")
	b.MustWaitAppReady()
	b.MustClick(".chip:nth-child(2)") // $10
	b.MustClick("#pay-card")
	b.MustWaitPath("/purchase/")
	id, _ := api.only(t)
	b.MustWaitText("#purchase-state", "Waiting for Stripe to confirm your card payment")
	b.MustScreenshotScreen("1-card-waiting")
	b.MustBeAccessible("card return")

	b.MustNavigate(srv.URL + "/purchase/" + id + "?canceled=1")
	b.MustWaitAppReady()
	b.MustWaitText("#purchase-state", "nothing was charged")
	b.MustScreenshotScreen("2-card-canceled")

	b.MustNavigate(srv.URL + "/purchase/" + id + "?session_id=cs_test_1")
	b.MustWaitAppReady()
	b.MustWaitText("#purchase-state", "Waiting for Stripe")
	api.set(id, func(s *shared.PurchaseStatus) { s.Status, s.CreditsGranted = shared.StatusCredited, 100_000 })
	b.MustWaitText("#secure-key", fakeKey)
	if n := browser.MustEval[int](b, `document.querySelectorAll(".progress").length`); n != 0 {
		t.Error("a card purchase shows the crypto steps")
	}
	b.MustScreenshotScreen("3-card-credited-key")
	checkConsole(t, b)
}
