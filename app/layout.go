package app

import (
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// appName ends every document title.
const appName = "AiSpace Credits"

// Facts of credits-page.md that several pages state. The payment address and the
// chain are operator settings: the pages show these defaults until /api/v1/config
// answers.
const (
	defaultPaymentAddress = "0xA7f3Ad0E69F61864092FAbBa6Cee00AF6e584689"
	rateText              = "$1 USD = 10,000 Credits"
	renewalText           = "Credits renew every day at 0:00:00 UTC"
	validityText          = "Credits are valid for 30 days from the date they were added"
	networkText           = "Base Chain (Chain ID: 8453)"
)

// navItem is one entry of the main navigation.
type navItem struct {
	path, label string
}

var mainNav = []navItem{
	{PathBuy, "Buy"},
	{PathPricing, "Pricing"},
	{PathAccount, "Account"},
	{PathHelp, "Help"},
}

// frame is the markup around every page: skip link, header with the navigation, the
// app's status, the page's content and the footer. active is the path of the
// navigation entry to highlight.
func frame(h *pageHeader, content ...app.UI) app.UI {
	return app.Div().Class("shell").Body(
		app.A().Class("skip").Href("#main").Text("Skip to content"),
		h,
		// The status is in <main> so that the offline notice and the dev ribbon,
		// like all content, belong to a landmark.
		app.Main().ID("main").Class("main").Body(append([]app.UI{&appStatus{}}, content...)...),
		siteFooter(),
	)
}

// pageHeader renders the top bar and names the page in the document's head: its
// title and description, set on the server when it prerenders and in the browser
// when the app navigates.
type pageHeader struct {
	app.Compo

	Title       string // the page's own title; the app's name is appended
	Description string
	Active      string // path of the highlighted navigation entry
}

func (h *pageHeader) OnPreRender(ctx app.Context) { h.describe(ctx) }
func (h *pageHeader) OnNav(ctx app.Context)       { h.describe(ctx) }

func (h *pageHeader) describe(ctx app.Context) {
	ctx.Page().SetTitle("%s", h.Title+" · "+appName)
	if h.Description != "" {
		ctx.Page().SetDescription("%s", h.Description)
	}
}

func (h *pageHeader) Render() app.UI {
	return app.Header().Class("topbar").Body(
		app.A().Class("brand").Href(PathHome).Aria("label", appName+", home").Body(
			brandMark(),
			app.Span().Text(appName),
		),
		app.Nav().Class("tabs").Aria("label", "Main").Body(
			app.Range(mainNav).Slice(func(i int) app.UI {
				item := mainNav[i]
				a := app.A().Href(item.path).Text(item.label)
				if item.path == h.Active {
					a = a.Aria("current", "page")
				}
				return a
			}),
		),
	)
}

// brandMark is the icon, inline so it needs no request (and shows offline).
func brandMark() app.UI {
	return app.Raw(`<svg class="mark" viewBox="0 0 100 100" width="28" height="28" aria-hidden="true">` +
		`<rect width="100" height="100" rx="22" fill="#4338ca"/>` +
		`<circle cx="50" cy="50" r="33" fill="none" stroke="#fff" stroke-width="6"/>` +
		`<path fill="#fff" d="M50 30Q50 50 70 50Q50 50 50 70Q50 50 30 50Q50 50 50 30Z"/></svg>`)
}

func siteFooter() app.UI {
	return app.Footer().Class("footer").Body(
		app.P().Text(rateText+" · Payments in ETH on Base or by card"),
		app.Nav().Aria("label", "Footer").Body(
			app.A().Href(PathPricing).Text("Pricing"),
			app.A().Href(PathHelp).Text("Help & troubleshooting"),
			app.A().Href(PathLogin).Text("Log in"),
		),
	)
}

// section is a titled block of a page; id makes it linkable (/help#lost-key).
func section(id, title string, body ...app.UI) app.UI {
	s := app.Section().Class("card")
	if id != "" {
		s = s.ID(id)
	}
	return s.Body(append([]app.UI{app.H2().Text(title)}, body...)...)
}

// bullets is a plain list of sentences.
func bullets(items ...string) app.UI {
	return app.Ul().Class("bullets").Body(
		app.Range(items).Slice(func(i int) app.UI { return app.Li().Text(items[i]) }),
	)
}

// facts is a definition list of label → value pairs, given as alternating strings.
// Ethereum addresses are set in monospace.
func facts(pairs ...string) app.UI {
	var rows []app.UI
	for i := 0; i+1 < len(pairs); i += 2 {
		value := app.Dd().Text(pairs[i+1])
		if strings.HasPrefix(pairs[i+1], "0x") {
			value = app.Dd().Body(app.Code().Class("address").Text(pairs[i+1]))
		}
		rows = append(rows, app.Div().Class("fact").Body(app.Dt().Text(pairs[i]), value))
	}
	return app.Dl().Class("facts").Body(rows...)
}

// alert shows an error message to assistive technology at once; empty renders nothing.
func alert(msg string) app.UI {
	if msg == "" {
		return nil
	}
	return app.P().Class("alert").Role("alert").Text(msg)
}

// credits formats an amount of credits for people: "100,000 Credits".
func credits(n int64) string {
	if n == 1 {
		return "1 Credit"
	}
	return shared.FormatCredits(n) + " Credits"
}

// uitoa writes a uint64 in decimal.
func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }

// countdown shows the time left until Until (RFC 3339), ticking every second while
// it is on screen: "14 min 05 s". It re-renders only itself, not its page.
type countdown struct {
	app.Compo

	Until  string // RFC 3339
	Prefix string // before the time left: "for "
	Over   string // shown once Until has passed

	now  time.Time
	stop chan struct{}
}

func (c *countdown) OnMount(ctx app.Context) {
	c.now = time.Now()
	c.stop = make(chan struct{})
	stop := c.stop
	ctx.Async(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				ctx.Dispatch(func(app.Context) { c.now = now })
			}
		}
	})
}

func (c *countdown) OnDismount() {
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
}

func (c *countdown) Render() app.UI {
	until, err := time.Parse(time.RFC3339, c.Until)
	if err != nil {
		return app.Span().Class("countdown").Text(c.Over)
	}
	now := c.now
	if now.IsZero() {
		now = time.Now() // prerendering: the static text is replaced on mount
	}
	left := until.Sub(now)
	if left <= 0 {
		return app.Span().Class("countdown over").Text(c.Over)
	}
	return app.Span().Class("countdown").Body(
		app.Text(c.Prefix),
		app.Time().DateTime("%s", c.Until).Text(durationText(left)),
	)
}

// durationText writes a duration for people, to the second: "5 h 12 min 03 s",
// "14 min 05 s", "42 s".
func durationText(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	two := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	switch {
	case h > 0:
		return strconv.FormatInt(h, 10) + " h " + two(m) + " min " + two(s) + " s"
	case m > 0:
		return strconv.FormatInt(m, 10) + " min " + two(s) + " s"
	}
	return strconv.FormatInt(s, 10) + " s"
}
