package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// SessionCookie names the key holder's session cookie.
const SessionCookie = "aisk_session"

// sessionTTL is how long a login lasts.
const sessionTTL = 30 * 24 * time.Hour

type holderKey struct{}

// holderOf is the key holder a request was authenticated as.
func holderOf(r *http.Request) ledger.Holder {
	h, _ := r.Context().Value(holderKey{}).(ledger.Holder)
	return h
}

func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:]), true
	}
	return "", false
}

// service lets the operator's AI services in: Authorization: Bearer <service token>,
// compared in constant time. Without a configured token nobody gets in.
func (s *Server) service(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		want := s.Config.ServiceToken
		if !ok || want == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
			s.writeError(w, r, errorf(shared.CodeUnauthorized, "this route is for the operator's services: send Authorization: Bearer <service token>"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// holder lets a key holder in, by Authorization: Bearer <secure key> or by the
// session cookie.
func (s *Server) holder(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), holderKey{}, who)))
	})
}

func (s *Server) authenticate(r *http.Request) (ledger.Holder, error) {
	if key, ok := bearer(r); ok {
		if err := shared.CheckKeyFormat(key); err != nil {
			return ledger.Holder{}, errorf(shared.CodeUnauthorized, "%s", err.Error())
		}
		return s.Ledger.Authenticate(s.Keys.Hash(key))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if account, gen, ok := s.readSession(c.Value, time.Now()); ok {
			return s.Ledger.Session(account, gen)
		}
	}
	return ledger.Holder{}, errorf(shared.CodeUnauthorized, "log in with your Secure Key first")
}

// A session cookie is "account.gen.expiry.mac": the account, the key generation it was
// opened with (a rotation or log-out ends it), when it ends, and a MAC of the three.
func (s *Server) newSession(h ledger.Holder, now time.Time) string {
	body := h.Account + "." + strconv.FormatInt(h.KeyGen, 10) + "." + strconv.FormatInt(now.Add(sessionTTL).Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.Keys.MAC([]byte(body)))
}

func (s *Server) readSession(v string, now time.Time) (account string, gen int64, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", 0, false
	}
	body, mac := v[:i], v[i+1:]
	m, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !s.Keys.Verify([]byte(body), m) {
		return "", 0, false
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 {
		return "", 0, false
	}
	gen, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || now.Unix() >= exp {
		return "", 0, false
	}
	return parts[0], gen, true
}

func (s *Server) setSession(w http.ResponseWriter, h ledger.Holder) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: s.newSession(h, time.Now()), Path: "/",
		MaxAge: int(sessionTTL.Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}
