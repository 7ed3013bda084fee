package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

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
		"Check the transaction status in your wallet. If it is confirmed and the key still does not appear, contact support with the purchase id shown on the page.",
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
		"Contact support immediately if your Secure Key is lost or you suspect unauthorized access.",
		"If you paid with crypto, you can recover the key by signing a message with the wallet that paid.",
		"To avoid this, store your Secure Key in a password manager.",
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
		Description: "Help with AiSpace Credits: Secure Key not received, wrong network, pending transactions, lost keys, card payments and supported wallets.",
		Active:      PathHelp,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Help & troubleshooting"),
			app.P().Class("lead").Text("Answers to common questions about buying and using Credits."),
		),
		app.Section().Class("card topics").Aria("label", "Help topics").Body(
			app.Range(helpTopics).Slice(func(i int) app.UI {
				t := helpTopics[i]
				return app.Details().ID(t.id).Class("topic").Open(t.id == p.open).Body(
					app.Summary().Text(t.question),
					app.Range(t.answer).Slice(func(j int) app.UI { return app.P().Text(t.answer[j]) }),
				)
			}),
		),
		section("network", "Network configuration",
			facts(
				"Chain", "Base Mainnet",
				"Chain ID", "8453",
				"Native currency", "ETH",
				"Confirmation", "1 block required",
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
