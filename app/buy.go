package app

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// defaultCardMin is Stripe's minimum charge, used until /api/v1/config answers.
const defaultCardMin shared.Cents = 50

// quickAmounts are the one-tap amounts offered under the amount field, in dollars.
var quickAmounts = []string{"5", "10", "25", "50"}

// buyPage is "/" and "/buy": the buyer enters a USD amount, sees the credits and the
// ETH it comes to at the live price, and pays by card or with ETH on Base. A deep
// link may prefill the amount: /buy?usd=25.
type buyPage struct {
	app.Compo

	// ctx is the component's own context, kept from OnMount: an event handler's
	// context belongs to the element clicked, and go-app drops its Dispatch once a
	// re-render has replaced that element, so work that outlives a click uses this.
	ctx app.Context

	amount     string        // what the buyer typed, in USD
	config     shared.Config // the operator's settings; zero until loaded
	configured bool          // config has answered
	ethUSD     string        // the live ETH/USD price, "" until known
	priceErr   bool          // the price is unavailable (stale or unreachable)
	busy       string        // the method of the purchase being started, "" when idle
	problem    string        // what went wrong with the last attempt, for the buyer
	noWallet   bool          // a phone browser with no wallet injected: offer MetaMask
	wallets    []wallet      // this browser's wallets, when the buyer must choose one
	stop       chan struct{} // closed on dismount: stops the price refresh
}

// priceRefresh is how often the Buy page reads the live ETH price again.
const priceRefresh = 20 * time.Second

func (p *buyPage) OnInit() { p.amount = "10" }

func (p *buyPage) OnNav(ctx app.Context) {
	if usd := ctx.Page().URL().Query().Get("usd"); usd != "" {
		if _, err := shared.ParseUSD(usd); err == nil {
			p.amount = usd
		}
	}
}

func (p *buyPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	p.noWallet = isMobile() && !hasInjectedWallet()
	p.stop = make(chan struct{})
	stop := p.stop
	ctx.Async(func() {
		cfg, err := getConfig()
		if err == nil {
			ctx.Dispatch(func(app.Context) { p.config, p.configured = cfg, true })
		}
	})
	ctx.Async(func() {
		for {
			price, err := getPrice()
			ctx.Dispatch(func(app.Context) { p.setPrice(price, err) })
			select {
			case <-stop:
				return
			case <-time.After(priceRefresh):
			}
		}
	})
}

func (p *buyPage) OnDismount() {
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
}

// setPrice is where the live price lands; a failed read keeps the last price
// unless the server says it is stale.
func (p *buyPage) setPrice(price shared.Price, err error) {
	switch {
	case err == nil:
		p.ethUSD, p.priceErr = price.EthUSD, false
	case isAPICode(err, shared.CodePriceUnavailable):
		p.ethUSD, p.priceErr = "", true
	}
}

// setAmount keeps what the buyer typed; the credits and ETH follow from it.
func (p *buyPage) setAmount(s string) {
	p.amount = s
	p.problem = ""
}

// pay checks the amount and starts a purchase by method; on success the buyer goes
// to Stripe Checkout (card) or to the purchase's page (crypto), where the payment
// is reviewed and sent.
func (p *buyPage) pay(ctx app.Context, method string) {
	ctx = p.ctx
	if p.busy != "" {
		return
	}
	cents, err := shared.ParseUSD(strings.TrimSpace(p.amount))
	if err != nil {
		p.problem = amountProblem(err)
		return
	}
	if method == shared.MethodCard && cents < p.cardMin() {
		p.problem = "Card payments start at $" + p.cardMin().String() + " (Stripe's minimum). You can still pay this amount with crypto."
		return
	}
	if max, err := shared.ParseUSD(p.config.MaxUSD); err == nil && cents > max {
		p.problem = "The most one purchase can be is $" + max.String() + "."
		return
	}
	p.busy, p.problem, p.wallets = method, "", nil
	usd := cents.String()
	ctx.Async(func() {
		if method == shared.MethodCard {
			created, err := createPurchase(shared.CreatePurchaseRequest{USD: usd, Method: method})
			ctx.Dispatch(func(ctx app.Context) { p.started(ctx, created, err) })
			return
		}
		wallets, err := discoverWallets(discoveryWait)
		if err != nil && !errors.Is(err, errNoWallet) {
			ctx.Dispatch(func(ctx app.Context) { p.started(ctx, shared.PurchaseCreated{}, err) })
			return
		}
		ctx.Dispatch(func(ctx app.Context) {
			switch len(wallets) {
			case 0:
				// No wallet here: the purchase page offers MetaMask's app and a QR code.
				p.startCrypto(ctx, usd, nil)
			case 1:
				p.startCrypto(ctx, usd, &wallets[0])
			default:
				p.busy, p.wallets = "", wallets // the buyer chooses
			}
		})
	})
}

