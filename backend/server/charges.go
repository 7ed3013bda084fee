package server

import (
	"net/http"
	"time"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// charge: POST /api/v1/charges, by the operator's services.
func (s *Server) charge() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req shared.ChargeRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if err := serviceRequestErr(req.Key, req.IdempotencyKey); err != nil {
			return err
		}
		var n int64
		switch {
		case req.Credits != nil:
			if n = *req.Credits; n <= 0 {
				return errorf(shared.CodeInvalid, "credits must be a positive whole number")
			}
			if len(req.Units) > 0 && req.Service == "" {
				return errorf(shared.CodeInvalid, "units need a service")
			}
		case req.Service != "":
			var err error
			if n, err = s.Pricing.Price(req.Service, req.Units); err != nil {
				return err
			}
		default:
			return errorf(shared.CodeInvalid, "send either service and units, priced from GET /api/v1/pricing, or credits")
		}
		u, err := s.Ledger.Charge(r.Context(), ledger.ChargeRequest{
			Key: s.Keys.Hash(req.Key), Idem: req.IdempotencyKey, Service: req.Service, Units: req.Units, Credits: n,
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, shared.ChargeResult{ID: u.ID, Charged: u.Credits, Balance: u.Balance})
		return nil
	}
}

// serviceRequestErr checks what every service request names: the holder's key, by
// its format (typos caught before any lookup), and an idempotency key.
func serviceRequestErr(key, idem string) error {
	if err := shared.CheckKeyFormat(key); err != nil {
		return errorf(shared.CodeUnauthorized, "key: %s", err.Error())
	}
	return idempotencyKeyErr(idem)
}

// hold: POST /api/v1/holds.
func (s *Server) hold() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req shared.HoldRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if err := serviceRequestErr(req.Key, req.IdempotencyKey); err != nil {
			return err
		}
		if req.Credits <= 0 {
			return errorf(shared.CodeInvalid, "credits must be a positive whole number")
		}
		if req.Service != "" && !s.Pricing.Has(req.Service) {
			return errorf(shared.CodeInvalid, "unknown service %q: see GET /api/v1/pricing", req.Service)
		}
		h, err := s.Ledger.Hold(r.Context(), ledger.HoldRequest{
			Key: s.Keys.Hash(req.Key), Idem: req.IdempotencyKey, Credits: req.Credits,
			TTL: time.Duration(req.TTLSeconds) * time.Second, Service: req.Service,
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, shared.HoldResult{ID: h.ID, Credits: h.Credits, ExpiresAt: h.ExpiresAt.Format(time.RFC3339)})
		return nil
	}
}

// capture: POST /api/v1/holds/{id}/capture {"credits": n}.
func (s *Server) capture() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Credits *int64           `json:"credits"`
			Service string           `json:"service,omitempty"`
			Units   map[string]int64 `json:"units,omitempty"`
		}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if req.Credits == nil || *req.Credits < 0 {
			return errorf(shared.CodeInvalid, "credits is required: what to charge, at most what the hold reserved")
		}
		res, err := s.Ledger.Capture(r.Context(), r.PathValue("id"), *req.Credits, req.Service, req.Units)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, shared.CaptureResult{Charged: res.Charged, Balance: res.Balance})
		return nil
	}
}

// release: POST /api/v1/holds/{id}/release.
func (s *Server) release() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		res, err := s.Ledger.Release(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, shared.ReleaseResult{Released: res.Released, Balance: res.Balance})
		return nil
	}
}
