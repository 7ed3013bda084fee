package app

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// This file is the only place that talks to Ethereum wallets: EIP-6963 discovery
// (with the legacy window.ethereum as fallback), EIP-1193 requests
// (eth_requestAccounts, eth_chainId, wallet_switchEthereumChain,
// wallet_addEthereumChain, eth_sendTransaction, personal_sign) and the
// accountsChanged / chainChanged events. Provider errors become the typed errors
// below, so pages can explain them in words and offer a retry. Requests wait for
// the wallet, so they must run in ctx.Async.

// Errors a page explains to the buyer.
var (
	// errNoWallet: no EIP-1193 provider was injected (a phone's ordinary browser).
	errNoWallet = errors.New("no Ethereum wallet was found in this browser")
	// errUserRejected: EIP-1193 code 4001, the buyer said no in the wallet.
	errUserRejected = errors.New("the request was rejected in your wallet")
	// errRequestPending: code -32002, the wallet already shows a request.
	errRequestPending = errors.New("your wallet already has a request waiting: open it to answer")
	// errUnauthorized: code 4100, the wallet has not connected this site.
	errUnauthorized = errors.New("this site is not connected to your wallet")
	// errNoAccount: the wallet connected but shared no account.
	errNoAccount = errors.New("your wallet did not share an account")
	// errBadTxHash: the wallet answered eth_sendTransaction with something that is
	// not a transaction hash.
	errBadTxHash = errors.New("your wallet did not return a transaction hash")
)

// EIP-1193 and MetaMask error codes.
const (
	codeUserRejected   = 4001
	codeUnauthorized   = 4100
	codeUnknownChain   = 4902
	codeRequestPending = -32002
)

// wrongChainError says the wallet stayed on another network than the payment's,
// because the buyer refused the switch or the wallet could not make it.
type wrongChainError struct {
	Want    chain
	Got     uint64
	Refused bool // the buyer said no to the switch (4001)
}

func (e *wrongChainError) Error() string {
	msg := "Your wallet is on " + chainLabel(e.Got) + ", not " + e.Want.Name + " (chain " + strconv.FormatUint(e.Want.ID, 10) + ")"
	if e.Refused {
		msg += ", and the switch was declined"
	}
	return msg + ". Switch to " + e.Want.Name + " in your wallet, or press the button to switch, then pay."
}

// walletError maps a provider's rejection to the typed errors above; other codes
// keep the wallet's own message.
func walletError(err error) error {
	var je *jsError
	if !errors.As(err, &je) {
		return err
	}
	switch je.Code {
	case codeUserRejected:
		return errUserRejected
	case codeUnauthorized:
		return errUnauthorized
	case codeRequestPending:
		return errRequestPending
	}
	return err
}

// chain is a network a payment is sent on, as wallet_addEthereumChain needs it.
type chain struct {
	ID          uint64
	Name        string
	RPCURL      string
	ExplorerURL string // "" when the operator set none (dev)
}

// baseMainnet is the default payment network of credits-page.md, used until
// /api/v1/config answers.
var baseMainnet = chain{ID: 8453, Name: "Base", RPCURL: "https://mainnet.base.org", ExplorerURL: "https://basescan.org"}

// chainFromConfig is the operator's payment network. A relative RPC URL (dev mode
// serves its chain at /dev/rpc) is made absolute with origin, since a wallet
// fetches it from outside the page.
func chainFromConfig(c shared.Config, origin string) chain {
	ch := baseMainnet
	if c.ChainID == 0 {
		return ch
	}
	ch.ID, ch.ExplorerURL = c.ChainID, strings.TrimRight(c.ExplorerURL, "/")
	if c.ChainName != "" {
		ch.Name = c.ChainName
	} else if c.ChainID != baseMainnet.ID {
		ch.Name = chainLabel(c.ChainID)
	}
	if c.RPCURL != "" {
		ch.RPCURL = c.RPCURL
		if strings.HasPrefix(ch.RPCURL, "/") {
			ch.RPCURL = strings.TrimRight(origin, "/") + ch.RPCURL
		}
	}
	return ch
}

