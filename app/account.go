package app

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// accountPage is "/account": the key holder's balance, what expires when, the daily
// renewal, the key (view, rotate), the daily cap and the usage history. When nobody
// is logged in it shows the login form; that is also what the server prerenders,
// since it renders no holder's data.
//
// The last account view is kept on this device (never the key), so the installed
// app still shows it offline, marked with the time it was read.
type accountPage struct {
	app.Compo

	// ctx is the component's own context, kept from OnMount: an event handler's
	// context belongs to the element clicked, and go-app drops its Dispatch once a
	// re-render has replaced that element, so work that outlives a click uses this.
	ctx app.Context

	state   accountState
	account shared.Account
	asOf    string // set when showing the saved view: when it was read
	problem string

	key       string // the key, while the holder chose to see it
	keyNew    bool   // key is a new one from a rotation
	keyBusy   bool
	confirm   bool // the rotation asks "are you sure?"
	keyCopied bool

	capInput string
	capMsg   string
	capErr   string

	usage       []shared.UsageItem
	usageNext   string
	usageLoaded bool
	usageErr    string
	csvBusy     bool
	csvErr      string
}

type accountState int

const (
	accountUnknown   accountState = iota // not asked yet (prerendered, or loading)
	accountLoggedOut                     // the API said unauthorized
	accountLoaded
	accountFailed // offline or another error, and nothing saved: problem says which
)

// savedAccountKey is where this device keeps the last account view.
const savedAccountKey = "account:last"

type savedAccount struct {
	Account shared.Account `json:"account"`
	At      time.Time      `json:"at"`
}

// usagePage is how many usage lines one "Show more" adds.
const usagePage = 20

func (p *accountPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	ctx.Async(func() {
		a, err := getAccount()
		ctx.Dispatch(func(ctx app.Context) { p.setAccount(ctx, a, err) })
		if err == nil {
			p.loadUsage(ctx, "")
		}
	})
}

// setAccount is where the account read lands. Offline, the saved view stands in.
func (p *accountPage) setAccount(ctx app.Context, a shared.Account, err error) {
	switch {
	case err == nil:
		p.state, p.account, p.problem, p.asOf = accountLoaded, a, "", ""
		p.capInput = ""
		if a.DailyCap != nil {
			p.capInput = strconv.FormatInt(*a.DailyCap, 10)
		}
		_ = ctx.LocalStorage().Set(savedAccountKey, savedAccount{Account: a, At: time.Now().UTC()})
	case apiStatus(err) == 401, apiStatus(err) == 404: // 404: no account API on this server
		p.state = accountLoggedOut
		ctx.LocalStorage().Del(savedAccountKey)
	default:
		var saved savedAccount
		if errors.Is(err, errNetwork) && ctx.LocalStorage().Get(savedAccountKey, &saved) == nil && !saved.At.IsZero() {
			p.state, p.account = accountLoaded, saved.Account
			p.asOf = saved.At.Format("2 Jan 2006, 15:04") + " UTC"
			return
		}
		p.state, p.problem = accountFailed, explain(err)
	}
}

// loadUsage reads the next page of the usage history (cursor "" for the first).
// It waits, so it runs in ctx.Async.
func (p *accountPage) loadUsage(ctx app.Context, cursor string) {
	u, err := getUsage(cursor, usagePage)
	ctx.Dispatch(func(app.Context) {
		if err != nil {
			p.usageErr = "The usage history could not be loaded: " + explain(err)
			return
		}
		if cursor == "" {
			p.usage = nil
		}
		p.usage, p.usageNext, p.usageLoaded, p.usageErr = append(p.usage, u.Items...), u.NextCursor, true, ""
	})
}

func (p *accountPage) logOut(ctx app.Context) {
	ctx = p.ctx
	ctx.Async(func() {
		err := logOut()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil && apiStatus(err) != 401 {
				p.problem = explain(err)
				return
			}
			ctx.LocalStorage().Del(savedAccountKey)
			p.state, p.account, p.key, p.usage = accountLoggedOut, shared.Account{}, "", nil
		})
	})
}

