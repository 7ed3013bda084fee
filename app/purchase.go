package app

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// purchasePage is "/purchase/{id}": one purchase from its review to the reveal of
// its Secure Key. A crypto purchase is reviewed and paid from the wallet here;
// then the page follows it live (websocket, with polling as fallback) through
// submitted → seen → confirmed → credited, and shows the key once.
//
// Everything it shows is restored from the URL (the id) and this device's storage
// (the purchase secret, and the hash of a transaction sent from here), so a
// reload, the return from Stripe Checkout, or MetaMask's in-app browser opening
// the deep link /purchase/{id}#s=<secret> land on the same state. The secret in
// a fragment is stored and removed from the address bar at once.
type purchasePage struct {
	app.Compo

	// ctx is the component's own context, kept from OnMount: an event handler's
	// context belongs to the element clicked, and go-app drops its Dispatch once a
	// re-render has replaced that element, so work that outlives a click uses this.
	ctx app.Context

	id       string
	secret   string
	noSecret bool          // this device does not hold the purchase's secret
	cfg      shared.Config // the operator's chain and explorer
	chain    chain
	canceled bool // back from Stripe Checkout without paying (?canceled=1)

	st      shared.PurchaseStatus // the latest news from the server
	loaded  bool
	live    bool   // the websocket is connected
	problem string // reading the purchase failed

	key    string // the Secure Key, in memory only, shown once
	copied bool
	saved  bool // the buyer ticked "I saved it"

	wallet    walletState
	txHash    string // the transaction sent from this page, before the server knows it
	payStep   string // what the payment waits for: payConnect, paySwitch, payConfirm, paySubmit; "" when idle
	payErr    error  // why the last payment attempt stopped
	payErrAt  string // the step it stopped at
	manualTx  string // a hash typed in "paid from another wallet"
	manualErr string

	revealed string // the part of the page last brought into view (reveal)

	done  chan struct{} // closed when the page goes away: stops the live goroutines
	final atomic.Bool   // nothing more will change: stop following
}

// walletState is what the page knows of the buyer's wallet.
type walletState struct {
	checked bool     // discovery has answered
	list    []wallet // the wallets of this browser
	index   int      // the one in use
	account string   // the connected account, "" before connecting
	chainID uint64   // the network it is on, 0 when unknown
	stop    []func()
}

func (w walletState) current() (wallet, bool) {
	if w.index < len(w.list) {
		return w.list[w.index], true
	}
	return wallet{}, false
}

// The steps of paying from the wallet.
const (
	payConnect = "connect"
	paySwitch  = "switch"
	payConfirm = "confirm"
	paySubmit  = "submit"
)

func (p *purchasePage) OnPreRender(ctx app.Context) { p.id = purchaseIDFrom(ctx.Page().URL()) }

func (p *purchasePage) OnNav(ctx app.Context) {
	u := ctx.Page().URL()
	id := purchaseIDFrom(u)
	// A deep link carries the secret in the fragment (#s=...): keep it on this
	// device and take it out of the address bar, history and any screenshot.
	if frag, err := url.ParseQuery(u.Fragment); err == nil && frag.Get("s") != "" {
		savePurchaseSecret(ctx, id, frag.Get("s"))
		clean := *u
		clean.Fragment, clean.RawFragment = "", ""
		ctx.Page().ReplaceURL(&clean)
	}
	if id == p.id && p.done != nil {
		return // the same purchase: already followed
	}
	p.stopAll()
	compo, own := p.Compo, p.ctx // go-app's link to the page's node: keep it, reset the rest
	*p = purchasePage{id: id, done: make(chan struct{}), ctx: own}
	p.Compo = compo
	p.canceled = u.Query().Get("canceled") != ""
	p.secret = purchaseSecret(ctx, id)
	if p.secret == "" {
		p.noSecret = true
		return
	}
	p.txHash = purchaseTx(ctx, id)
	done, secret, tx := p.done, p.secret, p.txHash
	ctx.Async(func() {
		cfg, cfgErr := getConfig()
		origin := pageOrigin()
		ctx.Dispatch(func(app.Context) {
			if cfgErr == nil {
				p.cfg = cfg
			}
			p.chain = chainFromConfig(p.cfg, origin)
		})
		st, err := getPurchase(id, secret)
		ctx.Dispatch(func(ctx app.Context) { p.setStatus(ctx, st, err) })
		// A transaction sent from this page whose hash never reached the server
		// (the phone lost its connection): hand it over again.
		if err == nil && tx != "" && st.Status == shared.StatusPending {
			_ = submitTx(id, secret, tx)
		}
		p.follow(ctx, id, secret, done)
	})
	ctx.Async(func() {
		wallets, _ := discoverWallets(discoveryWait)
		ctx.Dispatch(func(ctx app.Context) { p.setWallets(ctx, wallets) })
	})
}