// knownChains names the networks a buyer's wallet is most often on, so a wrong
// network is named in words.
var knownChains = map[uint64]string{
	1: "Ethereum", 10: "OP Mainnet", 56: "BNB Chain", 137: "Polygon", 8453: "Base",
	42161: "Arbitrum One", 84532: "Base Sepolia", 11155111: "Sepolia",
}

// chainLabel names a network: "Ethereum (chain 1)", or "network 1234" when unknown.
func chainLabel(id uint64) string {
	if name, ok := knownChains[id]; ok {
		return name + " (chain " + strconv.FormatUint(id, 10) + ")"
	}
	return "network " + strconv.FormatUint(id, 10)
}

// walletInfo is what a wallet announces of itself through EIP-6963.
type walletInfo struct {
	UUID string
	Name string
	Icon string // a data: URI
	RDNS string // reverse DNS id, e.g. io.metamask
}

// wallet is one EIP-1193 provider.
type wallet struct {
	Info     walletInfo
	provider app.Value
}

// discoverWallets asks the page's wallets to announce themselves (EIP-6963) and
// collects the answers for wait; if none answers, it falls back to the legacy
// window.ethereum. It returns errNoWallet when there is none.
func discoverWallets(wait time.Duration) ([]wallet, error) {
	if app.IsServer {
		return nil, errNotInBrowser
	}
	w := app.Window()
	found := make(chan wallet, 8)
	onAnnounce := app.FuncOf(func(_ app.Value, args []app.Value) any {
		detail := firstArg(args).Get("detail")
		if !detail.Truthy() || !detail.Get("provider").Truthy() {
			return nil
		}
		info := detail.Get("info")
		select {
		case found <- wallet{provider: detail.Get("provider"), Info: walletInfo{
			UUID: stringProp(info, "uuid"),
			Name: stringProp(info, "name"),
			Icon: stringProp(info, "icon"),
			RDNS: stringProp(info, "rdns"),
		}}:
		default:
		}
		return nil
	})
	w.Call("addEventListener", "eip6963:announceProvider", onAnnounce)
	w.Call("dispatchEvent", w.Get("Event").New("eip6963:requestProvider"))
	time.Sleep(wait)
	w.Call("removeEventListener", "eip6963:announceProvider", onAnnounce)
	onAnnounce.Release()
	close(found)

	var wallets []wallet
	seen := map[string]bool{}
	for wl := range found {
		if !seen[wl.Info.UUID] {
			seen[wl.Info.UUID] = true
			wallets = append(wallets, wl)
		}
	}
	if len(wallets) == 0 {
		if eth := w.Get("ethereum"); eth.Truthy() {
			name := "Browser wallet"
			if eth.Get("isMetaMask").Truthy() {
				name = "MetaMask"
			}
			wallets = append(wallets, wallet{provider: eth, Info: walletInfo{Name: name}})
		}
	}
	if len(wallets) == 0 {
		return nil, errNoWallet
	}
	return wallets, nil
}

// discoveryWait is how long pages listen for EIP-6963 announcements: wallets
// answer synchronously, so a short wait is plenty.
const discoveryWait = 250 * time.Millisecond

// hasInjectedWallet reports, without waiting, whether the page has window.ethereum.
func hasInjectedWallet() bool {
	return !app.IsServer && app.Window().Get("ethereum").Truthy()
}

// preferredWalletKey is where this device remembers the wallet the buyer chose,
// so the purchase page uses the same one the Buy page connected.
const preferredWalletKey = "wallet:rdns"

// pickWallet returns the index of the wallet whose RDNS (or name) the buyer chose
// before, else 0.
func pickWallet(wallets []wallet, preferred string) int {
	for i, wl := range wallets {
		if preferred != "" && (wl.Info.RDNS == preferred || wl.Info.Name == preferred) {
			return i
		}
	}
	return 0
}

// id is what pickWallet finds a wallet by.
func (wl wallet) id() string {
	if wl.Info.RDNS != "" {
		return wl.Info.RDNS
	}
	return wl.Info.Name
}