// toggleKey shows the key (asking the server for it) or hides it again.
func (p *accountPage) toggleKey(ctx app.Context) {
	ctx = p.ctx
	if p.key != "" {
		p.key, p.keyNew, p.keyCopied = "", false, false
		return
	}
	p.keyBusy = true
	ctx.Async(func() {
		key, err := getAccountKey()
		ctx.Dispatch(func(app.Context) {
			p.keyBusy = false
			if err != nil {
				p.problem = explain(err)
				return
			}
			p.key, p.keyNew = key, false
		})
	})
}

// rotateKey replaces the key after the holder confirmed; the new one is shown
// once here with the same advice as after a purchase.
func (p *accountPage) rotateKey(ctx app.Context) {
	ctx = p.ctx
	p.keyBusy, p.confirm = true, false
	ctx.Async(func() {
		key, err := rotateAccountKey()
		a, aerr := getAccount()
		ctx.Dispatch(func(ctx app.Context) {
			p.keyBusy = false
			if err != nil {
				p.problem = "The key was not changed: " + explain(err)
				return
			}
			p.key, p.keyNew, p.keyCopied = key, true, false
			if aerr == nil {
				p.setAccount(ctx, a, nil)
			}
		})
	})
}

func (p *accountPage) copyKey(ctx app.Context) {
	copyKeyThen(p.ctx, p.key, func(err error) {
		if err != nil {
			p.problem = explain(err)
			return
		}
		p.keyCopied = true
	})
}

// saveCap sets the daily cap from the field; empty removes it.
func (p *accountPage) saveCap(ctx app.Context) {
	ctx = p.ctx
	in := strings.ReplaceAll(strings.TrimSpace(p.capInput), ",", "")
	var limit *int64
	if in != "" {
		n, err := strconv.ParseInt(in, 10, 64)
		if err != nil || n <= 0 {
			p.capErr, p.capMsg = "Enter a whole number of Credits above 0, or leave it empty for no cap.", ""
			return
		}
		limit = &n
	}
	p.capErr, p.capMsg = "", ""
	ctx.Async(func() {
		a, err := setDailyCap(limit)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.capErr = explain(err)
				return
			}
			p.setAccount(ctx, a, nil)
			if limit == nil {
				p.capMsg = "No daily cap: you can spend your whole balance."
			} else {
				p.capMsg = "Saved: at most " + credits(*limit) + " a day."
			}
		})
	})
}

