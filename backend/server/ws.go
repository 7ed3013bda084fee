package server

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Purchase websockets: GET /api/v1/ws?purchase={id}. The page proves it holds the
// purchase secret with its first message, {"secret": "..."}; from then on the server
// pushes the live price ({"type": "price"}), every change of the purchase
// ({"type": "purchase"}) and, once, the new account's key ({"type": "key"}).
//
// One hub serves every socket. Changes come from the ledger's commit hook (the writer
// calls it after each durable entry and must never wait): the hook only notes which
// purchases, transactions or blocks an entry touched and signals the hub's goroutine,
// which reads the purchases and queues a message for their sockets. Each socket has a
// writer goroutine with a small queue; a socket whose queue is full is too slow and is
// dropped (the page reconnects and is told the current state), so nothing ever waits
// for a socket. A message for many sockets (a price tick) is encoded and framed once.

const (
	wsHelloWait   = 10 * time.Second // the page's {"secret"} must arrive this soon
	wsWriteWait   = 10 * time.Second // a write that takes longer drops the socket
	wsPongWait    = 60 * time.Second // a socket silent this long (no pong, no message) is gone
	wsPingPeriod  = 25 * time.Second // under the idle timeouts of proxies and mobile networks
	wsQueue       = 8                // messages a socket may have waiting before it is dropped
	wsReadLimit   = 1024             // the page sends only its hello
	wsMaxSockets  = 200_000          // in all: beyond, a flood, not buyers (about 3 GB of sockets)
	wsPerPurchase = 16               // tabs and devices following one purchase
	// wsFollowConfirmations: a credited purchase's confirmations are news up to this
	// count, then not worth a message per block.
	wsFollowConfirmations = 64
)

var wsUpgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
	// Small buffers, and a write buffer only while writing: the page sends one short
	// message and the server's messages are prepared frames, so big per-socket buffers
	// would only cost memory (the goal is under 30 KB a socket).
	ReadBufferSize:  256,
	WriteBufferSize: 256,
	WriteBufferPool: &sync.Pool{},
	// The origin is checked before Upgrade (sameOrigin), to answer in the API's shape.
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsPurchase is the "purchase" message. Unlike shared.WSMessage it always carries
// confirmations and credits_granted, zero included.
type wsPurchase struct {
	Type           string `json:"type"`
	Status         string `json:"status"`
	Confirmations  int64  `json:"confirmations"`
	CreditsGranted int64  `json:"credits_granted"`
	TxHash         string `json:"tx_hash,omitempty"`
	Message        string `json:"message,omitempty"`
}

func purchaseMessage(p ledger.PurchaseInfo) wsPurchase {
	return wsPurchase{Type: "purchase", Status: p.Status, Confirmations: int64(p.Confirmations),
		CreditsGranted: p.CreditsGranted, TxHash: p.TxHash, Message: p.Failure}
}

func priceMessage(p chain.Price) shared.WSMessage {
	b := priceBody(p)
	return shared.WSMessage{Type: "price", EthUSD: b.EthUSD, Source: b.Source, UpdatedAt: b.UpdatedAt}
}

// prepare encodes and frames a message once, for any number of sockets.
func prepare(v any) *websocket.PreparedMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own message types come here
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		panic(err)
	}
	return pm
}

// websocket: GET /api/v1/ws?purchase={id}.
func (s *Server) websocket() http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		if s.Crypto == nil {
			return errorf(shared.CodeNotFound, "crypto payments are not set up on this server")
		}
		id := r.URL.Query().Get("purchase")
		if id == "" || len(id) > 64 {
			return errorf(shared.CodeInvalid, "name the purchase: /api/v1/ws?purchase={id}")
		}
		if !s.sameOrigin(r) {
			return errorf(shared.CodeForbidden, "a websocket from another site is refused")
		}
		if !websocket.IsWebSocketUpgrade(r) {
			return errorf(shared.CodeInvalid, "this is a websocket endpoint: connect with a websocket")
		}
		h, _ := s.cryptoParts()
		if h == nil {
			return errorf(shared.CodeUnavailable, "the server is shutting down; try again shortly")
		}
		conn, err := wsUpgrader.Upgrade(hijacker{w}, r, nil)
		if err != nil {
			return nil // Upgrade has answered
		}
		// The socket reads on a goroutine of its own and this handler returns: the
		// HTTP server's goroutine, its deep stack and its connection's buffers are
		// freed, which halves what a socket costs while it waits.
		h.serveSocket(r, conn, id)
		return nil
	})
}