func stringProp(v app.Value, name string) string {
	if v == nil || !v.Truthy() {
		return ""
	}
	if p := v.Get(name); p.Type() == app.TypeString {
		return p.String()
	}
	return ""
}

// request sends one EIP-1193 request and waits for the answer.
func (wl wallet) request(method string, params ...any) (app.Value, error) {
	args := map[string]any{"method": method}
	if len(params) > 0 {
		args["params"] = params
	}
	v, err := await(wl.provider.Call("request", args))
	if err != nil {
		return nil, walletError(err)
	}
	return v, nil
}

// requestAccounts asks the wallet to connect (eth_requestAccounts) and returns the
// first account it shares.
func (wl wallet) requestAccounts() (string, error) {
	v, err := wl.request("eth_requestAccounts")
	if err != nil {
		return "", err
	}
	if v == nil || v.Type() != app.TypeObject || v.Length() == 0 {
		return "", errNoAccount
	}
	return v.Index(0).String(), nil
}

// chainID reads the network the wallet is on (eth_chainId).
func (wl wallet) chainID() (uint64, error) {
	v, err := wl.request("eth_chainId")
	if err != nil {
		return 0, err
	}
	if v.Type() != app.TypeString {
		return 0, errors.New("your wallet did not say which network it is on")
	}
	return parseHexQuantity(v.String())
}

// ensureChain moves the wallet to c: wallet_switchEthereumChain, and when the wallet
// does not know the network (4902) wallet_addEthereumChain, which also switches. It
// returns *wrongChainError if the buyer refused, or if the wallet is still elsewhere
// afterwards.
func (wl wallet) ensureChain(c chain) error {
	id, err := wl.chainID()
	if err != nil {
		return err
	}
	if id == c.ID {
		return nil
	}
	_, err = wl.request("wallet_switchEthereumChain", map[string]any{"chainId": hexQuantity(c.ID)})
	var je *jsError
	if errors.As(err, &je) && je.Code == codeUnknownChain {
		params := map[string]any{
			"chainId":        hexQuantity(c.ID),
			"chainName":      c.Name,
			"nativeCurrency": map[string]any{"name": "Ether", "symbol": "ETH", "decimals": 18},
			"rpcUrls":        []any{c.RPCURL},
		}
		if c.ExplorerURL != "" {
			params["blockExplorerUrls"] = []any{c.ExplorerURL}
		}
		_, err = wl.request("wallet_addEthereumChain", params)
	}
	if errors.Is(err, errUserRejected) {
		return &wrongChainError{Want: c, Got: id, Refused: true}
	}
	if err != nil {
		return err
	}
	if id, err = wl.chainID(); err != nil {
		return err
	}
	if id != c.ID {
		return &wrongChainError{Want: c, Got: id}
	}
	return nil
}

// sendPayment asks the wallet to send wei (a decimal string) from the account to the
// payment address on chain c, and returns the transaction hash. The caller has
// moved the wallet to c first (ensureChain); chainId in the request makes a wallet
// that moved away since refuse rather than pay on another network.
func (wl wallet) sendPayment(from, to, wei string, c chain) (string, error) {
	value, err := decimalToHex(wei)
	if err != nil {
		return "", err
	}
	v, err := wl.request("eth_sendTransaction", map[string]any{
		"from":    from,
		"to":      to,
		"value":   value,
		"chainId": hexQuantity(c.ID),
	})
	if err != nil {
		return "", err
	}
	if v == nil || v.Type() != app.TypeString || !isTxHash(v.String()) {
		return "", errBadTxHash
	}
	return strings.ToLower(v.String()), nil
}

// personalSign asks the wallet to sign message (EIP-191 personal_sign) with
// account, and returns the 65-byte signature in hex. The message is sent
// hex-encoded, which every wallet reads and shows as text.
func (wl wallet) personalSign(message, account string) (string, error) {
	v, err := wl.request("personal_sign", "0x"+hex.EncodeToString([]byte(message)), account)
	if err != nil {
		return "", err
	}
	if v == nil || v.Type() != app.TypeString || !strings.HasPrefix(v.String(), "0x") {
		return "", errors.New("your wallet did not return a signature")
	}
	return v.String(), nil
}

