package server

import (
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// login: POST /api/v1/session {"key"} → 204 and a session cookie. Attempts are
// rate-limited (routes.go) per client and in all, successful or not, so keys cannot
// be guessed fast.
func (s *Server) login() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req shared.SessionRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if err := shared.CheckKeyFormat(req.Key); err != nil {
			return errorf(shared.CodeUnauthorized, "%s", err.Error())
		}
		who, err := s.Ledger.Authenticate(s.Keys.Hash(req.Key))
		if err != nil {
			return err
		}
		s.setSession(w, who)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// logout: DELETE /api/v1/session ends every session of the account.
func (s *Server) logout() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Ledger.Logout(r.Context(), holderOf(r).Account); err != nil {
			return err
		}
		s.clearSession(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// account: GET /api/v1/account.
func (s *Server) account() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := s.Ledger.AccountView(holderOf(r).Account, s.Ledger.Now())
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// viewKey: GET /api/v1/account/key, "View your Secure Key".
func (s *Server) viewKey() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := holderOf(r).Account
		sealed, err := s.Ledger.SealedKey(id)
		if err != nil {
			return err
		}
		key, err := s.Keys.Open(sealed, id)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, shared.KeyBody{Key: key})
		return nil
	}
}

// rotateKey: POST /api/v1/account/key/rotate → the new key; the old one stops working
// at once. A session that asked keeps going with the new key.
func (s *Server) rotateKey() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := holderOf(r)
		key := s.Keys.NewKey()
		if err := s.Ledger.RotateKey(r.Context(), who.Account, s.keyOp(key, who.Account), nil); err != nil {
			return err
		}
		if _, err := r.Cookie(SessionCookie); err == nil {
			if h, err := s.Ledger.Authenticate(s.Keys.Hash(key)); err == nil {
				s.setSession(w, h)
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, shared.KeyBody{Key: key})
		return nil
	}
}

// keyOp is a new key as the ledger keeps it.
func (s *Server) keyOp(key, account string) ledger.KeyOp {
	return ledger.KeyOp{Hash: s.Keys.Hash(key), Sealed: s.Keys.Seal(key, account), Hint: shared.KeyHint(key)}
}

// setDailyCap: POST /api/v1/account/daily-cap {"daily_cap": n|null}.
func (s *Server) setDailyCap() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req shared.DailyCapRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		var n int64
		if req.DailyCap != nil {
			if n = *req.DailyCap; n <= 0 {
				return errorf(shared.CodeInvalid, "daily_cap must be a positive whole number, or null for none")
			}
		}
		if err := s.Ledger.SetDailyCap(r.Context(), holderOf(r).Account, n); err != nil {
			return err
		}
		return s.account()(w, r)
	}
}

// usage: GET /api/v1/account/usage?limit=&cursor= as JSON pages, or all of it as CSV
// with Accept: text/csv.
func (s *Server) usage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := holderOf(r).Account
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "text/csv") {
			return s.usageCSV(w, id)
		}
		limit := 50
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				return errorf(shared.CodeInvalid, "limit must be between 1 and 500")
			}
			limit = n
		}
		items, next, err := s.Ledger.UsagePage(id, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, shared.Usage{Items: items, NextCursor: next})
		return nil
	}
}

func (s *Server) usageCSV(w http.ResponseWriter, account string) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="aispace-credits-usage.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "at", "kind", "service", "units", "credits", "idempotency_key"})
	cursor := ""
	for {
		items, next, err := s.Ledger.UsagePage(account, cursor, 1000)
		if err != nil {
			return err
		}
		for _, it := range items {
			cw.Write([]string{it.ID, it.At, it.Kind, csvSafe(it.Service), csvSafe(formatUnits(it.Units)),
				strconv.FormatInt(it.Credits, 10), csvSafe(it.IdempotencyKey)})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func formatUnits(u map[string]int64) string {
	names := make([]string, 0, len(u))
	for k := range u {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.FormatInt(u[k], 10)
	}
	return strings.Join(parts, " ")
}