func (p *purchasePage) OnMount(ctx app.Context) { p.ctx = ctx }

func (p *purchasePage) OnDismount() { p.stopAll() }

func (p *purchasePage) stopAll() {
	if p.done != nil {
		select {
		case <-p.done:
		default:
			close(p.done)
		}
	}
	for _, stop := range p.wallet.stop {
		stop()
	}
	p.wallet.stop = nil
}

// follow keeps the page up to date until it is final or goes away: a websocket
// that pushes the purchase's progress and its key, and a poll of
// GET /api/v1/purchases/{id} — every 3 s while the websocket is down, every 15 s
// as a safety net while it is up.
func (p *purchasePage) follow(ctx app.Context, id, secret string, done <-chan struct{}) {
	var (
		ws          *socket
		open        atomic.Bool
		closed      = make(chan struct{}, 1)
		nextConnect time.Time
		backoff     = time.Second
	)
	hello, _ := json.Marshal(shared.WSHello{Secret: secret})
	defer func() {
		if ws != nil {
			ws.close()
		}
	}()
	for !p.final.Load() {
		if ws == nil && !time.Now().Before(nextConnect) {
			var s *socket
			s, _ = openSocket("/api/v1/ws?purchase="+url.QueryEscape(id),
				func() {
					s.send(string(hello))
					open.Store(true)
					ctx.Dispatch(func(app.Context) { p.live = true })
				},
				func(text string) {
					var m liveMessage
					if json.Unmarshal([]byte(text), &m) == nil {
						ctx.Dispatch(func(ctx app.Context) { p.setLive(ctx, m) })
					}
				},
				func() {
					if open.Swap(false) {
						backoff = time.Second // it worked: reconnect soon
					}
					ctx.Dispatch(func(app.Context) { p.live = false })
					select {
					case closed <- struct{}{}:
					default:
					}
				})
			ws = s
		}
		interval := 3 * time.Second
		if open.Load() {
			interval = 15 * time.Second
		}
		select {
		case <-done:
			return
		case <-closed:
			ws = nil
			nextConnect = time.Now().Add(backoff)
			backoff = min(backoff*2, 30*time.Second)
		case <-time.After(interval):
			st, err := getPurchase(id, secret)
			ctx.Dispatch(func(ctx app.Context) { p.setStatus(ctx, st, err) })
		}
	}
}

// setStatus is where news of the purchase from GET /api/v1/purchases/{id} lands.
func (p *purchasePage) setStatus(ctx app.Context, st shared.PurchaseStatus, err error) {
	if err != nil {
		if p.loaded && (errors.Is(err, errNetwork) || apiStatus(err) >= 500) {
			return // a missed poll: the next one will tell
		}
		p.problem = explain(err)
		if apiStatus(err) == 401 || apiStatus(err) == 404 {
			p.final.Store(true) // a wrong secret or an unknown purchase will not heal
		}
		return
	}
	if st.Crypto == nil && p.st.Crypto != nil {
		st.Crypto = p.st.Crypto
	}
	p.st, p.loaded, p.problem = st, true, ""
	p.gotKey(st.Key)
	p.checkFinal()
	p.reveal(ctx)
}

// liveMessage is a message of the purchase websocket: shared.WSMessage, and the
// reason a purchase failed.
type liveMessage struct {
	shared.WSMessage
	Message string `json:"message,omitempty"`
}

// setLive is where the websocket's messages land: progress and the key. The
// price is for the Buy page; this page shows the locked quote.
func (p *purchasePage) setLive(ctx app.Context, m liveMessage) {
	switch m.Type {
	case "purchase":
		if m.Status != "" {
			p.st.Status = m.Status
		}
		if m.Message != "" {
			p.st.Message = m.Message
		}
		p.st.Confirmations = m.Confirmations
		if m.CreditsGranted > 0 {
			p.st.CreditsGranted = m.CreditsGranted
		}
		if m.TxHash != "" {
			p.st.TxHash = m.TxHash
		}
		p.loaded = true
		if m.Status == shared.StatusCredited && p.key == "" {
			// The key may follow on the socket; a read also hands it over once.
			id, secret := p.id, p.secret
			ctx.Async(func() {
				time.Sleep(time.Second)
				if p.final.Load() {
					return
				}
				st, err := getPurchase(id, secret)
				ctx.Dispatch(func(ctx app.Context) { p.setStatus(ctx, st, err) })
			})
		}
	case "key":
		p.gotKey(m.Key)
	}
	p.checkFinal()
	p.reveal(ctx)
}

