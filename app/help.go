package app

import (
	"errors"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// helpPage is "/help": troubleshooting topics, each linkable by its id
// (/help#lost-key), and the technical details of the payment network.
type helpPage struct {
	app.Compo

	open string // id of the topic the URL's fragment names, shown open
}

func (p *helpPage) OnNav(ctx app.Context) { p.open = ctx.Page().URL().Fragment }

// helpTopic is one question and its answer.
type helpTopic struct {
	id, question string
	answer       []string
}

var helpTopics = []helpTopic{
	{"buy", "How do I buy Credits?", []string{
		"Open Buy, enter the amount you want to spend in USD, and choose Pay with Card or Pay with Crypto.",
		"Card payments go through Stripe checkout. Crypto payments ask your wallet to send ETH on Base; approve the transaction and wait for 1 block confirmation.",
		"Your Secure Key appears on screen automatically after the payment.",
	}},
	{"key-not-received", "My Secure Key did not arrive after payment", []string{
		"Keep the purchase page open: the key appears as soon as the payment is confirmed (1 block on Base).",
		"If you closed it, open it again from the same browser: the key waits for your purchase there.",
		"Paid from another wallet (the QR code)? Paste the transaction hash on the purchase page, under \"Paid from another wallet\", so the payment is matched to your purchase.",
		"Check the transaction status in your wallet. If it is confirmed and the key still does not appear, recover it below with the wallet that paid, or contact support with the purchase id shown on the page.",
	}},
	{"wrong-network", "My wallet is on the wrong network", []string{
		"Payments are made on Base (Chain ID 8453). The app asks your wallet to switch to Base, or to add it if your wallet does not know it yet.",
		"If the switch was refused, switch to Base in your wallet and press Pay with Crypto again.",
	}},
	{"pending", "My crypto transaction is still pending", []string{
		"A Base block takes about two seconds; 1 block confirmation is needed. Wallets may wait longer when the gas fee is set too low.",
		"Review the transaction status in your wallet. You pay the standard Base gas fees.",
	}},
	{"lost-key", "I lost my Secure Key", []string{
		"If you paid with crypto, recover the key below by signing a message with the wallet that paid: no transaction, no fee.",
		"If you paid by card, or you suspect unauthorized access, contact support immediately.",
		"To avoid this, store your Secure Key in a password manager.",
	}},
	{"wallet-setup", "Setting up a wallet for Base", []string{
		"Install MetaMask (browser extension or mobile app) or another Web3 wallet, and create or import an account.",
		"You do not need to add Base by hand: when you pay, the app asks your wallet to switch to Base (Chain ID 8453), or to add it with its network details if your wallet does not know it yet. Approve the request in your wallet.",
		"Your account needs a little ETH on Base: the amount shown in the quote plus the standard gas fee. Bridge or buy ETH on Base in your wallet first.",
	}},
	{"card", "My card payment did not go through", []string{
		"Card payments start at $0.50, Stripe's minimum charge. Smaller amounts can be paid with crypto.",
		"If Stripe checkout shows an error, try another card or pay with crypto. You are not charged for a payment that failed.",
	}},
	{"wallets", "Which wallets can I use?", []string{
		"MetaMask (browser extension and mobile app), wallets that connect through WalletConnect, and other Web3 wallets compatible with Base Chain.",
	}},
	{"phone", "Paying from a phone", []string{
		"Open this site inside MetaMask's browser (the Buy page offers a link), or scan the payment QR code with any wallet app.",
		"The flow is made for phones: your Secure Key appears on the same screen when the payment confirms.",
	}},
	{"expiry", "When do my Credits expire?", []string{
		"Credits are valid for 30 days from the date they were added.",
		"Credits renew every day at 0:00:00 UTC: that is when expired Credits stop counting and any daily allowance is added again.",
	}},
	{"install", "Install the app and use it offline", []string{
		"Use your browser's Install or Add to Home screen. The app opens like any other and its pages work offline.",
		"Prices, payments and your account need a connection; the app says when you are offline.",
	}},
	{"support", "Contact support", []string{
		"Contact support if your Secure Key is not received after payment, is lost, or you suspect unauthorized access. Never send your Secure Key itself: give the purchase id or your key's last four characters.",
	}},
}

func (p *helpPage) Render() app.UI {
	return frame(&pageHeader{
		Title:       "Help",
		Description: "Help with AiSpace Credits: Secure Key not received, wrong network, pending transactions, lost keys, error messages, card payments and supported wallets.",
		Active:      PathHelp,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Help & troubleshooting"),
			app.P().Class("lead").Text("Answers to common questions about buying and using Credits."),
		),
		app.Section().Class("card topics").Aria("labelledby", "topics-title").Body(
			app.H2().ID("topics-title").Text("Common questions"),
			app.Range(helpTopics).Slice(func(i int) app.UI {
				t := helpTopics[i]
				return app.Details().ID(t.id).Class("topic").Open(t.id == p.open).Body(
					app.Summary().Text(t.question),
					app.Range(t.answer).Slice(func(j int) app.UI { return app.P().Text(t.answer[j]) }),
				)
			}),
		),
		app.Section().Class("card").ID("recover").Aria("labelledby", "recover-title").Body(
			app.H2().ID("recover-title").Text("Recover your key with your wallet"),
			app.P().Text("Paid with crypto and lost your Secure Key? Sign a message with the wallet that paid. Signing proves the wallet is yours; it sends no transaction and costs nothing."),
			&recoverForm{},
		),
		app.Section().Class("card").ID("errors").Aria("labelledby", "errors-title").Body(
			app.H2().ID("errors-title").Text("What an error means"),
			app.P().Text("When something goes wrong, the app and the API name the problem with one of these codes:"),
			app.Dl().Class("codes").Body(
				app.Range(errorCodes).Slice(func(i int) app.UI {
					c := errorCodes[i]
					return app.Div().Class("code-row").ID("code-"+c.code).Body(
						app.Dt().Body(app.Code().Text(c.code)),
						app.Dd().Body(app.P().Text(c.means), app.P().Class("hint").Text("What to do: "+c.todo)),
					)
				}),
			),
		),
		section("network", "Network configuration",
			facts(
				"Chain", "Base Mainnet",
				"Chain ID", "8453",
				"Native currency", "ETH",
				"Confirmation", "1 block required",
				"Payment address", defaultPaymentAddress,
			),
		),
		section("more", "Still need help?",
			app.P().Body(
				app.Text("See "),
				app.A().Href(PathPricing).Text("Pricing"),
				app.Text(" for detailed information about Credit costs, or "),
				app.A().Href(PathBuy).Text("buy Credits"),
				app.Text(" to get started."),
			),
		),
	)
}

// errorCodes are the stable error codes of the API (API.md), with what each means
// to a buyer or key holder and what to do about it.
var errorCodes = []struct{ code, means, todo string }{
	{shared.CodeInvalid, "The request was not accepted as sent: an amount with more than two decimals, a key in the wrong format, a payment method that is off.", "Check what you entered; the message says which part."},
	{shared.CodeUnauthorized, "Your Secure Key was not recognised, or you are not logged in (a purchase page without its secret also says so).", "Log in again, paste the key from your password manager, or recover it with your wallet."},
	{shared.CodeForbidden, "Your key is valid but may not do this, for example while the account is suspended.", "Contact support with your purchase id."},
	{shared.CodeNotFound, "The purchase, hold or page does not exist on this server.", "Check the link; purchase links work only on the server that made them."},
	{shared.CodeConflict, "It was done already, differently: for example the transaction paid another purchase.", "Use a new purchase for a new payment; contact support if you think it is wrong."},
	{shared.CodeInsufficientCredits, "Your balance (after any daily cap) does not cover the charge; nothing was taken.", "Buy more Credits or raise your daily cap."},
	{shared.CodePriceUnavailable, "The live ETH price is stale, so no crypto quote can be made safely.", "Wait a minute and try again, or pay by card."},
	{shared.CodeRateLimited, "Too many attempts in a short time (login attempts are limited).", "Wait a minute, then try again."},
	{shared.CodeUnavailable, "The server is switching over to another instance.", "Try again in a few seconds."},
	{shared.CodeInternal, "Something failed on the server; it was logged.", "Try again; if it persists, contact support with the time it happened."},
}

// recoverForm is the recovery of a lost key by wallet signature: connect the
// wallet, ask for a challenge, sign it (personal_sign), and exchange the
// signature for the key of the account the wallet paid into.
type recoverForm struct {
	app.Compo

	// ctx is the component's own context, kept from OnMount: an event handler's
	// context belongs to the element clicked, and go-app drops its Dispatch once a
	// re-render has replaced that element, so work that outlives a click uses this.
	ctx app.Context

	step    string // what it waits for: "connect", "challenge", "sign", "recover"; "" when idle
	account string
	key     string
	copied  bool
	problem string
}

func (f *recoverForm) OnMount(ctx app.Context) { f.ctx = ctx }

func (f *recoverForm) start(ctx app.Context) {
	ctx = f.ctx
	if f.step != "" {
		return
	}
	f.step, f.problem, f.key = "connect", "", ""
	var preferred string
	_ = ctx.LocalStorage().Get(preferredWalletKey, &preferred)
	step := func(s string) { ctx.Dispatch(func(app.Context) { f.step = s }) }
	ctx.Async(func() {
		key, account, err := func() (string, string, error) {
			wallets, err := discoverWallets(discoveryWait)
			if err != nil {
				return "", "", err
			}
			wl := wallets[pickWallet(wallets, preferred)]
			account, err := wl.requestAccounts()
			if err != nil {
				return "", "", err
			}
			step("challenge")
			msg, err := recoverChallenge(account)
			if err != nil {
				return "", account, err
			}
			step("sign")
			sig, err := wl.personalSign(msg, account)
			if err != nil {
				return "", account, err
			}
			step("recover")
			key, err := recoverKey(account, sig)
			return key, account, err
		}()
		ctx.Dispatch(func(app.Context) { f.done(key, account, err) })
	})
}

// done is where a recovery attempt ends.
func (f *recoverForm) done(key, account string, err error) {
	f.step, f.account = "", account
	if err != nil {
		switch {
		case errors.Is(err, errUserRejected):
			f.problem = "You declined in your wallet, so nothing was signed. Press the button to try again."
		case apiStatus(err) == 404 || isAPICode(err, shared.CodeNotFound):
			f.problem = "No account was paid from this wallet (" + shortAddress(account) + "), or recovery is not offered here. Check the account selected in your wallet."
		default:
			f.problem = explain(err)
		}
		return
	}
	f.key, f.problem = key, ""
}

func (f *recoverForm) Render() app.UI {
	return app.Div().Class("recover").Body(
		app.Ol().Class("steps compact").Body(
			app.Li().Text("Connect the wallet that paid"),
			app.Li().Text("Sign the message it shows (no fee)"),
			app.Li().Text("Your Secure Key appears here"),
		),
		app.If(f.step != "", func() app.UI {
			return app.P().ID("recover-step").Class("notice").Role("status").Text(recoverStepText(f.step))
		}),
		alert(f.problem),
		app.If(f.key != "", func() app.UI {
			return app.Div().Class("key-reveal").Body(
				app.P().Class("warning").Role("alert").Body(
					app.Strong().Text("Your Secure Key. "),
					app.Text("Save it in a password manager now: it is shown once here."),
				),
				app.Code().ID("recovered-key").Class("key").Text(f.key),
				app.Button().Type("button").Class("button secondary").Text(busyText(f.copied, "Copy Secure Key", "Copied ✓")).
					OnClick(func(_ app.Context, e app.Event) {
						key, ctx := f.key, f.ctx
						ctx.Async(func() {
							if copyToClipboard(key) == nil {
								ctx.Dispatch(func(app.Context) { f.copied = true })
							}
						})
					}),
			)
		}).Else(func() app.UI {
			return app.Button().ID("recover-start").Type("button").Class("button primary").Disabled(f.step != "").
				Text(busyText(f.step != "", "Connect wallet and recover", "Waiting for your wallet…")).
				OnClick(func(ctx app.Context, e app.Event) { f.start(ctx) })
		}),
	)
}

func recoverStepText(step string) string {
	switch step {
	case "connect":
		return "Connect your account in your wallet…"
	case "challenge":
		return "Asking the server for the message to sign…"
	case "sign":
		return "Sign the message in your wallet…"
	case "recover":
		return "Checking the signature…"
	}
	return ""
}
