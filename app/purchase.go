package app

import (
	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// purchasePage is "/purchase/{id}": the progress of one purchase and, once it is
// credited, the reveal of the Secure Key. Everything it shows is restored from the
// URL (the id) and from this device's storage (the purchase secret), so a reload, a
// deep link or the return from Stripe Checkout lands on the same state.
type purchasePage struct {
	app.Compo

	id      string
	status  shared.PurchaseStatus
	loaded  bool   // the status was read from the backend
	noPass  bool   // this device does not hold the purchase's secret
	key     string // the Secure Key, shown once
	copied  bool
	problem string
}

func (p *purchasePage) OnPreRender(ctx app.Context) { p.id = purchaseIDFrom(ctx.Page().URL()) }

func (p *purchasePage) OnNav(ctx app.Context) {
	p.id = purchaseIDFrom(ctx.Page().URL())
	secret := purchaseSecret(ctx, p.id)
	if secret == "" {
		p.noPass = true
		return
	}
	id := p.id
	ctx.Async(func() {
		st, err := getPurchase(id, secret)
		ctx.Dispatch(func(app.Context) { p.setStatus(st, err) })
	})
	// TODO(purchase flow): send the crypto payment from the wallet, then follow the
	// purchase on /api/v1/ws (price, progress, key) instead of one read.
}

// setStatus is the one place the purchase's state changes.
func (p *purchasePage) setStatus(st shared.PurchaseStatus, err error) {
	if err != nil {
		p.problem = explain(err)
		return
	}
	p.status, p.loaded, p.problem = st, true, ""
	if st.Key != "" {
		p.key = st.Key
	}
}

func (p *purchasePage) copyKey(ctx app.Context) {
	key := p.key
	ctx.Async(func() {
		err := copyToClipboard(key)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.problem = explain(err)
				return
			}
			p.copied = true
		})
	})
}

// purchaseSteps are the stages a crypto purchase moves through, with what each
// means to the buyer.
var purchaseSteps = []struct{ status, label string }{
	{shared.StatusSubmitted, "Payment sent from your wallet"},
	{shared.StatusSeen, "Payment seen on Base"},
	{shared.StatusConfirmed, "Confirmed (1 block)"},
	{shared.StatusCredited, "Credits added, Secure Key ready"},
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
	current := stepIndex(p.status.Status)
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
			),
		),

		section("progress", "Payment progress",
			app.Ol().Class("progress").Body(
				app.Range(purchaseSteps).Slice(func(i int) app.UI {
					li := app.Li().Text(purchaseSteps[i].label)
					switch {
					case i < current || (i == current && p.status.Status == shared.StatusCredited):
						return li.Class("done")
					case i == current:
						return li.Class("current").Aria("current", "step")
					}
					return li
				}),
			),
			app.If(p.loaded && p.status.Confirmations > 0, func() app.UI {
				return app.P().Class("hint").Text("Confirmations: " + shared.FormatCredits(p.status.Confirmations))
			}),
			app.If(p.noPass, func() app.UI {
				return app.P().Class("notice").Text("This purchase was started on another device or browser. Its Secure Key is shown only where the purchase was made; if you paid from a wallet, you can recover the key by signing with that wallet.")
			}),
			alert(p.problem),
		),

		section("key", "Your Secure Key",
			app.If(p.key != "", func() app.UI {
				return app.Div().Class("key-reveal").Body(
					app.Code().ID("secure-key").Class("key").Text(p.key),
					app.Button().Type("button").Class("button primary").
						Text(busyText(p.copied, "Copy Secure Key", "Copied")).
						OnClick(func(ctx app.Context, e app.Event) { p.copyKey(ctx) }),
				)
			}).Else(func() app.UI {
				return app.P().Class("key-wait").Text("Your Secure Key will appear here as soon as the payment is confirmed. Keep this page open; it updates by itself.")
			}),
			bullets(
				"Save your Secure Key in a password manager before you leave this page",
				"It is your login: anyone who has it can spend your Credits",
				"It is shown once here; after that, log in with it to view it in your account",
			),
		),

		section("closed", "If you close this page",
			app.P().Body(
				app.Text("Your payment is not lost. The Secure Key waits for this purchase on this device: open this page again from the same browser to receive it. If it does not arrive after payment, see "),
				app.A().Href(PathHelp+"#key-not-received").Text("Secure Key not received"),
				app.Text("."),
			),
		),
	)
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
