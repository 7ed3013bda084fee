package app

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"

	"github.com/aispace/credits/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// This file is the typed client of the HTTP API (API.md). It calls window.fetch
// rather than net/http, which would add its whole transport to the wasm. Every call
// blocks until the answer arrives, so it must run in ctx.Async.

// apiError is an error answer of the API: the HTTP status and the body's stable code
// and message ({"error": {"code", "message"}}).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return "the server answered " + strconv.Itoa(e.Status)
}

// errNetwork is returned when the request never got an answer: the phone is offline
// or the server cannot be reached.
var errNetwork = errors.New("no connection to the server: check your network and try again")

// isAPICode reports whether err is an API answer with the given code.
func isAPICode(err error, code string) bool {
	var e *apiError
	return errors.As(err, &e) && e.Code == code
}

// apiStatus is the HTTP status of an API answer, 0 for other errors.
func apiStatus(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// callAPI sends method path with body (JSON-encoded unless nil) and decodes a
// successful answer into out (unless nil). header adds request headers.
func callAPI(method, path string, body, out any, header map[string]any) error {
	if app.IsServer {
		return errNotInBrowser
	}
	headers := map[string]any{"Accept": "application/json"}
	for k, v := range header {
		headers[k] = v
	}
	init := map[string]any{
		"method":      method,
		"credentials": "same-origin",
		"cache":       "no-store",
		"headers":     headers,
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		headers["Content-Type"] = "application/json"
		init["body"] = string(b)
	}
	res, err := await(app.Window().Call("fetch", path, init))
	if err != nil {
		return errNetwork
	}
	text, err := await(res.Call("text"))
	if err != nil {
		return errNetwork
	}
	status := res.Get("status").Int()
	if status >= 400 {
		var eb shared.ErrorBody
		_ = json.Unmarshal([]byte(text.String()), &eb)
		return &apiError{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out == nil || status == 204 {
		return nil
	}
	if err := json.Unmarshal([]byte(text.String()), out); err != nil {
		return errors.New("the server sent an answer this app does not understand")
	}
	return nil
}

func purchaseSecretHeader(secret string) map[string]any {
	return map[string]any{"X-Purchase-Secret": secret}
}

// getConfig reads the operator's settings the pages need (chain, payment address,
// card minimum).
func getConfig() (shared.Config, error) {
	var c shared.Config
	return c, callAPI("GET", "/api/v1/config", nil, &c, nil)
}

// getPrice reads the current ETH/USD price; price_unavailable when it is stale.
func getPrice() (shared.Price, error) {
	var p shared.Price
	return p, callAPI("GET", "/api/v1/price", nil, &p, nil)
}

// getPricing reads the operator's pricing table.
func getPricing() (shared.Pricing, error) {
	var p shared.Pricing
	return p, callAPI("GET", "/api/v1/pricing", nil, &p, nil)
}

// getAccount reads the logged-in holder's account; unauthorized when not logged in.
func getAccount() (shared.Account, error) {
	var a shared.Account
	return a, callAPI("GET", "/api/v1/account", nil, &a, nil)
}

// logIn exchanges a Secure Key for a session cookie.
func logIn(key string) error {
	return callAPI("POST", "/api/v1/session", shared.SessionRequest{Key: key}, nil, nil)
}

// logOut ends the session.
func logOut() error {
	return callAPI("DELETE", "/api/v1/session", nil, nil, nil)
}

// createPurchase starts a purchase; the answer holds its secret, returned only once.
func createPurchase(req shared.CreatePurchaseRequest) (shared.PurchaseCreated, error) {
	var p shared.PurchaseCreated
	return p, callAPI("POST", "/api/v1/purchases", req, &p, nil)
}

// getPurchase reads a purchase's progress with its secret.
func getPurchase(id, secret string) (shared.PurchaseStatus, error) {
	var p shared.PurchaseStatus
	return p, callAPI("GET", "/api/v1/purchases/"+url.PathEscape(id), nil, &p, purchaseSecretHeader(secret))
}

// submitTx hands the hash of the wallet's transaction to the backend.
func submitTx(id, secret, txHash string) error {
	return callAPI("POST", "/api/v1/purchases/"+url.PathEscape(id)+"/tx",
		shared.SubmitTxRequest{TxHash: txHash}, nil, purchaseSecretHeader(secret))
}

// getAccountKey reads the holder's Secure Key ("View your Secure Key").
func getAccountKey() (string, error) {
	var k shared.KeyBody
	return k.Key, callAPI("GET", "/api/v1/account/key", nil, &k, nil)
}

// rotateAccountKey replaces the holder's key; the old one stops working at once.
func rotateAccountKey() (string, error) {
	var k shared.KeyBody
	return k.Key, callAPI("POST", "/api/v1/account/key/rotate", nil, &k, nil)
}

// setDailyCap sets the holder's daily spending cap; nil removes it. The answer is
// the account as it is now.
func setDailyCap(cap *int64) (shared.Account, error) {
	var a shared.Account
	return a, callAPI("POST", "/api/v1/account/daily-cap", shared.DailyCapRequest{DailyCap: cap}, &a, nil)
}

// getUsage reads one page of the holder's usage history, newest first; cursor ""
// is the first page.
func getUsage(cursor string, limit int) (shared.Usage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var u shared.Usage
	return u, callAPI("GET", "/api/v1/account/usage?"+q.Encode(), nil, &u, nil)
}

// downloadUsageCSV asks for the whole usage history as CSV (Accept: text/csv) and
// hands it to the browser as a file download.
func downloadUsageCSV() error {
	if app.IsServer {
		return errNotInBrowser
	}
	res, err := await(app.Window().Call("fetch", "/api/v1/account/usage", map[string]any{
		"credentials": "same-origin",
		"cache":       "no-store",
		"headers":     map[string]any{"Accept": "text/csv"},
	}))
	if err != nil {
		return errNetwork
	}
	if status := res.Get("status").Int(); status >= 400 {
		text, _ := await(res.Call("text"))
		var eb shared.ErrorBody
		if text != nil && text.Type() == app.TypeString {
			_ = json.Unmarshal([]byte(text.String()), &eb)
		}
		return &apiError{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	blob, err := await(res.Call("blob"))
	if err != nil {
		return errNetwork
	}
	saveBlob(blob, "aispace-credits-usage.csv")
	return nil
}

// recoverChallenge asks for the message a wallet that paid into an account signs
// to recover its key.
func recoverChallenge(wallet string) (string, error) {
	var c shared.RecoverChallenge
	return c.Message, callAPI("POST", "/api/v1/recover/challenge", shared.RecoverChallengeRequest{Wallet: wallet}, &c, nil)
}

// recoverKey exchanges the signed challenge for the key of the account the wallet
// paid into.
func recoverKey(wallet, signature string) (string, error) {
	var k shared.KeyBody
	return k.Key, callAPI("POST", "/api/v1/recover", shared.RecoverRequest{Wallet: wallet, Signature: signature}, &k, nil)
}
