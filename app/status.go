package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// appStatus is the running app's status, on every page: a ribbon in dev mode, a
// notice while the browser is offline, a banner when a new version is ready. When it
// mounts it marks the document as taken over by the wasm app (data-app="ready"),
// which prerendered HTML never has.
type appStatus struct {
	app.Compo

	offline         bool
	updateReady     bool
	dev             bool
	stopWatchingNet func()
}

func (s *appStatus) OnMount(ctx app.Context) {
	s.dev = app.Getenv("AISPACE_DEV") == "1"
	s.offline = !isOnline()
	s.updateReady = ctx.AppUpdateAvailable()
	s.stopWatchingNet = onConnectivityChange(func(online bool) {
		ctx.Dispatch(func(app.Context) { s.offline = !online })
	})
	markAppReady()
}

func (s *appStatus) OnDismount() {
	if s.stopWatchingNet != nil {
		s.stopWatchingNet()
	}
}

// OnAppUpdate is called by go-app when the service worker has installed a newer
// version of the app.
func (s *appStatus) OnAppUpdate(ctx app.Context) { s.updateReady = true }

func (s *appStatus) Render() app.UI {
	return app.Div().Class("status").Body(
		app.If(s.dev, func() app.UI {
			return app.P().Class("ribbon").Text("Development mode: test network and test cards, no real money")
		}),
		app.If(s.offline, func() app.UI {
			return app.P().ID("offline-notice").Class("notice notice-offline").Role("status").Body(
				app.Strong().Text("You are offline. "),
				app.Text("Pages you opened before still work; prices, payments and your account need a connection."),
			)
		}),
		app.If(s.updateReady, func() app.UI {
			return app.P().Class("notice notice-update").Role("status").Body(
				app.Text("A new version of the app is ready. "),
				app.Button().Class("link").Text("Reload").OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
			)
		}),
	)
}