// onAccountsChanged calls f with the wallet's first account ("" when it disconnected)
// each time it changes, until stop is called.
func (wl wallet) onAccountsChanged(f func(account string)) (stop func()) {
	return wl.on("accountsChanged", func(v app.Value) {
		account := ""
		if v.Truthy() && v.Type() == app.TypeObject && v.Length() > 0 {
			account = v.Index(0).String()
		}
		f(account)
	})
}

// onChainChanged calls f with the wallet's new chain id each time it changes, until
// stop is called.
func (wl wallet) onChainChanged(f func(chainID uint64)) (stop func()) {
	return wl.on("chainChanged", func(v app.Value) {
		if v.Type() != app.TypeString {
			return
		}
		if id, err := parseHexQuantity(v.String()); err == nil {
			f(id)
		}
	})
}

func (wl wallet) on(event string, f func(app.Value)) (stop func()) {
	if app.IsServer || wl.provider == nil || !wl.provider.Get("on").Truthy() {
		return func() {}
	}
	fn := app.FuncOf(func(_ app.Value, args []app.Value) any { f(firstArg(args)); return nil })
	wl.provider.Call("on", event, fn)
	return func() {
		if wl.provider.Get("removeListener").Truthy() {
			wl.provider.Call("removeListener", event, fn)
		}
		fn.Release()
	}
}

// metaMaskDappLink opens pageURL inside MetaMask's in-app browser, where the wallet
// is injected: the way a phone's ordinary browser reaches MetaMask. Purchases get
// theirs from the backend (with the purchase secret in the fragment); this one is
// for the Buy page.
func metaMaskDappLink(pageURL string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pageURL, "https://"), "http://")
	return "https://metamask.app.link/dapp/" + rest
}

// shortAddress shows an address as people recognise it: 0x1234…abcd.
func shortAddress(a string) string {
	if len(a) < 12 {
		return a
	}
	return a[:6] + "…" + a[len(a)-4:]
}

// isTxHash reports whether s is a 32-byte hash in 0x hex.
func isTxHash(s string) bool {
	if len(s) != 66 || !strings.HasPrefix(s, "0x") {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

// hexQuantity writes n as an Ethereum JSON-RPC quantity: "0x" and lowercase hex.
func hexQuantity(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// parseHexQuantity reads a JSON-RPC quantity such as "0x2105".
func parseHexQuantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return 0, errors.New("not a hex quantity: " + s)
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

// errWeiFormat is returned by decimalToHex for anything but a plain decimal integer.
var errWeiFormat = errors.New("wei must be a decimal integer")

// decimalToHex converts a non-negative decimal integer string of any size (a wei
// amount, which overflows int64 at ~9.2 ETH) into a JSON-RPC hex quantity, without
// math/big: repeated division of the decimal digits by 16.
func decimalToHex(dec string) (string, error) {
	if dec == "" || len(dec) > 78 { // 2^256 has 78 digits
		return "", errWeiFormat
	}
	digits := make([]byte, len(dec))
	for i := 0; i < len(dec); i++ {
		if dec[i] < '0' || dec[i] > '9' {
			return "", errWeiFormat
		}
		digits[i] = dec[i] - '0'
	}
	const hexDigits = "0123456789abcdef"
	var out []byte
	for {
		// Skip leading zeros; stop at zero.
		for len(digits) > 0 && digits[0] == 0 {
			digits = digits[1:]
		}
		if len(digits) == 0 {
			break
		}
		rem := 0
		for i, d := range digits {
			acc := rem*10 + int(d)
			digits[i] = byte(acc / 16)
			rem = acc % 16
		}
		out = append(out, hexDigits[rem])
	}
	if len(out) == 0 {
		return "0x0", nil
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return "0x" + string(out), nil
}