// reveal brings the part of the page that just changed into view: the progress
// once the payment has left the wallet, the key when it arrives. The buyer pressed
// Pay far down the review, and both appear at the top of the page, out of sight
// on a phone; the key's heading also takes the focus, so a screen reader says it.
func (p *purchasePage) reveal(ctx app.Context) {
	target, focus := "", ""
	switch {
	case p.key != "":
		target, focus = "key", "key-title"
	case p.loaded && p.st.Status != shared.StatusPending && p.revealed == "":
		target = "progress"
	}
	if target == "" || target == p.revealed {
		return
	}
	first := p.revealed == "" && target == "progress"
	p.revealed = target
	if first && p.st.Status == shared.StatusCredited {
		return // opened on a finished purchase: it is at the top already
	}
	ctx.Defer(func(app.Context) { revealElement(target, focus) })
}

func (p *purchasePage) gotKey(key string) {
	if key != "" && p.key == "" {
		p.key = key
		p.st.KeyDelivered = true
	}
}

// checkFinal stops following once nothing more can change: credited with the key
// in hand (or delivered before, or a top-up), or failed. An expired quote is still
// followed: a late payment is credited at the price when it confirms.
func (p *purchasePage) checkFinal() {
	switch p.st.Status {
	case shared.StatusFailed:
		p.final.Store(true)
	case shared.StatusCredited:
		if p.key != "" || p.st.KeyDelivered || p.st.TopUp || p.st.Message != "" {
			p.final.Store(true)
		}
	}
}

// setWallets is where wallet discovery lands; it also follows the wallet's account
// and network from then on.
func (p *purchasePage) setWallets(ctx app.Context, wallets []wallet) {
	var preferred string
	_ = ctx.LocalStorage().Get(preferredWalletKey, &preferred)
	p.wallet.checked, p.wallet.list = true, wallets
	p.wallet.index = pickWallet(wallets, preferred)
	p.watchWallet(ctx)
}

// watchWallet follows the chosen wallet's account and network.
func (p *purchasePage) watchWallet(ctx app.Context) {
	for _, stop := range p.wallet.stop {
		stop()
	}
	p.wallet.stop = nil
	wl, ok := p.wallet.current()
	if !ok {
		return
	}
	p.wallet.stop = append(p.wallet.stop,
		wl.onAccountsChanged(func(a string) {
			ctx.Dispatch(func(app.Context) { p.wallet.account = a })
		}),
		wl.onChainChanged(func(id uint64) {
			ctx.Dispatch(func(app.Context) {
				p.wallet.chainID = id
				var wrong *wrongChainError
				if errors.As(p.payErr, &wrong) && id == p.chain.ID {
					p.payErr, p.payErrAt = nil, "" // switched by hand: the problem is gone
				}
			})
		}),
	)
	ctx.Async(func() {
		id, err := wl.chainID()
		if err == nil {
			ctx.Dispatch(func(app.Context) { p.wallet.chainID = id })
		}
	})
}

func (p *purchasePage) chooseWallet(ctx app.Context, i int) {
	ctx = p.ctx
	if i < 0 || i >= len(p.wallet.list) || p.payStep != "" {
		return
	}
	p.wallet.index, p.wallet.account, p.wallet.chainID = i, "", 0
	_ = ctx.LocalStorage().Set(preferredWalletKey, p.wallet.list[i].id())
	p.watchWallet(ctx)
}

// pay sends the quoted amount from the wallet: connect, move to the payment
// network, ask for the transaction, and hand its hash to the backend at once.
// Each step shows what the page waits for; a refusal stops with words and a retry.
func (p *purchasePage) pay(ctx app.Context) {
	ctx = p.ctx
	wl, ok := p.wallet.current()
	q := p.st.Crypto
	if !ok || q == nil || p.payStep != "" {
		return
	}
	p.payStep, p.payErr, p.payErrAt = payConnect, nil, ""
	id, secret, ch := p.id, p.secret, p.chain
	step := func(s string) { ctx.Dispatch(func(app.Context) { p.payStep = s }) }
	ctx.Async(func() {
		at := payConnect
		account, err := wl.requestAccounts()
		if err == nil {
			ctx.Dispatch(func(app.Context) { p.wallet.account = account })
			at = paySwitch
			step(at)
			err = wl.ensureChain(ch)
		}
		var hash string
		if err == nil {
			ctx.Dispatch(func(app.Context) { p.wallet.chainID = ch.ID })
			at = payConfirm
			step(at)
			hash, err = wl.sendPayment(account, q.To, q.Wei, ch)
		}
		if err == nil {
			at = paySubmit
			ctx.Dispatch(func(ctx app.Context) {
				p.payStep, p.txHash = paySubmit, hash
				savePurchaseTx(ctx, id, hash)
			})
			err = submitWithRetry(id, secret, hash)
		}
		ctx.Dispatch(func(ctx app.Context) { p.paid(ctx, hash, at, err) })
	})
}