func (p *accountPage) exportCSV(ctx app.Context) {
	ctx = p.ctx
	p.csvBusy, p.csvErr = true, ""
	ctx.Async(func() {
		err := downloadUsageCSV()
		ctx.Dispatch(func(app.Context) {
			p.csvBusy = false
			if err != nil {
				p.csvErr = explain(err)
			}
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
		}).ElseIf(p.state == accountUnknown, func() app.UI {
			return app.Section().Class("card").Aria("busy", "true").Body(
				app.H2().Text("Log in with your Secure Key"),
				&loginForm{},
			)
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
	offline := p.asOf != ""
	return app.Div().ID("account").Body(
		app.If(offline, func() app.UI {
			return app.P().ID("account-saved").Class("notice").Role("status").Text("You are offline: this is your account as of " + p.asOf + ". It updates when you are back online.")
		}),
		app.If(a.Suspended, func() app.UI {
			return app.P().Class("alert").Role("alert").Text("This account is suspended while a card dispute is open: spending is paused. Contact support for details.")
		}),
		app.Section().Class("card balance").Aria("labelledby", "balance-title").Body(
			app.H2().ID("balance-title").Text("Balance"),
			app.P().ID("balance").Class("balance-value").Text(credits(a.Balance)),
			app.P().Class("hint").Text("≈ $"+usdOf(a.Balance)+" · "+rateText),
			app.Dl().Class("facts").Body(
				fact("Used", app.Span().ID("used").Text(credits(a.Used))),
				fact("Held by running jobs", app.Span().ID("held").Text(credits(a.Held))),
				app.If(a.Debt > 0, func() app.UI {
					return fact("Owed after a refund", app.Span().Text(credits(a.Debt)))
				}),
				app.If(a.DailyAllowance > 0, func() app.UI {
					return fact("Daily allowance", app.Span().Text(credits(a.DailyAllowance)+" each day"))
				}),
				fact("Next daily renewal", app.Span().ID("renewal").Body(
					&countdown{Until: a.NextRenewalAt, Prefix: "in ", Over: "now (0:00 UTC)"},
					app.Text(" · 0:00 UTC"),
				)),
			),
			alert(p.problem),
			app.Div().Class("actions").Body(
				app.A().ID("buy-more").Class("button primary").Href(PathBuy).Text("Buy more Credits"),
				app.Button().ID("log-out").Type("button").Class("button secondary").Text("Log out").Disabled(offline).
					OnClick(func(ctx app.Context, e app.Event) { p.logOut(ctx) }),
			),
		),
		p.renderLots(),
		app.If(!offline, func() app.UI { return p.renderKey() }),
		app.If(!offline, func() app.UI { return p.renderCap() }),
		app.If(!offline, func() app.UI { return p.renderUsage() }),
	)
}

func (p *accountPage) renderLots() app.UI {
	lots := p.account.Lots
	return section("lots", "Credits and expiry",
		app.P().Class("hint").Text("Each purchase is a lot, valid 30 days (to the next 0:00 UTC). Spending takes from the lot that expires first."),
		app.If(len(lots) == 0, func() app.UI {
			return app.P().Text("No Credits yet.")
		}).Else(func() app.UI {
			return app.Ul().Class("lots").Body(
				app.Range(lots).Slice(func(i int) app.UI {
					l := lots[i]
					expiry := "expires " + dayTime(l.ExpiresAt)
					if l.Expired {
						expiry = "expired " + dayTime(l.ExpiresAt)
					}
					return app.Li().Class("lot").DataSet("source", l.Source).Body(
						app.Div().Body(
							app.Strong().Text(credits(l.Remaining)),
							app.Span().Class("hint").Text(" left of "+credits(l.Credits)),
						),
						app.Div().Class("lot-meta").Body(
							app.Span().Class("tag").Text(sourceName(l.Source)),
							app.Span().Text(" added "+dayOf(l.AddedAt)+" · "),
							app.Span().Class("expiry").Text(expiry),
						),
					)
				}),
			)
		}),
	)
}

func (p *accountPage) renderKey() app.UI {
	a := p.account
	return section("key", "Your Secure Key",
		app.If(p.key == "", func() app.UI {
			return app.P().Body(app.Text("Your key: "), app.Code().ID("key-hint").Text(a.KeyHint), app.Text(" (hidden)"))
		}).Else(func() app.UI {
			return app.Div().Class("key-reveal").Body(
				app.If(p.keyNew, func() app.UI {
					return app.P().Class("warning").Role("alert").Body(
						app.Strong().Text("Your new Secure Key. "),
						app.Text("The old one no longer works. Save this one in your password manager now."),
					)
				}),
				app.Code().ID("account-key").Class("key").Text(p.key),
				app.Button().Type("button").Class("button secondary").Text(busyText(p.keyCopied, "Copy", "Copied ✓")).
					OnClick(func(ctx app.Context, e app.Event) { p.copyKey(ctx) }),
			)
		}),
		app.Div().Class("actions").Body(
			app.Button().ID("view-key").Type("button").Class("button secondary").Disabled(p.keyBusy).
				Aria("expanded", boolString(p.key != "")).
				Text(busyText(p.key != "", "View your Secure Key", "Hide the key")).
				OnClick(func(ctx app.Context, e app.Event) { p.toggleKey(ctx) }),
			app.Button().ID("rotate-key").Type("button").Class("button ghost").Disabled(p.keyBusy).
				Text("Replace the key…").
				OnClick(func(ctx app.Context, e app.Event) { p.confirm = true }),
		),
		app.If(p.confirm, func() app.UI {
			return app.Div().Class("confirm").Role("alertdialog").Aria("labelledby", "rotate-q").Body(
				app.P().ID("rotate-q").Text("Replace your Secure Key? The current key stops working at once, everywhere it is used (your AI services too). The new key is shown here once."),
				app.Div().Class("actions").Body(
					app.Button().ID("rotate-confirm").Type("button").Class("button danger").Text("Replace the key").
						OnClick(func(ctx app.Context, e app.Event) { p.rotateKey(ctx) }),
					app.Button().Type("button").Class("button secondary").Text("Keep the current key").
						OnClick(func(ctx app.Context, e app.Event) { p.confirm = false }),
				),
			)
		}),
	)
}

func (p *accountPage) renderCap() app.UI {
	a := p.account
	now := "No daily cap."
	if a.DailyCap != nil {
		now = "Spent today: " + credits(a.SpentToday) + " of " + credits(*a.DailyCap) + "."
	}
	return section("cap", "Daily spending cap",
		app.P().Text("Limit what your AI services may spend each day. The cap starts again at 0:00 UTC. "+now),
		app.Form().Class("cap").Attr("novalidate", true).
			OnSubmit(func(ctx app.Context, e app.Event) { e.PreventDefault(); p.saveCap(ctx) }).
			Body(
				app.Label().For("daily-cap").Text("Credits per day (empty: no cap)"),
				app.Div().Class("row").Body(
					app.Input().ID("daily-cap").Type("text").Attr("inputmode", "numeric").Attr("autocomplete", "off").
						Value(p.capInput).
						OnInput(func(ctx app.Context, e app.Event) {
							p.capInput, p.capErr, p.capMsg = ctx.JSSrc().Get("value").String(), "", ""
						}),
					app.Button().Type("submit").Class("button secondary").Text("Save"),
				),
				alert(p.capErr),
				app.If(p.capMsg != "", func() app.UI { return app.P().Class("ok").Role("status").Text(p.capMsg) }),
			),
	)
}

func (p *accountPage) renderUsage() app.UI {
	return section("usage", "Usage history",
		app.Div().Class("actions").Body(
			app.Button().ID("export-csv").Type("button").Class("button secondary").Disabled(p.csvBusy).
				Text(busyText(p.csvBusy, "Export CSV", "Preparing the file…")).
				OnClick(func(ctx app.Context, e app.Event) { p.exportCSV(ctx) }),
		),
		alert(p.csvErr),
		alert(p.usageErr),
		app.If(!p.usageLoaded && p.usageErr == "", func() app.UI {
			return app.P().Class("hint").Text("Loading your usage…")
		}).ElseIf(p.usageLoaded && len(p.usage) == 0, func() app.UI {
			return app.P().ID("usage-empty").Text("Nothing spent yet. Your AI services' charges appear here.")
		}).ElseIf(len(p.usage) > 0, func() app.UI {
			// A list rather than a table: on a phone a three-column table squeezes
			// the service names into slivers.
			return app.Ul().ID("usage").Class("usage").Aria("label", "Your usage, newest first").Body(
				app.Range(p.usage).Slice(func(i int) app.UI {
					u := p.usage[i]
					service := u.Service
					if service == "" {
						service = u.Kind
					}
					return app.Li().Body(
						app.Div().Class("what").Body(
							app.Strong().Text(service),
							app.If(len(u.Units) > 0, func() app.UI {
								return app.Span().Class("hint").Text(unitsText(u.Units))
							}),
							app.Span().Class("hint").Body(app.Time().DateTime("%s", u.At).Text(dayTime(u.At))),
						),
						app.Span().Class("amount-used").Text("−"+shared.FormatCredits(u.Credits)),
					)
				}),
			)
		}),
		app.If(p.usageNext != "", func() app.UI {
			return app.Button().ID("usage-more").Type("button").Class("button ghost").Text("Show more").
				OnClick(func(_ app.Context, e app.Event) {
					next, ctx := p.usageNext, p.ctx
					p.usageNext = ""
					ctx.Async(func() { p.loadUsage(ctx, next) })
				})
		}),
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

// dayTime writes an RFC 3339 time as "2026-03-01 18:47 UTC".
func dayTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// sourceName names where a lot came from.
func sourceName(source string) string {
	switch source {
	case "card":
		return "Card"
	case "crypto":
		return "Crypto"
	case "daily":
		return "Daily allowance"
	case "grant":
		return "Grant"
	}
	return source
}

// usdOf is what an amount of credits is worth in dollars, to the cent.
func usdOf(n int64) string {
	if n < 0 {
		return "-" + usdOf(-n)
	}
	return shared.Cents(n / shared.CreditsPerCent).String()
}

// unitsText writes the units of a charge: "1,200 input tokens, 300 output tokens".
func unitsText(units map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(units) {
		parts = append(parts, shared.FormatCredits(units[k])+" "+strings.ReplaceAll(k, "_", " "))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
