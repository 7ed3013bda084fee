package browser

import (
	"context"
	_ "embed"
	"encoding/json"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed testwallet.js
var testWalletJS string

// WalletConfig sets up the test wallet that MustInjectWallet puts in the page.
type WalletConfig struct {
	Address     string   `json:"address"`     // the account it shares
	ChainID     string   `json:"chainId"`     // the network it starts on, hex ("0x2105")
	KnownChains []string `json:"knownChains"` // networks it can switch to without wallet_addEthereumChain; ChainID is always known
	RPCURL      string   `json:"rpcURL"`      // where reads go (the dev chain's /dev/rpc)
	Name        string   `json:"name"`        // EIP-6963 info; defaults to "Test Wallet"
	RDNS        string   `json:"rdns"`
	UUID        string   `json:"uuid"`
	Icon        string   `json:"icon"`

	// Sign answers the wallet's signing requests in the test process: kind "tx"
	// with {from, to, value, chainId} (hex quantities) returns the hash of the
	// transaction it sent; kind "message" with {message, address} returns the
	// personal_sign signature. The page reaches it through a DevTools binding.
	Sign func(kind string, request json.RawMessage) (string, error) `json:"-"`
	// SignerURL is used instead of Sign when Sign is nil: POST /tx and /message
	// there. The page's CSP must allow connecting to it.
	SignerURL string `json:"signerURL"`
}

// walletBinding is the DevTools binding through which the page calls Sign.
const walletBinding = "__testWalletSign"

// MustInjectWallet makes every document the tab loads from now on find an EIP-1193
// wallet, announced through EIP-6963 and steerable from the test through
// window.testWallet (see testwallet.js): the way a wallet extension is injected.
func (b *Browser) MustInjectWallet(c WalletConfig) {
	b.tb.Helper()
	if c.Name == "" {
		c.Name = "Test Wallet"
	}
	if c.RDNS == "" {
		c.RDNS = "org.example.testwallet"
	}
	if c.UUID == "" {
		c.UUID = "7c2ae2b0-55a4-4f0f-9d0e-0f1e8a4b3c21"
	}
	if c.Icon == "" {
		c.Icon = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'%3E%3Crect width='1' height='1' fill='%23f6851b'/%3E%3C/svg%3E"
	}
	if c.Sign != nil {
		b.mustServeSigner(c.Sign)
	}
	cfg, err := json.Marshal(c)
	if err != nil {
		b.tb.Fatal(err)
	}
	b.MustRunOnNewDocument(strings.Replace(testWalletJS, "const cfg = __CONFIG__;", "const cfg = "+string(cfg)+";", 1))
}

// mustServeSigner adds the binding and answers its calls until the tab closes.
func (b *Browser) mustServeSigner(sign func(string, json.RawMessage) (string, error)) {
	b.tb.Helper()
	b.must("add the wallet's signing binding", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, runtime.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: walletBinding})
		return err
	}))
	go func() {
		for ev, err := range chromedp.Events(b.ctx, runtime.BindingCalled) {
			if err != nil {
				return
			}
			if ev.Name != walletBinding {
				continue
			}
			go func() {
				var call struct {
					ID   int             `json:"id"`
					Kind string          `json:"kind"`
					Body json.RawMessage `json:"body"`
				}
				errText := ""
				result, err := "", json.Unmarshal([]byte(ev.Payload), &call)
				if err == nil {
					result, err = sign(call.Kind, call.Body)
				}
				if err != nil {
					errText = err.Error()
				}
				id, _ := json.Marshal(call.ID)
				res, _ := json.Marshal(result)
				msg, _ := json.Marshal(errText)
				reply := "window.__testWalletReply(" + string(id) + "," + string(res) + "," + string(msg) + ")"
				_ = b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: reply, ContextID: ev.ExecutionContextID})
					return err
				}))
			}()
		}
	}()
}