// submitWithRetry hands the hash to the backend, retrying a few times when the
// connection fails: the transaction is on its way and must be matched.
func submitWithRetry(id, secret, hash string) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if err = submitTx(id, secret, hash); err == nil || !errors.Is(err, errNetwork) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Second)
	}
	return err
}

// paid is where a payment attempt ends.
func (p *purchasePage) paid(ctx app.Context, hash, at string, err error) {
	p.payStep = ""
	if err != nil {
		p.payErr, p.payErrAt = err, at
		return
	}
	p.payErr, p.payErrAt = nil, ""
	if p.st.Status == shared.StatusPending || p.st.Status == shared.StatusExpired {
		p.st.Status = shared.StatusSubmitted
	}
	if p.st.TxHash == "" {
		p.st.TxHash = hash
	}
	p.reveal(ctx)
}

// resubmit sends the hash again after the backend did not take it.
func (p *purchasePage) resubmit(ctx app.Context) {
	ctx = p.ctx
	if p.txHash == "" || p.payStep != "" {
		return
	}
	p.payStep, p.payErr = paySubmit, nil
	id, secret, hash := p.id, p.secret, p.txHash
	ctx.Async(func() {
		err := submitWithRetry(id, secret, hash)
		ctx.Dispatch(func(ctx app.Context) { p.paid(ctx, hash, paySubmit, err) })
	})
}

// submitManual hands over the hash of a payment made from another wallet (the QR
// code), which the backend could not match otherwise.
func (p *purchasePage) submitManual(ctx app.Context) {
	ctx = p.ctx
	hash := strings.ToLower(strings.TrimSpace(p.manualTx))
	if !isTxHash(hash) {
		p.manualErr = "A transaction hash starts with 0x and has 64 hex digits. Copy it from your wallet's activity."
		return
	}
	p.manualErr, p.payStep = "", paySubmit
	id, secret := p.id, p.secret
	ctx.Async(func() {
		err := submitWithRetry(id, secret, hash)
		ctx.Dispatch(func(ctx app.Context) {
			p.payStep = ""
			if err != nil {
				p.manualErr = explainSubmit(err)
				return
			}
			p.manualTx, p.txHash = "", hash
			savePurchaseTx(ctx, id, hash)
			p.paid(ctx, hash, paySubmit, nil)
		})
	})
}

func (p *purchasePage) copyKey(ctx app.Context) {
	copyKeyThen(p.ctx, p.key, func(err error) {
		if err != nil {
			p.problem = explain(err)
			return
		}
		p.copied = true
	})
}

// logInWithKey logs in with the key just shown and opens the account.
func (p *purchasePage) logInWithKey(ctx app.Context) {
	ctx = p.ctx
	key := p.key
	ctx.Async(func() {
		err := logIn(key)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.problem = loginProblem(err)
				return
			}
			ctx.Navigate(PathAccount)
		})
	})
}

// purchaseSteps are the stages a crypto purchase moves through, with what each
// means to the buyer.
var purchaseSteps = []struct{ status, label, detail string }{
	{shared.StatusSubmitted, "Submitted", "Your wallet sent the payment"},
	{shared.StatusSeen, "Seen", "The payment is in a block on Base"},
	{shared.StatusConfirmed, "Confirmed", "1 block confirmation"},
	{shared.StatusCredited, "Credited", "Credits added, Secure Key ready"},
}

func stepIndex(status string) int {
	for i, s := range purchaseSteps {
		if s.status == status {
			return i
		}
	}
	return -1
}

func (p *purchasePage) Render() app.UI {
	return frame(&pageHeader{
		Title:       "Your purchase",
		Description: "The progress of your AiSpace Credits purchase and your Secure Key.",
		Active:      PathBuy,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Your purchase"),
			app.P().Class("lead").Body(
				app.Text("Purchase "),
				app.Code().ID("purchase-id").Text(p.id),
				app.If(p.live, func() app.UI {
					return app.Span().Class("live").Title("Updates arrive live").Text(" · live")
				}),
			),
		),
		p.renderBody(),
		section("closed", "If you close this page",
			app.P().Body(
				app.Text("Your payment is not lost. The Secure Key waits for this purchase on this device: open this page again from the same browser to receive it. If it does not arrive after payment, see "),
				app.A().Href(PathHelp+"#key-not-received").Text("My Secure Key did not arrive"),
				app.Text("."),
			),
		),
	)
}