// hijacker lets the websocket take the connection through the server's response
// wrappers (which unwrap to it for http.ResponseController).
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// sameOrigin refuses a websocket opened by a page of another site: browsers let any
// page open a websocket anywhere, with the buyer's cookies. A request without an
// Origin is not from a browser page, and still needs the purchase secret. In dev mode
// the page may be opened at another name of this host (127.0.0.1 for localhost).
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if pub, err := url.Parse(s.Config.PublicURL); err == nil && strings.EqualFold(o.Scheme, pub.Scheme) && strings.EqualFold(o.Host, pub.Host) {
		return true
	}
	return s.Config.Dev && strings.EqualFold(o.Host, r.Host)
}

// socket is one purchase page's websocket.
type socket struct {
	conn      *websocket.Conn
	ctx       context.Context // the upgrade request's values, never canceled: takeKey's context
	mayGetKey bool            // a card purchase's key goes only to the browser that paid
	queue     chan *websocket.PreparedMessage
	key       chan *websocket.PreparedMessage // apart, so the key is never behind or dropped for a price tick
	done      chan struct{}
	shutOnce  sync.Once
	closeCode int
	closeText string
}

// send queues a message, or drops the socket if it is too far behind. Never blocks.
func (k *socket) send(pm *websocket.PreparedMessage) {
	select {
	case k.queue <- pm:
	default:
		k.shut(websocket.CloseTryAgainLater, "too slow: reconnect")
	}
}

func (k *socket) sendKey(pm *websocket.PreparedMessage) {
	select {
	case k.key <- pm:
	default: // a key is waiting already: it is the same key
	}
}

// shut ends the socket: its writer says why and closes the connection.
func (k *socket) shut(code int, text string) {
	k.shutOnce.Do(func() {
		k.closeCode, k.closeText = code, text
		close(k.done)
	})
}

// writeLoop writes what is queued, and pings, until the socket is shut or a write
// fails; then it closes the connection, which ends the reading side too.
func (k *socket) writeLoop() {
	ping := time.NewTicker(wsPingPeriod)
	defer ping.Stop()
	defer k.conn.Close()
	write := func(pm *websocket.PreparedMessage) bool {
		k.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		if err := k.conn.WritePreparedMessage(pm); err != nil {
			k.shut(websocket.CloseAbnormalClosure, "")
			return false
		}
		return true
	}
	for {
		select { // the key first, whatever else waits
		case pm := <-k.key:
			if !write(pm) {
				return
			}
			continue
		default:
		}
		select {
		case pm := <-k.key:
			if !write(pm) {
				return
			}
		case pm := <-k.queue:
			if !write(pm) {
				return
			}
		case <-ping.C:
			if err := k.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				return
			}
		case <-k.done:
			if k.closeCode != websocket.CloseAbnormalClosure {
				k.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(k.closeCode, k.closeText), time.Now().Add(time.Second))
			}
			return
		}
	}
}

// closeNow refuses a socket before it joins the hub.
func closeNow(conn *websocket.Conn, code int, text string) {
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	conn.Close()
}

// watch is one purchase followed by sockets, and what they were last told.
type watch struct {
	id      string
	secret  keys.Hash // proven by every socket here: reads the purchase
	sockets map[*socket]struct{}
	last    wsPurchase
	told    bool
	taking  bool // a TakeKey for it is under way
}

// hub is every purchase socket of the server.
type hub struct {
	s   *Server
	log *slog.Logger

	mu      sync.Mutex // guards the fields below, and orders the messages of a purchase
	sockets map[*socket]*watch
	watches map[string]*watch
	price   *websocket.PreparedMessage // the newest price message
	n       atomic.Int64               // len(sockets), read without the lock

	// What the committed entries touched since the hub last looked.
	pmu        sync.Mutex
	touched    map[string]bool // purchases
	txs        map[string]bool // transactions, for payments whose op names no purchase
	chainMoved bool            // the head moved: confirmations changed
	signal     chan struct{}

	unhook, unprice func()
	stop, done      chan struct{}
}

