package web_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/web"
	"github.com/aispace/credits/shared"
)

// fakeAPI answers the API the pages call (API.md) from memory, so these tests can
// put a purchase in each state of its life and look at the page: it is no
// backend, only the contract's shapes. The end-to-end tests against the real
// server are in backend/cmd/aispace-credits/pwa_*_test.go.
type fakeAPI struct {
	t   *testing.T
	url string

	mu        sync.Mutex
	purchases map[string]*fakePurchase
	subs      map[string][]chan shared.WSMessage
	loggedIn  bool
	key       string
	txs       []string // hashes handed to POST .../tx
	cap       *int64
}

type fakePurchase struct {
	secret   string
	status   shared.PurchaseStatus
	keyTaken bool
}

const (
	fakeKey     = "aisk_2Xq9MZk7TnH4rB8sVw3LcJd6PfG1yUa5NeK0oQiR7tYzXbCm4h"
	fakeEthUSD  = "3150.12"
	fakePayTo   = "0xA7f3Ad0E69F61864092FAbBa6Cee00AF6e584689"
	fakeAccount = "0x71c7656ec7ab88b098defb751b7401b5f6d8976f"
	fakeTxHash  = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"
	fakeSignURL = "/test-signer"
)

// startServerWithAPI serves the PWA and fakeAPI on loopback.
func startServerWithAPI(t *testing.T) (*httptest.Server, *fakeAPI) {
	t.Helper()
	builtWasm(t)
	f := &fakeAPI{t: t, purchases: map[string]*fakePurchase{}, subs: map[string][]chan shared.WSMessage{}, key: fakeKey}
	mux := http.NewServeMux()
	f.routes(mux)
	mux.Handle("/", web.NewHandler(web.Options{Dev: true}))
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return srv, f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, shared.ErrorBody{Error: shared.ErrorDetail{Code: code, Message: msg}})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *fakeAPI) routes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, shared.Config{ChainID: 8453, ChainName: "Base", RPCURL: "/dev/rpc", PaymentAddress: fakePayTo,
			CardEnabled: true, CardMinUSD: "0.50", MaxUSD: "10000.00", Confirmations: 1, Dev: true, QuoteWindowSeconds: 900})
	})
	m.HandleFunc("GET /api/v1/price", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, shared.Price{EthUSD: fakeEthUSD, Source: "chainlink", UpdatedAt: time.Now().UTC().Format(time.RFC3339)})
	})
	m.HandleFunc("GET /api/v1/pricing", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, shared.Pricing{CreditsPerUSD: 10000, Services: []shared.PricingService{
			{ID: "chat:model-a", Unit: "1k_input_tokens", Credits: 30}, {ID: "image:1024", Unit: "image", Credits: 400, Description: "Image, 1024×1024"},
		}})
	})
	m.HandleFunc("POST /api/v1/purchases", func(w http.ResponseWriter, r *http.Request) {
		var req shared.CreatePurchaseRequest
		json.NewDecoder(r.Body).Decode(&req)
		cents, err := shared.ParseUSD(req.USD)
		if err != nil {
			writeErr(w, 400, shared.CodeInvalid, "usd: "+err.Error())
			return
		}
		id, secret := "pur_"+randomHex(6), randomHex(16)
		if req.Method == shared.MethodCard {
			// "Stripe" sends the buyer straight back, as after paying.
			created := shared.PurchaseCreated{ID: id, Secret: secret, Method: req.Method, USD: cents.String(), Credits: cents.Credits(),
				Status: shared.StatusPending, Card: &shared.CardCheckout{CheckoutURL: f.url + "/purchase/" + id + "?session_id=cs_test_1"}}
			f.mu.Lock()
			f.purchases[id] = &fakePurchase{secret: secret, status: shared.PurchaseStatus{ID: id, Method: req.Method, Status: shared.StatusPending,
				USD: cents.String(), Credits: cents.Credits()}}
			f.mu.Unlock()
			writeJSON(w, 201, created)
			return
		}
		// wei = cents / 100 / 3150.12 ETH, written plainly (the numbers need not be exact here).
		q := &shared.CryptoQuote{To: fakePayTo, ChainID: 8453, Wei: "3174482978400000", ETH: "0.003174", EthUSD: fakeEthUSD,
			ExpiresAt: time.Now().Add(15 * time.Minute).UTC().Format(time.RFC3339)}
		q.EIP681 = "ethereum:" + fakePayTo + "@8453?value=" + q.Wei
		q.MetaMaskLink = "https://metamask.app.link/dapp/" + strings.TrimPrefix(f.url, "http://") + "/purchase/" + id + "#s=" + secret
		created := shared.PurchaseCreated{ID: id, Secret: secret, Method: req.Method, USD: cents.String(), Credits: cents.Credits(), Status: shared.StatusPending, Crypto: q}
		f.mu.Lock()
		f.purchases[id] = &fakePurchase{secret: secret, status: shared.PurchaseStatus{ID: id, Method: req.Method, Status: shared.StatusPending,
			USD: cents.String(), Credits: cents.Credits(), Crypto: q}}
		f.mu.Unlock()
		writeJSON(w, 201, created)
	})
	m.HandleFunc("GET /api/v1/purchases/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		p, ok := f.purchases[r.PathValue("id")]
		if !ok || r.Header.Get("X-Purchase-Secret") != p.secret {
			writeErr(w, 401, shared.CodeUnauthorized, "this purchase's secret is wrong")
			return
		}
		out := p.status
		if out.Status == shared.StatusCredited && !p.keyTaken && !out.TopUp {
			out.Key, p.keyTaken = f.key, true
		}
		out.KeyDelivered = p.keyTaken
		writeJSON(w, 200, out)
	})
	m.HandleFunc("POST /api/v1/purchases/{id}/tx", func(w http.ResponseWriter, r *http.Request) {
		var req shared.SubmitTxRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		p, ok := f.purchases[r.PathValue("id")]
		f.txs = append(f.txs, req.TxHash)
		f.mu.Unlock()
		if !ok || r.Header.Get("X-Purchase-Secret") != p.secret {
			writeErr(w, 401, shared.CodeUnauthorized, "this purchase's secret is wrong")
			return
		}
		f.set(p.status.ID, func(s *shared.PurchaseStatus) { s.Status, s.TxHash = shared.StatusSubmitted, req.TxHash })
		w.WriteHeader(202)
	})
	upgrader := websocket.Upgrader{}
	m.HandleFunc("GET /api/v1/ws", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("purchase")
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		var hello shared.WSHello
		if conn.ReadJSON(&hello) != nil {
			return
		}
		f.mu.Lock()
		p, ok := f.purchases[id]
		if !ok || hello.Secret != p.secret {
			f.mu.Unlock()
			conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4401, "unauthorized"))
			return
		}
		ch := make(chan shared.WSMessage, 16)
		f.subs[id] = append(f.subs[id], ch)
		f.mu.Unlock()
		conn.WriteJSON(shared.WSMessage{Type: "price", EthUSD: fakeEthUSD})
		go func() { // notice the page closing
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					f.mu.Lock()
					subs := f.subs[id]
					for i, c := range subs {
						if c == ch {
							f.subs[id] = append(subs[:i:i], subs[i+1:]...)
						}
					}
					close(ch)
					f.mu.Unlock()
					return
				}
			}
		}()
		for m := range ch {
			if conn.WriteJSON(m) != nil {
				return
			}
		}
	})
	// The test wallet's signer: any transaction "succeeds" with a fixed hash.
	m.HandleFunc("POST "+fakeSignURL+"/tx", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"result": fakeTxHash})
	})
	m.HandleFunc("POST "+fakeSignURL+"/message", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"result": "0x" + strings.Repeat("ab", 65)})
	})
	m.HandleFunc("POST /dev/rpc", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"jsonrpc": "2.0", "id": 1, "result": "0x0"})
	})

	// Key holder.
	m.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		var req shared.SessionRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if req.Key != f.key {
			writeErr(w, 401, shared.CodeUnauthorized, "unknown key")
			return
		}
		f.loggedIn = true
		w.WriteHeader(204)
	})
	m.HandleFunc("DELETE /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.loggedIn = false
		f.mu.Unlock()
		w.WriteHeader(204)
	})
	holder := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			in := f.loggedIn
			f.mu.Unlock()
			if !in {
				writeErr(w, 401, shared.CodeUnauthorized, "log in with your Secure Key first")
				return
			}
			h(w, r)
		}
	}
	m.HandleFunc("GET /api/v1/account", holder(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, f.account()) }))
	m.HandleFunc("GET /api/v1/account/key", holder(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, shared.KeyBody{Key: f.key})
	}))
	m.HandleFunc("POST /api/v1/account/key/rotate", holder(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.key = "aisk_9Rb3Kp2WnQ7xVt5Lm8Hc4Jd1Fg6Ys0Ue3Ao7Ni2Zq5Tw8Xr1Cv4"
		writeJSON(w, 200, shared.KeyBody{Key: f.key})
	}))
	m.HandleFunc("POST /api/v1/account/daily-cap", holder(func(w http.ResponseWriter, r *http.Request) {
		var req shared.DailyCapRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.cap = req.DailyCap
		f.mu.Unlock()
		writeJSON(w, 200, f.account())
	}))
	m.HandleFunc("GET /api/v1/account/usage", holder(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/csv") {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Write([]byte("id,at,kind,service,units,credits,idempotency_key\nchg_1,2026-03-01T18:47:00Z,charge,chat:model-a,input_tokens=1200,36,try-1\n"))
			return
		}
		writeJSON(w, 200, shared.Usage{Items: []shared.UsageItem{
			{ID: "chg_2", Service: "image:1024", Units: map[string]int64{"images": 1}, Credits: 400, At: "2026-03-01T19:02:00Z"},
			{ID: "chg_1", Service: "chat:model-a", Units: map[string]int64{"input_tokens": 1200, "output_tokens": 300}, Credits: 54, At: "2026-03-01T18:47:00Z"},
		}})
	}))
	m.HandleFunc("POST /api/v1/recover/challenge", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, shared.RecoverChallenge{Message: "AiSpace Credits wants you to recover your Secure Key.\nNonce: 42"})
	})
	m.HandleFunc("POST /api/v1/recover", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, shared.KeyBody{Key: f.key})
	})
}