func (p *purchasePage) renderBody() app.UI {
	switch {
	case p.noSecret:
		return section("other-device", "Opened on another device",
			app.P().ID("purchase-state").Text("This purchase was started on another device or browser. Its Secure Key is shown only where the purchase was made."),
			app.P().Body(
				app.Text("If you paid from a wallet, you can "),
				app.A().Href(PathHelp+"#recover").Text("recover your key by signing with that wallet"),
				app.Text("."),
			),
		)
	case !p.loaded:
		return app.Section().Class("card").Aria("busy", "true").Body(
			app.H2().Text("Payment"),
			app.P().ID("purchase-state").Class("hint").Text("Loading your purchase…"),
			alert(p.problem),
		)
	}
	st := p.st.Status
	return app.Div().Body(
		app.If(p.key != "", func() app.UI { return p.renderKey() }),
		app.If(st == shared.StatusPending && p.st.Method == shared.MethodCrypto, func() app.UI { return p.renderReview() }),
		app.If(st == shared.StatusPending && p.st.Method == shared.MethodCard && p.canceled, func() app.UI {
			return section("card-payment", "Card payment",
				app.P().ID("purchase-state").Text("You left the card payment before paying: nothing was charged."),
				app.A().Class("button primary").Href(PathBuy+"?usd="+url.QueryEscape(p.st.USD)).Text("Try again"),
				alert(p.problem),
			)
		}).ElseIf(st == shared.StatusPending && p.st.Method == shared.MethodCard, func() app.UI {
			return section("card-payment", "Card payment",
				app.P().ID("purchase-state").Text("Waiting for Stripe to confirm your card payment. This page updates by itself."),
				alert(p.problem),
			)
		}),
		app.If(st != shared.StatusPending, func() app.UI { return p.renderProgress() }),
		app.If(p.key == "" && st == shared.StatusCredited, func() app.UI { return p.renderCreditedNoKey() }),
	)
}

// renderReview is a crypto purchase before payment: what is paid, what it buys,
// and the ways to pay (this browser's wallet, MetaMask's app, any wallet's QR).
func (p *purchasePage) renderReview() app.UI {
	q := p.st.Crypto
	if q == nil {
		return section("review", "Review your payment",
			app.P().ID("purchase-state").Text("Waiting for the price quote…"),
			alert(p.problem),
		)
	}
	return app.Div().Body(
		app.Section().Class("card review").ID("review").Aria("labelledby", "review-title").Body(
			app.H2().ID("review-title").Text("Review your payment"),
			app.P().ID("purchase-state").Class("sr-only").Text("Waiting for your payment"),
			app.Dl().Class("facts").Body(
				fact("You pay", app.Strong().ID("quote-eth").Text(q.ETH+" ETH")),
				fact("Amount", app.Span().Text("$"+p.st.USD+" at $"+q.EthUSD+" per ETH")),
				fact("You receive", app.Strong().ID("quote-credits").Text(credits(p.st.Credits))),
				fact("Network", app.Span().Text(p.chainName()+" · Chain ID "+uitoa(q.ChainID))),
				fact("Pay to", app.Code().Class("address").Text(q.To)),
				fact("Price locked", &countdown{Until: q.ExpiresAt, Prefix: "for ", Over: "the quote expired: a late payment is credited at the price when it confirms"}),
			),
		),
		p.renderWallet(),
		p.renderOtherWallets(),
	)
}