func newHub(s *Server) *hub {
	h := &hub{
		s: s, log: s.log,
		sockets: map[*socket]*watch{}, watches: map[string]*watch{},
		touched: map[string]bool{}, txs: map[string]bool{},
		signal: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		unprice: func() {},
	}
	h.unhook = s.Ledger.OnCommit(h.onCommit)
	if p := s.Crypto.Prices; p != nil {
		if last, ok := p.Last(); ok {
			h.price = prepare(priceMessage(last))
		}
		h.unprice = p.Subscribe(h.onPrice)
	}
	go h.loop()
	return h
}

func (h *hub) count() int { return int(h.n.Load()) }

func (h *hub) close() {
	h.unhook()
	h.unprice()
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.sockets {
		k.shut(websocket.CloseGoingAway, "the server is restarting: reconnect")
	}
}

// serveSocket reads the hello and, if the secret is right, starts the socket's
// goroutines: one reads (pongs) until it ends, one writes.
func (h *hub) serveSocket(r *http.Request, conn *websocket.Conn, id string) {
	conn.SetReadLimit(wsReadLimit)
	conn.SetReadDeadline(time.Now().Add(wsHelloWait))
	var hello shared.WSHello
	if err := conn.ReadJSON(&hello); err != nil || hello.Secret == "" || len(hello.Secret) > 100 {
		closeNow(conn, websocket.ClosePolicyViolation, `send {"secret": "<purchase secret>"} first`)
		return
	}
	secret := h.s.Keys.HashSecret(hello.Secret)
	info, err := h.s.Ledger.PurchaseView(id, secret)
	if err != nil {
		closeNow(conn, websocket.ClosePolicyViolation, "wrong purchase secret")
		return
	}
	k := &socket{
		conn: conn, ctx: context.WithoutCancel(r.Context()),
		mayGetKey: info.Method != shared.MethodCard || h.s.purchaseBrowser(r, id, hello.Secret),
		queue:     make(chan *websocket.PreparedMessage, wsQueue),
		key:       make(chan *websocket.PreparedMessage, 1),
		done:      make(chan struct{}),
	}
	if refused := h.join(k, id, secret); refused != "" {
		closeNow(conn, websocket.CloseTryAgainLater, refused)
		return
	}
	go k.writeLoop()
	go h.readLoop(k)
}

// readLoop reads until the page goes (or stops answering pings), then ends the socket.
func (h *hub) readLoop(k *socket) {
	defer h.leave(k)
	alive := func(string) error { return k.conn.SetReadDeadline(time.Now().Add(wsPongWait)) }
	alive("")
	k.conn.SetPongHandler(alive)
	for {
		if _, _, err := k.conn.NextReader(); err != nil {
			break
		}
		alive("") // the page spoke: it is there (what it says is not read)
	}
	k.shut(websocket.CloseNormalClosure, "")
}

// join adds a socket and greets it: the price, the purchase as it is now and, if it
// is due, the key. It refuses the socket, saying why, when the server is shutting
// down or has too many.
func (h *hub) join(k *socket, id string, secret keys.Hash) (refused string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
		return "the server is restarting: reconnect"
	default:
	}
	w := h.watches[id]
	if len(h.sockets) >= wsMaxSockets || (w != nil && len(w.sockets) >= wsPerPurchase) {
		return "too many sockets: try again later"
	}
	if w == nil {
		w = &watch{id: id, secret: secret, sockets: map[*socket]struct{}{}}
		h.watches[id] = w
	}
	w.sockets[k] = struct{}{}
	h.sockets[k] = w
	h.n.Add(1)
	if h.price != nil {
		k.send(h.price)
	}
	// Read under the hub's lock, as refresh does, so a purchase's messages leave in
	// the order of the states they show.
	info, err := h.s.Ledger.PurchaseView(id, secret)
	if err != nil {
		return ""
	}
	msg := purchaseMessage(info)
	k.send(prepare(msg))
	w.last, w.told = msg, true
	h.deliverIfDue(w, info)
	return ""
}

func (h *hub) leave(k *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.sockets[k]
	if w == nil {
		return
	}
	delete(h.sockets, k)
	h.n.Add(-1)
	delete(w.sockets, k)
	if len(w.sockets) == 0 && !w.taking {
		delete(h.watches, w.id)
	}
}

