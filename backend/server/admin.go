package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Admin is the support API the `aispace-credits admin` command talks to. It is
// served on its own listener (a unix socket in the data dir, or a loopback address),
// never on the public one, and every request carries the admin token. Actions change
// nothing behind the writer's back: they are commands of the ledger, journaled with
// who did them and why, and `admin audit` lists them.
func (s *Server) Admin(token string) http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /admin/v1/lookup", s.serve(s.adminLookup()))
	m.Handle("GET /admin/v1/unclaimed", s.serve(s.adminUnclaimed()))
	m.Handle("GET /admin/v1/audit", s.serve(s.adminAudit()))
	m.Handle("POST /admin/v1/accounts/{id}/{action}", s.serve(s.adminAction()))
	m.Handle("GET /metrics", s.Metrics())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(token)) != 1 {
			s.writeError(w, r, errorf(shared.CodeUnauthorized, "the admin token is required"))
			return
		}
		if !s.Ledger.Writing() && r.URL.Path != "/metrics" {
			addr := s.Ledger.WriterAddr()
			s.writeError(w, r, errorf(shared.CodeUnavailable, "this instance is not the writer; run the admin command on the writer's host (%s)", addr))
			return
		}
		m.ServeHTTP(w, r)
	})
}

func (s *Server) adminLookup() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		l := ledger.Lookup{Account: q.Get("account"), Purchase: q.Get("purchase"), Tx: q.Get("tx"),
			Session: q.Get("session"), Hint: q.Get("hint"), Wallet: q.Get("wallet")}
		if l == (ledger.Lookup{}) {
			return errorf(shared.CodeInvalid, "look up by account, purchase, tx, session, hint or wallet")
		}
		writeJSON(w, http.StatusOK, s.Ledger.Find(l, s.Ledger.Now()))
		return nil
	}
}

func (s *Server) adminUnclaimed() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.Ledger.Unclaimed())
		return nil
	}
}

func (s *Server) adminAudit() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.Ledger.AuditTrail(r.URL.Query().Get("account")))
		return nil
	}
}

// AdminRequest is the body of an admin action.
type AdminRequest struct {
	Who     string `json:"who"`
	Why     string `json:"why"`
	Credits int64  `json:"credits,omitempty"`
	Lot     string `json:"lot,omitempty"`
}

// adminAction: POST /admin/v1/accounts/{id}/{revoke|suspend|unsuspend|reissue|grant|clawback}.
func (s *Server) adminAction() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req AdminRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		req.Who, req.Why = strings.TrimSpace(req.Who), strings.TrimSpace(req.Why)
		if req.Who == "" || req.Why == "" {
			return errorf(shared.CodeInvalid, "say who you are (-who) and why (-why): both go into the audit trail")
		}
		id, action := r.PathValue("id"), r.PathValue("action")
		info := &ledger.AdminInfo{Who: req.Who, Why: req.Why, Action: action}
		opID := "" // admin actions may be repeated on purpose; each is its own op
		ctx := r.Context()
		out := map[string]any{"account": id, "action": action}
		var err error
		switch action {
		case "revoke":
			err = s.Ledger.SetStatus(ctx, id, ledger.StatusRevoked, req.Why, opID, info)
		case "suspend":
			err = s.Ledger.SetStatus(ctx, id, ledger.StatusSuspended, req.Why, opID, info)
		case "unsuspend":
			err = s.Ledger.SetStatus(ctx, id, ledger.StatusActive, req.Why, opID, info)
		case "reissue":
			key := s.Keys.NewKey()
			if err = s.Ledger.RotateKey(ctx, id, s.keyOp(key, id), info); err == nil {
				out["key"] = key // for support to hand over securely; never logged
			}
		case "grant":
			var lot string
			if lot, err = s.Ledger.Grant(ctx, id, req.Credits, credits.SourceGrant, opID, info); err == nil {
				out["lot"] = lot
			}
		case "clawback":
			err = s.Ledger.Clawback(ctx, id, req.Lot, req.Credits, req.Why, opID, info)
		default:
			return errorf(shared.CodeNotFound, "unknown action %q: revoke, suspend, unsuspend, reissue, grant or clawback", action)
		}
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}