// renderWallet is paying from this browser's wallet, with its account, network
// and each step's state.
func (p *purchasePage) renderWallet() app.UI {
	wl, ok := p.wallet.current()
	if !p.wallet.checked {
		return app.Section().Class("card").Body(app.H2().Text("Pay from your wallet"), app.P().Class("hint").Text("Looking for a wallet in this browser…"))
	}
	if !ok {
		return nil
	}
	network := ""
	switch {
	case p.wallet.chainID == 0:
	case p.wallet.chainID == p.chain.ID:
		network = "on " + p.chain.Name + " ✓"
	default:
		network = "on " + chainLabel(p.wallet.chainID) + ": you will be asked to switch to " + p.chain.Name
	}
	payText := "Pay with " + wl.Info.Name
	if p.payErr != nil {
		payText = "Try again: pay with " + wl.Info.Name
		var wrong *wrongChainError
		if errors.As(p.payErr, &wrong) {
			payText = "Switch to " + p.chain.Name + " and pay"
		}
	}
	return app.Section().Class("card pay").ID("pay").Aria("labelledby", "pay-title").Body(
		app.H2().ID("pay-title").Text("Pay from your wallet"),
		app.If(len(p.wallet.list) > 1, func() app.UI {
			return app.Div().Class("chips").Role("group").Aria("label", "Choose a wallet").Body(
				app.Range(p.wallet.list).Slice(func(i int) app.UI {
					w := p.wallet.list[i]
					return app.Button().Type("button").Class("chip").
						Aria("pressed", boolString(i == p.wallet.index)).
						Text(w.Info.Name).
						OnClick(func(ctx app.Context, e app.Event) { p.chooseWallet(ctx, i) })
				}),
			)
		}),
		app.P().ID("wallet-status").Class("wallet-status").Body(
			app.Strong().Text(wl.Info.Name),
			app.If(p.wallet.account != "", func() app.UI {
				return app.Span().Text(" · " + shortAddress(p.wallet.account))
			}),
			app.If(network != "", func() app.UI { return app.Span().Text(" · " + network) }),
		),
		app.If(p.payStep != "", func() app.UI {
			return app.P().ID("pay-step").Class("notice").Role("status").Text(payStepText(p.payStep, wl.Info.Name))
		}),
		app.If(p.payErr != nil, func() app.UI {
			return app.P().ID("pay-problem").Class("alert").Role("alert").Text(explainPay(p.payErr, p.payErrAt))
		}),
		app.If(p.payErr != nil && p.payErrAt == paySubmit && p.txHash != "", func() app.UI {
			return app.Button().ID("resubmit").Type("button").Class("button secondary").Text("Send the transaction hash again").
				OnClick(func(ctx app.Context, e app.Event) { p.resubmit(ctx) })
		}).Else(func() app.UI {
			return app.Button().ID("pay-wallet").Type("button").Class("button primary").
				Disabled(p.payStep != "").
				Text(busyText(p.payStep != "", payText, "Waiting for your wallet…")).
				OnClick(func(ctx app.Context, e app.Event) { p.pay(ctx) })
		}),
		app.P().Class("hint").Text("Your wallet shows the amount and the gas fee (paid by you, standard Base fees) before you approve."),
	)
}

// renderOtherWallets is paying without a wallet in this browser: MetaMask's deep
// link reopens this purchase in its own browser, and the QR code of the EIP-681
// request works with any wallet app. With a wallet in this browser it is folded
// away.
func (p *purchasePage) renderOtherWallets() app.UI {
	q := p.st.Crypto
	_, hasWallet := p.wallet.current()
	body := []app.UI{
		app.If(q.MetaMaskLink != "", func() app.UI {
			return app.A().ID("open-metamask").Class("button primary").Href(p.metaMaskLink()).Attr("rel", "noopener").Text("Open in MetaMask")
		}),
		app.P().Class("hint").Text("Opens this purchase in the MetaMask app, where you approve the payment."),
		app.H3().Text("Or scan with any wallet"),
		&qrCode{Data: q.EIP681, Label: "QR code of the payment request: " + q.ETH + " ETH to " + q.To + " on " + p.chain.Name},
		app.P().Class("hint").Body(
			app.Text("The code asks for exactly "+q.ETH+" ETH on "+p.chain.Name+" to "),
			app.Code().Class("address").Text(shortAddress(q.To)),
			app.Text("."),
		),
		app.Form().Class("manual-tx").Attr("novalidate", true).
			OnSubmit(func(ctx app.Context, e app.Event) { e.PreventDefault(); p.submitManual(ctx) }).
			Body(
				app.Label().For("manual-tx").Text("Paid from another wallet? Paste the transaction hash"),
				app.Input().ID("manual-tx").Type("text").Attr("inputmode", "text").Attr("autocomplete", "off").
					Attr("autocapitalize", "off").Spellcheck(false).Placeholder("0x…").
					Value(p.manualTx).
					OnInput(func(ctx app.Context, e app.Event) { p.manualTx, p.manualErr = ctx.JSSrc().Get("value").String(), "" }),
				alert(p.manualErr),
				app.Button().Type("submit").Class("button secondary").Disabled(p.payStep != "").Text("Send the hash"),
			),
	}
	if hasWallet {
		return app.Section().Class("card").ID("other-wallets").Body(
			app.Details().Body(append([]app.UI{app.Summary().Text("Pay from another wallet or a phone")}, body...)...),
		)
	}
	intro := "No wallet was found in this browser."
	if p.wallet.checked {
		intro += " Pay from your phone's wallet app:"
	}
	return app.Section().Class("card").ID("other-wallets").Aria("labelledby", "other-title").Body(
		append([]app.UI{app.H2().ID("other-title").Text("Pay with a wallet app"), app.P().Text(intro)}, body...)...,
	)
}

