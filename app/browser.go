package app

import (
	"errors"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// This file wraps the browser APIs the pages use, other than the wallet (wallet.go):
// promises, connectivity, the app-ready marker, the clipboard, the storage of
// purchase secrets and full-page redirects. Nothing else in the package calls
// app.Window().

// errNotInBrowser is returned by the wrappers when they run outside a browser (during
// server-side prerendering), where there is no window to call.
var errNotInBrowser = errors.New("not running in a browser")

// jsError is a rejected promise or a thrown JavaScript error, with the numeric code
// that EIP-1193 providers attach (0 when there is none).
type jsError struct {
	Code    int
	Message string
}

func (e *jsError) Error() string {
	if e.Code != 0 {
		return e.Message + " (code " + strconv.Itoa(e.Code) + ")"
	}
	return e.Message
}

// jsErrorOf turns a rejection reason into a *jsError.
func jsErrorOf(v app.Value) *jsError {
	e := &jsError{Message: "unknown error"}
	if v == nil || !v.Truthy() {
		return e
	}
	if v.Type() == app.TypeString {
		e.Message = v.String()
		return e
	}
	if v.Type() != app.TypeObject {
		return e
	}
	if m := v.Get("message"); m.Type() == app.TypeString && m.String() != "" {
		e.Message = m.String()
	}
	if c := v.Get("code"); c.Type() == app.TypeNumber {
		e.Code = c.Int()
	}
	return e
}

// await blocks until the promise p settles and returns its value or its rejection as
// a *jsError. It must run on a goroutine of its own (ctx.Async), never on the UI
// goroutine, which it would block.
func await(p app.Value) (app.Value, error) {
	if app.IsServer {
		return nil, errNotInBrowser
	}
	type settled struct {
		v   app.Value
		err error
	}
	done := make(chan settled, 1)
	onResolve := app.FuncOf(func(_ app.Value, args []app.Value) any {
		done <- settled{v: firstArg(args)}
		return nil
	})
	defer onResolve.Release()
	onReject := app.FuncOf(func(_ app.Value, args []app.Value) any {
		done <- settled{err: jsErrorOf(firstArg(args))}
		return nil
	})
	defer onReject.Release()
	p.Call("then", onResolve, onReject)
	s := <-done
	return s.v, s.err
}

func firstArg(args []app.Value) app.Value {
	if len(args) == 0 {
		return app.Undefined()
	}
	return args[0]
}

// isOnline reports navigator.onLine: false means the browser knows it is offline.
func isOnline() bool {
	if app.IsServer {
		return true
	}
	return app.Window().Get("navigator").Get("onLine").Bool()
}

// onConnectivityChange calls f(true) when the browser comes online and f(false) when
// it goes offline, until stop is called.
func onConnectivityChange(f func(online bool)) (stop func()) {
	if app.IsServer {
		return func() {}
	}
	w := app.Window()
	online := app.FuncOf(func(app.Value, []app.Value) any { f(true); return nil })
	offline := app.FuncOf(func(app.Value, []app.Value) any { f(false); return nil })
	w.Call("addEventListener", "online", online)
	w.Call("addEventListener", "offline", offline)
	return func() {
		w.Call("removeEventListener", "online", online)
		w.Call("removeEventListener", "offline", offline)
		online.Release()
		offline.Release()
	}
}

// markAppReady sets data-app="ready" on the <html> element. Only the running wasm app
// sets it (the server never does), so tests and scripts can tell a prerendered page
// from one the app has taken over.
func markAppReady() {
	if app.IsServer {
		return
	}
	app.Window().Get("document").Get("documentElement").Get("dataset").Set("app", "ready")
}

// isMobile reports whether the browser says it runs on a phone or tablet.
func isMobile() bool {
	if app.IsServer {
		return false
	}
	nav := app.Window().Get("navigator")
	if uad := nav.Get("userAgentData"); uad.Truthy() {
		return uad.Get("mobile").Bool()
	}
	return app.Window().Call("matchMedia", "(pointer: coarse)").Get("matches").Bool()
}

// copyToClipboard writes text to the clipboard. It waits for the browser's answer,
// so it must run in ctx.Async.
func copyToClipboard(text string) error {
	if app.IsServer {
		return errNotInBrowser
	}
	clip := app.Window().Get("navigator").Get("clipboard")
	if !clip.Truthy() {
		return errors.New("this browser does not allow copying here: select the text and copy it")
	}
	_, err := await(clip.Call("writeText", text))
	return err
}

// assignLocation leaves the app for url in the same tab (Stripe Checkout, wallet deep
// links), so the back button returns to the page that left.
func assignLocation(url string) {
	if app.IsServer {
		return
	}
	app.Window().Get("location").Call("assign", url)
}

// currentURL is the page's address, for deep links that reopen it elsewhere.
func currentURL() string {
	if app.IsServer {
		return ""
	}
	return app.Window().Get("location").Get("href").String()
}
