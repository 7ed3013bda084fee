package app

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// This file wraps the browser APIs the pages use, other than the wallet (wallet.go)
// and fetch (api.go): promises, connectivity, the app-ready marker, the clipboard,
// full-page redirects, the page's origin, file downloads and the purchase
// websocket. Nothing else in the package calls app.Window().

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
	if uad := nav.Get("userAgentData"); uad.Truthy() && uad.Get("mobile").Bool() {
		return true
	}
	ua := nav.Get("userAgent").String()
	if strings.Contains(ua, "Mobi") || strings.Contains(ua, "Android") || strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") {
		return true
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

// copyKeyThen copies the key off the UI goroutine and calls done back on it with the
// outcome, for the pages that show a key.
func copyKeyThen(ctx app.Context, key string, done func(error)) {
	ctx.Async(func() {
		err := copyToClipboard(key)
		ctx.Dispatch(func(app.Context) { done(err) })
	})
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

// pageOrigin is the page's scheme and host ("https://credits.example.com"), for
// URLs a wallet or another app opens from outside the page.
func pageOrigin() string {
	if app.IsServer {
		return ""
	}
	return app.Window().Get("location").Get("origin").String()
}

// saveBlob hands a Blob to the browser as a download named filename, through a
// temporary object URL and a clicked <a download>.
func saveBlob(blob app.Value, filename string) {
	if app.IsServer {
		return
	}
	w := app.Window()
	u := w.Get("URL").Call("createObjectURL", blob)
	doc := w.Get("document")
	a := doc.Call("createElement", "a")
	a.Set("href", u)
	a.Set("download", filename)
	a.Get("style").Set("display", "none")
	doc.Get("body").Call("appendChild", a)
	a.Call("click")
	a.Call("remove")
	// Revoke later: the download starts asynchronously from the URL.
	time.AfterFunc(time.Minute, func() { w.Get("URL").Call("revokeObjectURL", u) })
}

// socket is a WebSocket to this origin carrying text messages. Its callbacks run
// on the browser's event loop, so they must only hand their news to the page
// (ctx.Dispatch), never block.
type socket struct {
	ws    app.Value
	funcs []app.Func
	once  sync.Once
}

// openSocket connects to path on this origin (ws:// or wss:// as the page is http
// or https). onOpen runs when it is connected, onMessage for each text message,
// and onClose once when it closes or fails to connect; after onClose the socket
// is done.
func openSocket(path string, onOpen func(), onMessage func(string), onClose func()) (*socket, error) {
	if app.IsServer {
		return nil, errNotInBrowser
	}
	loc := app.Window().Get("location")
	scheme := "ws://"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss://"
	}
	s := &socket{ws: app.Window().Get("WebSocket").New(scheme + loc.Get("host").String() + path)}
	handler := func(f func(app.Value)) app.Func {
		fn := app.FuncOf(func(_ app.Value, args []app.Value) any { f(firstArg(args)); return nil })
		s.funcs = append(s.funcs, fn)
		return fn
	}
	s.ws.Set("onopen", handler(func(app.Value) { onOpen() }))
	s.ws.Set("onmessage", handler(func(ev app.Value) {
		if d := ev.Get("data"); d.Type() == app.TypeString {
			onMessage(d.String())
		}
	}))
	s.ws.Set("onclose", handler(func(app.Value) {
		s.close()
		onClose()
	}))
	return s, nil
}

// send writes one text message.
func (s *socket) send(text string) {
	if s.ws.Get("readyState").Int() == 1 { // OPEN
		s.ws.Call("send", text)
	}
}

// close disconnects without calling onClose, and releases the callbacks.
func (s *socket) close() {
	s.once.Do(func() {
		for _, name := range []string{"onopen", "onmessage", "onclose"} {
			s.ws.Set(name, nil)
		}
		if st := s.ws.Get("readyState").Int(); st == 0 || st == 1 { // CONNECTING, OPEN
			s.ws.Call("close")
		}
		funcs := s.funcs
		// A callback may be the caller: release once it has returned.
		time.AfterFunc(time.Second, func() {
			for _, f := range funcs {
				f.Release()
			}
		})
	})
}

// revealElement scrolls the element with id to the top of the screen (below the
// sticky header, by its CSS scroll-margin) and, when focusID is not "", moves the
// focus to that element without scrolling again.
func revealElement(id, focusID string) {
	if app.IsServer {
		return
	}
	doc := app.Window().Get("document")
	if e := doc.Call("getElementById", id); e.Truthy() {
		e.Call("scrollIntoView", map[string]any{"block": "start"})
	}
	if focusID == "" {
		return
	}
	if f := doc.Call("getElementById", focusID); f.Truthy() {
		f.Call("focus", map[string]any{"preventScroll": true})
	}
}
