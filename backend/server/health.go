package server

import (
	"context"
	"net/http"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// healthz: the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: the database answers and, when there is one, the chain RPC answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = "not answering", http.StatusServiceUnavailable
	}
	if s.Chain != nil {
		checks["chain"] = "ok"
		if err := s.Chain.Ping(ctx); err != nil {
			checks["chain"], status = "not answering", http.StatusServiceUnavailable
		}
	}
	checks["role"] = "standby"
	if s.Ledger.Writing() {
		checks["role"] = "writer"
	}
	writeJSON(w, status, checks)
}

// pricing: GET /api/v1/pricing.
func (s *Server) pricing() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "public, max-age=60")
		writeJSON(w, http.StatusOK, s.Pricing.Table())
		return nil
	}
}

// devWallet: GET /dev/wallet (dev mode only): the funded wallet to try purchases with.
func (s *Server) devWallet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"address":     s.Dev.WalletAddress(),
		"private_key": s.Dev.WalletPrivateKey(),
		"rpc_url":     s.Config.PublicURL + "/dev/rpc",
		"chain_id":    s.Dev.ChainID(),
	})
}

// devAccount: POST /dev/accounts {"credits": n} (dev mode only) opens an account with
// a granted lot and answers its key, to try the charges API without buying first.
func (s *Server) devAccount() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Credits int64 `json:"credits"`
		}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if req.Credits < 0 || req.Credits > 1_000_000_000 {
			return errorf(shared.CodeInvalid, "credits must be between 0 and 1000000000")
		}
		key := s.Keys.NewKey()
		id := keys.NewID("acct_")
		if err := s.Ledger.OpenAccount(r.Context(), id, s.keyOp(key, id), "", &ledger.AdminInfo{Who: "dev", Why: "POST /dev/accounts", Action: "open"}); err != nil {
			return err
		}
		if req.Credits > 0 {
			if _, err := s.Ledger.Grant(r.Context(), id, req.Credits, credits.SourceGrant, "", &ledger.AdminInfo{Who: "dev", Why: "POST /dev/accounts", Action: "grant"}); err != nil {
				return err
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, map[string]any{"account": id, "key": key, "credits": req.Credits})
		return nil
	}
}