// renderProgress is the purchase after payment: the four steps, the transaction,
// and what the buyer gets.
func (p *purchasePage) renderProgress() app.UI {
	st := p.st
	current := stepIndex(st.Status)
	var state string
	switch st.Status {
	case shared.StatusSubmitted:
		state = "Payment submitted: waiting for it to appear on " + p.chainName() + "."
	case shared.StatusSeen:
		state = "Payment seen on " + p.chainName() + ": waiting for 1 block confirmation."
	case shared.StatusConfirmed:
		state = "Payment confirmed: adding your Credits."
	case shared.StatusCredited:
		state = "Credited: " + credits(st.CreditsGranted) + " added."
	case shared.StatusExpired:
		state = "The price quote expired before a payment arrived. A payment sent after that is still credited, at the price when it confirms: keep this page open. Otherwise, start a new purchase."
	case shared.StatusFailed:
		state = "This purchase failed."
		if st.Message != "" {
			state += " " + st.Message
		}
	}
	return app.Section().Class("card").ID("progress").Aria("labelledby", "progress-title").Body(
		app.H2().ID("progress-title").Text("Payment progress"),
		app.P().ID("purchase-state").Class("state").Role("status").Text(state),
		app.If(st.Method != shared.MethodCard && current >= 0, func() app.UI {
			return app.Ol().Class("progress").Body(
				app.Range(purchaseSteps).Slice(func(i int) app.UI {
					s := purchaseSteps[i]
					li := app.Li().DataSet("step", s.status)
					switch {
					case i < current || (i == current && st.Status == shared.StatusCredited):
						li = li.Class("done")
					case i == current:
						li = li.Class("current").Aria("current", "step")
					}
					return li.Body(app.Strong().Text(s.label), app.Span().Text(s.detail))
				}),
			)
		}),
		app.If(st.Confirmations > 0, func() app.UI {
			return app.P().Class("hint").Text("Confirmations: " + shared.FormatCredits(st.Confirmations))
		}),
		p.renderTx(),
		alert(p.problem),
		app.If(st.Status == shared.StatusExpired || st.Status == shared.StatusFailed, func() app.UI {
			return app.A().Class("button secondary").Href(PathBuy + "?usd=" + url.QueryEscape(st.USD)).Text("Start a new purchase")
		}),
	)
}

// metaMaskLink is the quote's MetaMask deep link with this purchase's secret in the
// fragment: MetaMask's browser shares no storage with this one, so the page it
// opens needs the secret to follow the purchase. The server puts the secret in the
// link only when it creates the purchase; a link read later lacks it.
func (p *purchasePage) metaMaskLink() string {
	link := p.st.Crypto.MetaMaskLink
	if strings.Contains(link, "#") || p.secret == "" {
		return link
	}
	return link + "#s=" + url.QueryEscape(p.secret)
}

func (p *purchasePage) chainName() string {
	if p.chain.Name == "" {
		return baseMainnet.Name
	}
	return p.chain.Name
}

// renderTx shows the transaction's hash, linked to the block explorer when the
// operator configured one (none in dev).
func (p *purchasePage) renderTx() app.UI {
	hash := p.st.TxHash
	if hash == "" {
		hash = p.txHash
	}
	if hash == "" {
		return nil
	}
	short := hash[:10] + "…" + hash[len(hash)-8:]
	if p.cfg.ExplorerURL != "" {
		return app.P().Class("tx").Body(
			app.Text("Transaction "),
			app.A().ID("explorer-link").Href(strings.TrimRight(p.cfg.ExplorerURL, "/")+"/tx/"+hash).
				Target("_blank").Attr("rel", "noopener noreferrer").Text(short+" (view on the explorer)"),
		)
	}
	return app.P().Class("tx").Body(app.Text("Transaction "), app.Code().ID("tx-hash").Title(hash).Text(short))
}