// startCrypto connects wl (when there is one), so the quote is bound to the
// buyer's wallet, and asks the backend for the quote.
func (p *buyPage) startCrypto(ctx app.Context, usd string, wl *wallet) {
	ctx = p.ctx
	p.busy, p.wallets = shared.MethodCrypto, nil
	if wl != nil {
		_ = ctx.LocalStorage().Set(preferredWalletKey, wl.id())
	}
	ctx.Async(func() {
		req := shared.CreatePurchaseRequest{USD: usd, Method: shared.MethodCrypto}
		if wl != nil {
			account, err := wl.requestAccounts()
			if err != nil {
				ctx.Dispatch(func(ctx app.Context) { p.started(ctx, shared.PurchaseCreated{}, err) })
				return
			}
			req.Wallet = account
		}
		created, err := createPurchase(req)
		ctx.Dispatch(func(ctx app.Context) { p.started(ctx, created, err) })
	})
}

// started is where a purchase attempt ends: off to pay, or a problem in words.
func (p *buyPage) started(ctx app.Context, created shared.PurchaseCreated, err error) {
	p.busy = ""
	if err != nil {
		p.problem = explain(err)
		return
	}
	savePurchaseSecret(ctx, created.ID, created.Secret)
	if created.Card != nil && created.Card.CheckoutURL != "" {
		assignLocation(created.Card.CheckoutURL)
		return
	}
	ctx.Navigate(PurchasePath(created.ID))
}

func (p *buyPage) cardMin() shared.Cents {
	if c, err := shared.ParseUSD(p.config.CardMinUSD); err == nil {
		return c
	}
	return defaultCardMin
}

// cardOff reports whether the operator's settings say card payments are off.
func (p *buyPage) cardOff() bool { return p.configured && !p.config.CardEnabled }

func (p *buyPage) paymentAddress() string {
	if p.config.PaymentAddress != "" {
		return p.config.PaymentAddress
	}
	return defaultPaymentAddress
}

