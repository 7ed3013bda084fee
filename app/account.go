package app

import (
	"strings"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// accountPage is "/account": the key holder's balance, what expires when, the daily
// renewal, the key and the usage history. When nobody is logged in it shows the
// login form; that is also what the server prerenders, since it renders no
// holder's data.
type accountPage struct {
	app.Compo

	state   accountState
	account shared.Account
	problem string
}

type accountState int

const (
	accountUnknown   accountState = iota // not asked yet (prerendered, or loading)
	accountLoggedOut                     // the API said unauthorized
	accountLoaded
	accountFailed // offline or another error: problem says which
)

func (p *accountPage) OnMount(ctx app.Context) {
	ctx.Async(func() {
		a, err := getAccount()
		ctx.Dispatch(func(app.Context) { p.setAccount(a, err) })
	})
}

// setAccount is the one place the page's state changes.
func (p *accountPage) setAccount(a shared.Account, err error) {
	switch {
	case err == nil:
		p.state, p.account, p.problem = accountLoaded, a, ""
	case apiStatus(err) == 401, apiStatus(err) == 404: // 404: no account API on this server
		p.state = accountLoggedOut
	default:
		p.state, p.problem = accountFailed, explain(err)
	}
}

func (p *accountPage) logOut(ctx app.Context) {
	ctx.Async(func() {
		err := logOut()
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.problem = explain(err)
				return
			}
			p.state, p.account = accountLoggedOut, shared.Account{}
		})
	})
}

func (p *accountPage) Render() app.UI {
	return frame(&pageHeader{
		Title:       "Your account",
		Description: "Your AiSpace Credits: balance, used Credits, expiry dates and your Secure Key.",
		Active:      PathAccount,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Your account"),
			app.P().Class("lead").Text("Your Credits balance, what you have used, when your Credits expire, and your Secure Key."),
		),
		app.If(p.state == accountLoaded, func() app.UI {
			return p.renderAccount()
		}).Else(func() app.UI {
			return app.Section().Class("card").Aria("labelledby", "login-title").Body(
				app.H2().ID("login-title").Text("Log in with your Secure Key"),
				alert(p.problem),
				&loginForm{},
			)
		}),
		section("viewing", "What your account shows",
			bullets(
				"Your remaining Credits balance",
				"How many Credits you've used",
				"When your Credits expire (30 days from purchase)",
				"Your Secure Key",
			),
			app.P().Text(renewalText+"."),
		),
		section("security", "Security best practices",
			bullets(
				"Keep your Secure Key private: never share it publicly or with others",
				"Store it securely: a password manager is recommended",
				"Monitor your balance: check your Credits regularly to track usage",
				"Contact support if your Secure Key is lost or you suspect unauthorized access",
			),
		),
	)
}

func (p *accountPage) renderAccount() app.UI {
	a := p.account
	return app.Div().Body(
		app.Section().Class("card balance").Aria("labelledby", "balance-title").Body(
			app.H2().ID("balance-title").Text("Balance"),
			app.P().ID("balance").Class("balance-value").Text(credits(a.Balance)),
			facts(
				"Used", credits(a.Used),
				"Held by running jobs", credits(a.Held),
				"Secure Key", a.KeyHint,
				"Next daily renewal", renewalIn(a.NextRenewalAt, time.Now()),
			),
			alert(p.problem),
			app.Div().Class("actions").Body(
				app.A().Class("button primary").Href(PathBuy).Text("Buy more Credits"),
				app.Button().Type("button").Class("button secondary").Text("Log out").
					OnClick(func(ctx app.Context, e app.Event) { p.logOut(ctx) }),
			),
		),
		section("lots", "Credits and expiry",
			app.If(len(a.Lots) == 0, func() app.UI {
				return app.P().Text("No Credits yet.")
			}).Else(func() app.UI {
				return app.Ul().Class("lots").Body(
					app.Range(a.Lots).Slice(func(i int) app.UI {
						l := a.Lots[i]
						return app.Li().Body(
							app.Strong().Text(credits(l.Remaining)+" of "+credits(l.Credits)),
							app.Span().Class("hint").Text(" · "+l.Source+" · expires "+dayOf(l.ExpiresAt)),
						)
					}),
				)
			}),
		),
		// TODO(account): view and rotate the key, daily cap, usage history and CSV export.
	)
}

// renewalIn says when the next daily renewal (0:00 UTC) happens: "in 5 h 12 min".
func renewalIn(at string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return "every day at 0:00 UTC"
	}
	d := t.Sub(now).Round(time.Minute)
	if d < 0 {
		d = 0
	}
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	return "in " + shared.FormatCredits(h) + " h " + shared.FormatCredits(m) + " min (0:00 UTC)"
}

// dayOf shortens an RFC 3339 time to its UTC date.
func dayOf(rfc3339 string) string {
	day, _, _ := strings.Cut(rfc3339, "T")
	return day
}