// renderKey reveals the Secure Key, once: it lives in this page's memory only.
func (p *purchasePage) renderKey() app.UI {
	return app.Section().Class("card key-card").ID("key").Aria("labelledby", "key-title").Body(
		app.H2().ID("key-title").TabIndex(-1).Text("Your Secure Key"),
		app.P().Class("warning").Role("alert").Body(
			app.Strong().Text("Shown once. "),
			app.Text("This is the only time your Secure Key is shown here: it will not be shown again on this page. Copy it now and save it in a password manager."),
		),
		app.Code().ID("secure-key").Class("key").Text(p.key),
		app.Div().Class("actions").Body(
			app.Button().ID("copy-key").Type("button").Class("button primary").
				Text(busyText(p.copied, "Copy Secure Key", "Copied ✓")).
				OnClick(func(ctx app.Context, e app.Event) { p.copyKey(ctx) }),
		),
		bullets(
			"Save it in a password manager, like a password",
			"It is your login: anyone who has it can spend your Credits, so never share it",
			"After this page, log in with it to see it again in your account",
		),
		app.Label().Class("check").Body(
			app.Input().Type("checkbox").ID("key-saved").Checked(p.saved).
				OnChange(func(ctx app.Context, e app.Event) { p.saved = ctx.JSSrc().Get("checked").Bool() }),
			app.Text(" I saved my Secure Key"),
		),
		app.Button().ID("continue-account").Type("button").Class("button secondary").Disabled(!p.saved).
			Text("Log in and see my Credits").
			OnClick(func(ctx app.Context, e app.Event) { p.logInWithKey(ctx) }),
		alert(p.problem),
	)
}

// renderCreditedNoKey is a credited purchase whose key is not (or no longer) here:
// a top-up, a key delivered before, or a card paid in another browser.
func (p *purchasePage) renderCreditedNoKey() app.UI {
	switch {
	case p.st.TopUp:
		return section("done", "Credits added",
			app.P().Text("The Credits were added to the account you are logged in to."),
			app.A().Class("button primary").Href(PathAccount).Text("See your account"),
		)
	case p.st.Message != "":
		return section("done", "Paid", app.P().Text(p.st.Message))
	}
	return section("done", "Your Secure Key was shown",
		app.P().Text("The Secure Key of this purchase was shown once already, when the payment was credited. Log in with it to see your Credits."),
		app.P().Body(
			app.A().Class("button primary").Href(PathLogin).Text("Log in"),
		),
		app.P().Body(
			app.Text("Lost it? If you paid from a wallet, "),
			app.A().Href(PathHelp+"#recover").Text("recover it by signing with that wallet"),
			app.Text("."),
		),
	)
}

// payStepText says what the payment waits for.
func payStepText(step, walletName string) string {
	switch step {
	case payConnect:
		return "Connect your account in " + walletName + "…"
	case paySwitch:
		return "Checking the network: approve the switch in " + walletName + " if asked…"
	case payConfirm:
		return "Approve the payment in " + walletName + "…"
	case paySubmit:
		return "Payment sent: telling the server about your transaction…"
	}
	return ""
}

// explainPay says why a payment attempt stopped, and what to do.
func explainPay(err error, at string) string {
	var wrong *wrongChainError
	switch {
	case errors.As(err, &wrong):
		return wrong.Error()
	case errors.Is(err, errUserRejected) && at == payConnect:
		return "You declined the connection in your wallet. Nothing was sent. Press the button to try again."
	case errors.Is(err, errUserRejected):
		return "You rejected the payment in your wallet. Nothing was sent. You can try again while the price is locked."
	case at == paySubmit:
		return "Your payment was sent, but the server did not get its transaction hash: " + explainSubmit(err) + " Press the button to send it again; the payment is not lost."
	}
	return explain(err)
}

// explainSubmit says why the backend did not take a transaction hash.
func explainSubmit(err error) string {
	if isAPICode(err, shared.CodeConflict) {
		return "That transaction already paid another purchase."
	}
	return explain(err)
}

// fact is one row of a definition list with any value.
func fact(label string, value app.UI) app.UI {
	return app.Div().Class("fact").Body(app.Dt().Text(label), app.Dd().Body(value))
}

// secretKey is where a purchase's secret is kept on this device until its key is
// delivered; localStorage survives closing the tab, as the key may arrive later.
func secretKey(id string) string { return "purchase-secret:" + id }

func savePurchaseSecret(ctx app.Context, id, secret string) {
	if id == "" || secret == "" {
		return
	}
	if err := ctx.LocalStorage().Set(secretKey(id), secret); err != nil {
		app.Log("saving the purchase secret failed:", err)
	}
}

func purchaseSecret(ctx app.Context, id string) string {
	var secret string
	if id == "" {
		return ""
	}
	if err := ctx.LocalStorage().Get(secretKey(id), &secret); err != nil {
		return ""
	}
	return secret
}

// The hash of a transaction sent from this device, kept until the server has it.
func txKey(id string) string { return "purchase-tx:" + id }

func savePurchaseTx(ctx app.Context, id, hash string) { _ = ctx.LocalStorage().Set(txKey(id), hash) }

func purchaseTx(ctx app.Context, id string) string {
	var hash string
	_ = ctx.LocalStorage().Get(txKey(id), &hash)
	return hash
}
