package app

import (
	"errors"
	"strings"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// loginPage is "/login": log in with the Secure Key. The Account page shows the same
// form when nobody is logged in.
type loginPage struct {
	app.Compo
}

func (p *loginPage) Render() app.UI {
	return frame(&pageHeader{
		Title:       "Log in",
		Description: "Log in to AiSpace Credits with your Secure Key.",
		Active:      PathAccount,
	},
		app.Div().Class("hero").Body(
			app.H1().Text("Log in with your Secure Key"),
			app.P().Class("lead").Text("Your Secure Key is your login: you received it on screen when you purchased Credits."),
		),
		app.Section().Class("card").Body(&loginForm{}),
		section("no-key", "No Secure Key yet?",
			app.P().Body(
				app.Text("You get one with your first purchase. "),
				app.A().Href(PathBuy).Text("Buy Credits"),
				app.Text(". Lost it? See "),
				app.A().Href(PathHelp+"#lost-key").Text("I lost my Secure Key"),
				app.Text("."),
			),
		),
	)
}

// loginForm takes a Secure Key, checks its format and checksum before sending it (a
// typo is caught without a round trip), and exchanges it for a session cookie. The
// key goes only in the request body, never in a URL.
type loginForm struct {
	app.Compo

	// ctx is the component's own context, kept from OnMount: an event handler's
	// context belongs to the element clicked, and go-app drops its Dispatch once a
	// re-render has replaced that element, so work that outlives a click uses this.
	ctx app.Context

	key     string
	show    bool
	busy    bool
	problem string
}

func (f *loginForm) OnMount(ctx app.Context) { f.ctx = ctx }

func (f *loginForm) submit(ctx app.Context) {
	ctx = f.ctx
	key := strings.TrimSpace(f.key)
	if err := shared.CheckKeyFormat(key); err != nil {
		f.problem = keyProblem(err)
		return
	}
	f.busy, f.problem = true, ""
	ctx.Async(func() {
		err := logIn(key)
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err != nil {
				f.problem = loginProblem(err)
				return
			}
			f.key = ""
			ctx.Navigate(PathAccount)
		})
	})
}

func (f *loginForm) Render() app.UI {
	inputType := "password"
	if f.show {
		inputType = "text"
	}
	return app.Form().Class("login").Attr("novalidate", true).
		OnSubmit(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			f.submit(ctx)
		}).
		Body(
			app.Label().For("secure-key-input").Text("Secure Key"),
			app.Div().Class("key-field").Body(
				app.Input().ID("secure-key-input").Name("key").Type(inputType).
					Attr("autocomplete", "current-password").Attr("autocapitalize", "off").
					Spellcheck(false).Placeholder("aisk_…").
					Aria("describedby", "secure-key-help").
					Value(f.key).
					OnInput(func(ctx app.Context, e app.Event) {
						f.key, f.problem = ctx.JSSrc().Get("value").String(), ""
					}),
				app.Button().Type("button").Class("button ghost").
					Aria("pressed", boolString(f.show)).
					Text(busyText(f.show, "Show", "Hide")).
					OnClick(func(ctx app.Context, e app.Event) { f.show = !f.show }),
			),
			app.P().ID("secure-key-help").Class("hint").Text("It starts with aisk_. Paste it from your password manager."),
			alert(f.problem),
			app.Button().Type("submit").Class("button primary").Disabled(f.busy).
				Text(busyText(f.busy, "Log in", "Logging in…")),
		)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func keyProblem(err error) string {
	if errors.Is(err, shared.ErrKeyChecksum) {
		return "This Secure Key has a typo: check the characters you typed, or paste it again."
	}
	return "That is not a Secure Key: it starts with aisk_ and has 54 letters and digits."
}

func loginProblem(err error) string {
	switch {
	case isAPICode(err, shared.CodeUnauthorized):
		return "This Secure Key was not recognised. Check it, or contact support if it stopped working."
	case isAPICode(err, shared.CodeRateLimited):
		return "Too many attempts. Wait a minute and try again."
	}
	return explain(err)
}
