package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Config is the part of the operator's settings the HTTP layer uses.
type Config struct {
	PublicURL    string // https://credits.example.com: cookies are Secure when https
	ServiceToken string // the operator's AI services authenticate with it; empty disables them
	Dev          bool
	MaxCents     shared.Cents // the most one purchase may be; 0: no limit of ours
	CORSOrigins  []string     // origins allowed to call the API from a browser; none by default
	TrustProxy   bool         // take the client's address from X-Forwarded-For (behind the operator's proxy)
	AccessLog    bool         // a log line per request
	ConnectSrc   string       // extra CSP connect-src sources (WalletConnect's relay, when configured)
}

// Pinger is something /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// DevChain is the in-process chain of dev mode, as the server exposes it.
type DevChain interface {
	Handler() http.Handler
	ChainID() uint64
	WalletAddress() string
	WalletPrivateKey() string
}

// Deps are what the server is made of.
type Deps struct {
	Config  Config
	Ledger  *ledger.Ledger
	Keys    *keys.Keyring
	Pricing *credits.Pricing
	DB      Pinger
	Chain   Pinger // the chain RPC; nil when there is none to check
	Web     http.Handler
	Dev     DevChain // nil outside dev mode
	Crypto  *Crypto  // nil: crypto purchases are refused
	Card    *Card    // nil: card purchases are refused
	Gauges  Gauges   // open sockets and price age, for /metrics; nil: not reported
	Logger  *slog.Logger
}

// Server answers every HTTP request of the product.
type Server struct {
	Deps
	log      *slog.Logger
	mux      *http.ServeMux
	limits   limits
	metrics  *metrics
	secure   bool
	proxyFor func(addr string) *httputil.ReverseProxy
}

// New returns the server with every route of routes.go.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Server{
		Deps:   d,
		log:    d.Logger,
		mux:    http.NewServeMux(),
		limits: newLimits(),
		secure: strings.HasPrefix(d.Config.PublicURL, "https://"),
	}
	s.metrics = newMetrics(s)
	s.proxyFor = proxyCache()
	s.routes()
	return s
}

// ServeHTTP gives each request an id, the security headers and an access log line,
// and recovers from panics as "internal".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	s.secureHeaders(w.Header())
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", id, "path", r.URL.Path, "panic", v)
			s.writeError(sw, r, errorf(shared.CodeInternal, "internal error"))
		}
		s.observe(r, sw.status, time.Since(start))
		if s.Config.AccessLog {
			// The path only: keys travel in headers and bodies, never in URLs.
			s.log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"ms", float64(time.Since(start).Microseconds())/1000, "client", s.clientOf(r))
		}
	}()
	if s.cors(sw, r) {
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// writer wraps API handlers that need the writer's state: an instance that does not
// hold the lease forwards the request to the one that does, or answers 503.
func (s *Server) writer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ledger.Writing() {
			h.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(forwardedHeader) != "" {
			// Already forwarded once: never bounce between two standbys.
			s.writeError(w, r, ledger.ErrNotWriter)
			return
		}
		addr := s.Ledger.WriterAddr()
		if addr == "" {
			s.writeError(w, r, ledger.ErrNotWriter)
			return
		}
		s.forwardClient(r)
		s.proxyFor(addr).ServeHTTP(w, r)
	})
}

const forwardedHeader = "X-Aispace-Forwarded"

// proxyCache keeps one reverse proxy per writer address.
func proxyCache() func(addr string) *httputil.ReverseProxy {
	var last string
	var p *httputil.ReverseProxy
	var mu = make(chan struct{}, 1)
	return func(addr string) *httputil.ReverseProxy {
		mu <- struct{}{}
		defer func() { <-mu }()
		if addr == last && p != nil {
			return p
		}
		u, err := url.Parse(addr)
		if err != nil {
			u = &url.URL{Scheme: "http", Host: "invalid"}
		}
		p = httputil.NewSingleHostReverseProxy(u)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, shared.ErrorBody{Error: shared.ErrorDetail{
				Code: shared.CodeUnavailable, Message: "the writer instance cannot be reached; try again shortly"}})
		}
		last = addr
		return p
	}
}