// onCommit is the ledger's commit hook: it notes what the entry touched and wakes the
// hub. It runs on the ledger's writer goroutine and never blocks.
func (h *hub) onCommit(ops []ledger.Op) {
	if h.n.Load() == 0 {
		return // nobody listens; a socket that joins reads the purchase itself
	}
	h.pmu.Lock()
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Purchase != nil:
			if op.Purchase.Purchase != nil {
				h.touched[op.Purchase.Purchase.ID] = true
			} else if op.Purchase.Ref != "" {
				h.touched[op.Purchase.Ref] = true
			}
		case op.Payment != nil:
			h.txs[op.Payment.Tx] = true
			if op.Payment.Purchase != "" {
				h.touched[op.Payment.Purchase] = true
			}
			if c := op.Payment.Credit; c != nil && c.Purchase != "" {
				h.touched[c.Purchase] = true
			}
		case op.Chain != nil:
			h.chainMoved = true
		case op.Card != nil:
			h.touched[op.Card.Purchase] = true
		}
	}
	h.pmu.Unlock()
	select {
	case h.signal <- struct{}{}:
	default:
	}
}

// onPrice sends a new price to every socket.
func (h *hub) onPrice(p chain.Price) {
	pm := prepare(priceMessage(p))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.price = pm
	for k := range h.sockets {
		k.send(pm)
	}
}

func (h *hub) loop() {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		case <-h.signal:
			h.flush()
		}
	}
}

// flush tells the sockets of every purchase the committed entries touched.
func (h *hub) flush() {
	h.pmu.Lock()
	touched, txs, moved := h.touched, h.txs, h.chainMoved
	h.touched, h.txs, h.chainMoved = map[string]bool{}, map[string]bool{}, false
	h.pmu.Unlock()
	for tx := range txs {
		if id := h.s.Ledger.PurchaseOfTx(tx); id != "" {
			touched[id] = true
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if moved {
		for id, w := range h.watches {
			switch w.last.Status {
			case shared.StatusSubmitted, shared.StatusSeen, shared.StatusConfirmed:
				touched[id] = true
			case shared.StatusCredited:
				if w.last.Confirmations < wsFollowConfirmations {
					touched[id] = true
				}
			}
		}
	}
	for id := range touched {
		if w := h.watches[id]; w != nil {
			h.refresh(w)
		}
	}
}

// refresh reads a purchase and tells its sockets if it changed. h.mu is held.
func (h *hub) refresh(w *watch) {
	info, err := h.s.Ledger.PurchaseView(w.id, w.secret)
	if err != nil {
		return
	}
	if msg := purchaseMessage(info); !w.told || msg != w.last {
		w.last, w.told = msg, true
		pm := prepare(msg)
		for k := range w.sockets {
			k.send(pm)
		}
	}
	h.deliverIfDue(w, info)
}

// deliverIfDue takes the new account's key for the purchase's sockets once it is
// credited, through takeKey, the once-only path GET uses too. h.mu is held.
func (h *hub) deliverIfDue(w *watch, info ledger.PurchaseInfo) {
	if info.Status != shared.StatusCredited || !info.NewAccount || info.KeyShown || w.taking {
		return
	}
	for k := range w.sockets {
		if k.mayGetKey {
			w.taking = true
			go h.takeKey(w.id, k.ctx)
			return
		}
	}
}

// takeKey journals that the key was handed out and sends it to the purchase's
// sockets. Its context outlives the socket that asked: once TakeKey may have been
// journaled, its answer must not be dropped for a page that left.
func (h *hub) takeKey(id string, base context.Context) {
	ctx, cancel := context.WithTimeout(base, 15*time.Second)
	defer cancel()
	// s.takeKey reads only the request's context.
	key, err := h.s.takeKey((&http.Request{}).WithContext(ctx), id)
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[id]
	if w != nil {
		w.taking = false
		if len(w.sockets) == 0 {
			delete(h.watches, id)
		}
	}
	if err != nil {
		h.log.Error("purchase websocket: handing out the key failed", "purchase", id, "err", err)
		return
	}
	if key == "" {
		return // handed out already (GET /api/v1/purchases/{id})
	}
	pm := prepare(shared.WSMessage{Type: "key", Key: key})
	sent := 0
	if w != nil {
		for k := range w.sockets {
			if k.mayGetKey {
				k.sendKey(pm)
				sent++
			}
		}
	}
	if sent == 0 {
		h.log.Warn("purchase websocket: the key was taken for a page that closed meanwhile; its buyer can recover it by wallet signature", "purchase", id)
	}
}