func (p *buyPage) Render() app.UI {
	cents, amountErr := shared.ParseUSD(strings.TrimSpace(p.amount))
	return frame(&pageHeader{
		Title:       "Buy Credits",
		Description: "Buy AiSpace Credits by card or with ETH on Base. $1 USD = 10,000 Credits, and your Secure Key appears on screen as soon as the payment is confirmed.",
		Active:      PathBuy,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Buy Credits"),
			app.P().Class("lead").Text("Purchase Credits directly from AiSpace to access AI services on-demand. Credits give you pay-as-you-go access to AI models, image generation, and other features."),
		),

		app.Section().Class("card buy").Aria("labelledby", "buy-title").Body(
			app.H2().ID("buy-title").Text("Choose an amount"),
			app.Label().For("amount").Text("Amount in USD"),
			app.Div().Class("amount").Body(
				app.Span().Class("currency").Aria("hidden", "true").Text("$"),
				app.Input().ID("amount").Name("usd").Type("text").
					Attr("inputmode", "decimal").Attr("autocomplete", "off").
					Aria("describedby", "amount-help").
					Value(p.amount).
					OnInput(func(ctx app.Context, e app.Event) { p.setAmount(ctx.JSSrc().Get("value").String()) }),
			),
			app.Div().Class("chips").Role("group").Aria("label", "Quick amounts").Body(
				app.Range(quickAmounts).Slice(func(i int) app.UI {
					v := quickAmounts[i]
					return app.Button().Type("button").Class("chip").
						Aria("pressed", strconv.FormatBool(strings.TrimSpace(p.amount) == v)).
						Text("$" + v).
						OnClick(func(ctx app.Context, e app.Event) { p.setAmount(v) })
				}),
			),
			app.P().ID("amount-help").Class("hint").Text("$1 = 10,000 Credits · no minimum · cards from $"+p.cardMin().String()),

			app.Div().Class("receive").Aria("live", "polite").Body(
				app.Span().Class("receive-label").Text("You receive"),
				app.If(amountErr == nil, func() app.UI {
					return app.Strong().ID("credits-out").Class("receive-credits").Text(credits(cents.Credits()))
				}).Else(func() app.UI {
					return app.Strong().ID("credits-out").Class("receive-credits muted").Text("—")
				}),
				app.Span().ID("eth-out").Class("receive-eth").Text(ethLine(cents, amountErr, p.ethUSD, p.priceErr)),
			),

			alert(p.problem),

			app.Div().Class("actions").Body(
				app.Button().ID("pay-card").Type("button").Class("button primary").
					Disabled(p.busy != "" || p.cardOff()).
					Text(busyText(p.busy == shared.MethodCard, "Pay with Card", "Opening checkout…")).
					OnClick(func(ctx app.Context, e app.Event) { p.pay(ctx, shared.MethodCard) }),
				app.Button().ID("pay-crypto").Type("button").Class("button secondary").
					Disabled(p.busy != "").
					Text(busyText(p.busy == shared.MethodCrypto, "Pay with Crypto", "Connecting your wallet…")).
					OnClick(func(ctx app.Context, e app.Event) { p.pay(ctx, shared.MethodCrypto) }),
			),
			app.If(p.cardOff(), func() app.UI {
				return app.P().ID("card-off").Class("hint").Text("Card payments are not available on this server right now: pay with crypto.")
			}),
			app.If(len(p.wallets) > 1, func() app.UI {
				return app.Div().ID("wallet-choice").Class("choice").Role("group").Aria("labelledby", "wallet-choice-title").Body(
					app.P().ID("wallet-choice-title").Text("Choose your wallet:"),
					app.Range(p.wallets).Slice(func(i int) app.UI {
						wl := p.wallets[i]
						return app.Button().Type("button").Class("button secondary wallet-option").Body(
							app.If(strings.HasPrefix(wl.Info.Icon, "data:image/"), func() app.UI {
								return app.Img().Src(wl.Info.Icon).Alt("").Width(24).Height(24)
							}),
							app.Span().Text(wl.Info.Name),
						).OnClick(func(ctx app.Context, e app.Event) { p.startCrypto(ctx, strings.TrimSpace(p.amount), &wl) })
					}),
				)
			}),
			app.If(p.noWallet, func() app.UI {
				return app.P().Class("hint").Body(
					app.Text("No wallet in this browser? Pay with Crypto shows a QR code for any wallet app, or "),
					app.A().ID("open-in-metamask").Href(metaMaskDappLink(currentURL())).Text("open this page in MetaMask"),
					app.Text("."),
				)
			}),
		),

		section("how", "How buying works",
			app.Ol().Class("steps").Body(
				step("Enter an amount", "Enter the amount you want to spend in USD and see how many Credits you'll receive, and the ETH it comes to when paying with crypto."),
				step("Choose how to pay", "Pay with Card opens Stripe's secure checkout. Pay with Crypto connects your Web3 wallet (MetaMask or another) on Base."),
				step("Confirm the payment", "Complete the card payment, or approve the transaction in your wallet and wait for 1 block confirmation."),
				step("Receive your Secure Key", "Your Secure Key appears on screen automatically. It is your login credential to access your Credits."),
			),
		),

		section("secure-key", "Your Secure Key",
			app.P().Text("When you purchase Credits, you receive a Secure Key. This is your unique login credential:"),
			bullets(
				"Use your Secure Key to access your Credits account",
				"Your Secure Key is private: never share it with anyone",
				"Keep your Secure Key safe, like a password (a password manager is best)",
				"If your Secure Key is lost or compromised, contact support immediately",
			),
		),

		section("what", "What are Credits?",
			app.P().Text("Credits are your account balance for using AI services. When you purchase Credits:"),
			bullets(
				"You receive a Secure Key that you use to login and access your Credits",
				"Your Secure Key is your unique identifier: keep it safe and private",
				"Credits are deducted automatically when you use AI services",
				"You can purchase more Credits anytime to add to your balance",
			),
		),

		section("methods", "Payment methods",
			app.Div().Class("columns").Body(
				app.Div().Class("method").Body(
					app.H3().Text("Card Payment (Stripe)"),
					bullets("Secure online card payments", "Instant processing", "Automatic Secure Key generation after payment", "No wallet connection required"),
				),
				app.Div().Class("method").Body(
					app.H3().Text("Crypto Payment (ETH on Base Chain)"),
					bullets("Purchase using ETH on Base Chain", "Real-time ETH/USD price conversion", "Secure transaction processing", "Automatic Secure Key generation after payment confirmation", "Mobile-friendly wallet support"),
				),
			),
		),

		section("payment-details", "Payment details",
			facts(
				"Network", networkText,
				"Payment address", p.paymentAddress(),
				"Confirmation time", "1 block confirmation",
				"Supported wallets", "MetaMask, WalletConnect, and other Web3 wallets",
			),
			app.P().Body(
				app.Text(renewalText+". "+validityText+". "),
				app.A().Href(PathPricing).Text("See the pricing details"),
				app.Text("."),
			),
		),
	)
}