func (f *fakeAPI) account() shared.Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return shared.Account{
		Balance: 99_546, Used: 454, Held: 0, KeyHint: f.key[len(f.key)-4:], DailyCap: f.cap,
		NextRenewalAt: next.Format(time.RFC3339), SpentToday: 454,
		Lots: []shared.Lot{{ID: "lot_1", Source: "crypto", Credits: 100_000, Remaining: 99_546,
			AddedAt: "2026-03-01T18:40:00Z", ExpiresAt: "2026-04-01T00:00:00Z"}},
	}
}

// set changes a purchase and tells its websockets, as the backend does.
func (f *fakeAPI) set(id string, change func(*shared.PurchaseStatus)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.purchases[id]
	change(&p.status)
	m := shared.WSMessage{Type: "purchase", Status: p.status.Status, Confirmations: p.status.Confirmations,
		CreditsGranted: p.status.CreditsGranted, TxHash: p.status.TxHash}
	for _, ch := range f.subs[id] {
		select {
		case ch <- m:
		default:
		}
	}
}

// pushKey hands the key over the websocket, once, as the backend does after the
// credit.
func (f *fakeAPI) pushKey(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.purchases[id]
	if p.keyTaken {
		return
	}
	p.keyTaken = true
	for _, ch := range f.subs[id] {
		select {
		case ch <- shared.WSMessage{Type: "key", Key: f.key}:
		default:
		}
	}
}

// only returns the one purchase made so far.
func (f *fakeAPI) only(t *testing.T) (id, secret string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.purchases) != 1 {
		t.Fatalf("purchases: got %d, want 1", len(f.purchases))
	}
	for id, p := range f.purchases {
		return id, p.secret
	}
	return "", ""
}
