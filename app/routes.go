package app

import (
	"net/url"
	"strings"
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The paths of the pages. "/" is the Buy page too.
const (
	PathHome    = "/"
	PathBuy     = "/buy"
	PathAccount = "/account"
	PathLogin   = "/login"
	PathPricing = "/pricing"
	PathHelp    = "/help"
)

// purchasePrefix starts the path of a purchase's progress page; the id follows.
const purchasePrefix = "/purchase/"

// PurchasePattern matches the path of a purchase's progress page. Purchase ids are
// URL-safe (letters, digits, '-' and '_'), so the id needs no escaping.
const PurchasePattern = `^/purchase/[A-Za-z0-9_-]{1,64}$`

var routesOnce sync.Once

// Routes registers every page with go-app. The wasm main calls it before
// app.RunWhenOnBrowser and the server before it prerenders, so both render the same
// component for a path. Calling it again does nothing.
func Routes() {
	routesOnce.Do(func() {
		app.Route(PathHome, func() app.Composer { return &buyPage{} })
		app.Route(PathBuy, func() app.Composer { return &buyPage{} })
		app.Route(PathAccount, func() app.Composer { return &accountPage{} })
		app.Route(PathLogin, func() app.Composer { return &loginPage{} })
		app.Route(PathPricing, func() app.Composer { return &pricingPage{} })
		app.Route(PathHelp, func() app.Composer { return &helpPage{} })
		app.RouteWithRegexp(PurchasePattern, func() app.Composer { return &purchasePage{} })
	})
}

// PurchasePath is the path of the progress page of purchase id.
func PurchasePath(id string) string { return purchasePrefix + id }

// purchaseIDFrom reads the purchase id from a progress page's URL ("" if it is not one).
func purchaseIDFrom(u *url.URL) string {
	if u == nil || !strings.HasPrefix(u.Path, purchasePrefix) {
		return ""
	}
	return strings.TrimPrefix(u.Path, purchasePrefix)
}