func step(title, text string) app.UI {
	return app.Li().Body(app.Strong().Text(title), app.P().Text(text))
}

func busyText(busy bool, idle, working string) string {
	if busy {
		return working
	}
	return idle
}

// ethLine says what the amount comes to in ETH at the live price. It is an estimate
// for display: the binding amount is the backend's locked quote.
func ethLine(cents shared.Cents, amountErr error, ethUSD string, unavailable bool) string {
	switch {
	case amountErr != nil:
		return "Enter an amount such as 10 or 12.50"
	case unavailable:
		return "The live ETH price is unavailable: crypto payments wait for it, cards work"
	case ethUSD == "":
		return "ETH amount: shown with the live price"
	}
	eth, ok := ethEstimate(cents, ethUSD)
	if !ok {
		return "ETH amount: shown with the live price"
	}
	return "≈ " + eth + " ETH at $" + ethUSD + " per ETH (live)"
}

// ethEstimate divides cents by the ETH/USD price in integers and writes the result
// with six decimals ("0.003175"). Prices with more than two decimals are truncated to
// cents first.
func ethEstimate(cents shared.Cents, ethUSD string) (string, bool) {
	whole, frac, _ := strings.Cut(ethUSD, ".")
	if len(frac) > 2 {
		frac = frac[:2]
	}
	price, err := shared.ParseUSD(strings.TrimRight(whole+"."+frac, "."))
	if err != nil || price <= 0 {
		return "", false
	}
	const scale = 1_000_000 // six decimals
	micro := (int64(cents)*scale + int64(price)/2) / int64(price)
	s := strconv.FormatInt(micro%scale, 10)
	return strconv.FormatInt(micro/scale, 10) + "." + strings.Repeat("0", 6-len(s)) + s, true
}

// amountProblem explains shared.ParseUSD's errors to a buyer.
func amountProblem(err error) string {
	if errors.Is(err, shared.ErrUSDRange) {
		return "Enter an amount above $0 and at most $10,000,000."
	}
	return "Enter the amount in US dollars, like 10 or 12.50 (at most two decimals)."
}

// explain turns an error of the API client or the wallet into a sentence for the
// buyer.
func explain(err error) string {
	var wrong *wrongChainError
	var api *apiError
	switch {
	case errors.Is(err, errNoWallet):
		return "No wallet was found in this browser. On a phone, open this page in MetaMask; on a computer, install a wallet extension. Or pay by card."
	case errors.Is(err, errUserRejected):
		return "The request was rejected in your wallet, so nothing was sent. Press the button again to retry."
	case errors.Is(err, errRequestPending):
		return "Your wallet already has a request waiting: open your wallet to answer it, then try again."
	case errors.Is(err, errNetwork):
		return "No connection to the server: check your network and try again."
	case errors.As(err, &api) && api.Code == shared.CodeUnavailable:
		return "The server is busy switching over. Try again in a few seconds."
	case errors.As(err, &wrong):
		return wrong.Error()
	case errors.As(err, &api) && api.Code == shared.CodePriceUnavailable:
		return "The ETH price is not available right now, so no crypto quote can be made. Try again in a minute, or pay by card."
	case errors.As(err, &api) && api.Code == shared.CodeRateLimited:
		return "Too many attempts. Wait a minute and try again."
	case errors.As(err, &api) && api.Status == 404:
		return "This server does not offer that yet."
	}
	msg := err.Error()
	if msg == "" {
		return "Something went wrong. Try again."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
