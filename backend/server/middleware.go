package server

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/shared"
)

// contentSecurityPolicy lets the go-app PWA run and nothing else: scripts only from
// this origin plus WebAssembly compilation ('wasm-unsafe-eval', not 'unsafe-eval'), no
// inline scripts (go-app's page has none), no framing, no plugins. Inline style
// attributes are allowed: go-app sets some while it loads, and they cannot run code.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; " +
	"base-uri 'self'; form-action 'self'; object-src 'none'"

// secureHeaders sets the headers every answer carries, whoever writes the body.
func (s *Server) secureHeaders(h http.Header) {
	csp := contentSecurityPolicy
	if s.Config.ConnectSrc != "" {
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+s.Config.ConnectSrc, 1)
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// cors answers cross-origin requests to the API from the operator's allow-list only;
// by default there is none, so browsers keep other sites from reading the API.
// It reports whether the request was a preflight it answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !strings.HasPrefix(r.URL.Path, "/api/") || !s.allowedOrigin(origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Credentials", "true")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Purchase-Secret")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

func (s *Server) allowedOrigin(origin string) bool {
	for _, o := range s.Config.CORSOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// limit applies a per-client and a global token bucket to a route: 429 rate_limited
// with Retry-After when either is empty.
func (s *Server) limit(perClient, global *limiter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		ok, wait := perClient.allow(s.clientOf(r), now)
		if ok && global != nil {
			ok, wait = global.allow("*", now)
		}
		if !ok {
			secs := int(wait.Seconds()) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			s.writeError(w, r, errorf(shared.CodeRateLimited, "too many requests; try again in %d seconds", secs))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// The client of a request forwarded by another instance is named in clientHeader,
// vouched for by a MAC under the secrets the instances share, so a client cannot
// pick its own rate-limit bucket by sending the header itself.
const clientHeader = "X-Aispace-Client"

func (s *Server) forwardClient(r *http.Request) {
	ip := s.clientOf(r)
	r.Header.Set(clientHeader, ip)
	r.Header.Set(forwardedHeader, base64.RawURLEncoding.EncodeToString(s.Keys.MAC([]byte("forwarded|"+ip))))
}

// clientOf is the client a request comes from, for rate limits: its IP address, or
// the one a forwarding instance vouched for, or (behind the operator's proxy, when
// configured) the first address of X-Forwarded-For.
func (s *Server) clientOf(r *http.Request) string {
	if ip := r.Header.Get(clientHeader); ip != "" {
		mac, err := base64.RawURLEncoding.DecodeString(r.Header.Get(forwardedHeader))
		if err == nil && s.Keys.Verify([]byte("forwarded|"+ip), mac) {
			return ip
		}
	}
	if s.Config.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	return clientIP(r)
}

// statusWriter remembers the status an answer was given, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (websockets, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
