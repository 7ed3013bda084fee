package app

import (
	"strings"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// pricingPage is "/pricing": the rate, the renewal and validity rules, the operator's
// price of each AI service, and the payment details.
type pricingPage struct {
	app.Compo

	services []shared.PricingService
	loaded   bool
	problem  string
}

func (p *pricingPage) OnMount(ctx app.Context) {
	ctx.Async(func() {
		pr, err := getPricing()
		ctx.Dispatch(func(app.Context) { p.setPricing(pr, err) })
	})
}

// setPricing is the one place the page's state changes.
func (p *pricingPage) setPricing(pr shared.Pricing, err error) {
	if err != nil {
		p.problem = "Service prices could not be loaded: " + explain(err)
		return
	}
	p.services, p.loaded, p.problem = pr.Services, true, ""
}

func (p *pricingPage) Render() app.UI {
	return frame(&pageHeader{
		Title:       "Pricing",
		Description: "AiSpace Credits pricing: $1 USD = 10,000 Credits, no minimum, daily renewal at 0:00 UTC, 30-day validity, and the price of each AI service.",
		Active:      PathPricing,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Pricing"),
			app.P().Class("lead").Text("Credits pay for AI services as you use them: you buy Credits, and each service deducts its price from your balance."),
		),
		section("credits", "Credits",
			facts(
				"Rate", rateText,
				"Minimum purchase", "None (any amount accepted; card payments start at $0.50, Stripe's minimum)",
				"Credit usage", "Spent based on API usage",
				"Daily renewal", renewalText,
				"Validity period", validityText,
			),
		),
		section("services", "Service prices",
			app.P().Text("Credits are deducted from your balance based on the service you use:"),
			p.renderServices(),
		),
		section("payment", "Payment details",
			facts(
				"Network", networkText,
				"Payment address", defaultPaymentAddress,
				"Confirmation time", "1 block confirmation",
				"Supported wallets", "MetaMask, WalletConnect, and other Web3 wallets",
			),
		),
		section("transactions", "Transaction details",
			facts(
				"Gas fees", "Paid by you (standard Base fees)",
				"Confirmation", "1 block required",
				"Automatic processing", "Secure Key generated automatically after confirmation",
			),
		),
		app.P().Class("center").Body(
			app.A().Class("button primary").Href(PathBuy).Text("Buy Credits"),
		),
	)
}

func (p *pricingPage) renderServices() app.UI {
	switch {
	case p.problem != "":
		return alert(p.problem)
	case !p.loaded:
		return app.P().Class("hint").Text("Loading the price list…")
	case len(p.services) == 0:
		return app.P().Text("No services are priced yet.")
	}
	return app.Table().Class("prices").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Service"),
			app.Th().Scope("col").Text("Per"),
			app.Th().Scope("col").Class("num").Text("Credits"),
		)),
		app.TBody().Body(
			app.Range(p.services).Slice(func(i int) app.UI {
				s := p.services[i]
				name := s.ID
				if s.Description != "" {
					name = s.Description
				}
				return app.Tr().Body(
					app.Td().Text(name),
					app.Td().Text(unitName(s.Unit)),
					app.Td().Class("num").Text(shared.FormatCredits(s.Credits)),
				)
			}),
		),
	)
}

// unitName writes a pricing unit for people: "1k_input_tokens" → "1k input tokens".
func unitName(unit string) string { return strings.ReplaceAll(unit, "_", " ") }
