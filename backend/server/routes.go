package server

import (
	"net/http"

	"github.com/aispace/credits/shared"
)

// routes registers every route of the product, in one place.
func (s *Server) routes() {
	m := s.mux
	// Liveness and readiness.
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)

	// Public.
	m.Handle("GET /api/v1/pricing", s.serve(s.pricing()))
	m.Handle("GET /api/v1/config", s.serve(s.config()))
	m.Handle("POST /api/v1/purchases", s.limit(s.limits.purchase, s.limits.purchaseAll, s.writer(s.serve(s.createPurchase()))))
	m.Handle("GET /api/v1/purchases/{id}", s.writer(s.serve(s.getPurchase())))
	m.Handle("POST /api/v1/purchases/{id}/tx", s.limit(s.limits.tx, nil, s.writer(s.serve(s.submitTx()))))
	m.Handle("GET /api/v1/ws", s.writer(s.websocket()))
	m.Handle("GET /api/v1/price", s.serve(s.price()))
	m.Handle("POST /api/v1/recover/challenge", s.limit(s.limits.recovery, s.limits.recoveryAll, s.writer(s.serve(s.recoverChallenge()))))
	m.Handle("POST /api/v1/recover", s.limit(s.limits.recovery, s.limits.recoveryAll, s.writer(s.serve(s.recoverKey()))))
	m.Handle("POST /api/v1/stripe/webhook", s.writer(s.stripeWebhook()))
	m.Handle("POST /api/v1/session", s.limit(s.limits.login, s.limits.loginAll, s.writer(s.serve(s.login()))))
	m.Handle("DELETE /api/v1/session", s.writer(s.holder(s.serve(s.logout()))))

	// Key holder.
	m.Handle("GET /api/v1/account", s.writer(s.holder(s.serve(s.account()))))
	m.Handle("GET /api/v1/account/key", s.writer(s.holder(s.serve(s.viewKey()))))
	m.Handle("POST /api/v1/account/key/rotate", s.writer(s.holder(s.serve(s.rotateKey()))))
	m.Handle("GET /api/v1/account/usage", s.writer(s.holder(s.serve(s.usage()))))
	m.Handle("POST /api/v1/account/daily-cap", s.writer(s.holder(s.serve(s.setDailyCap()))))

	// Service: the operator's AI services spending a holder's credits.
	m.Handle("POST /api/v1/charges", s.writer(s.service(s.serve(s.charge()))))
	m.Handle("POST /api/v1/holds", s.writer(s.service(s.serve(s.hold()))))
	m.Handle("POST /api/v1/holds/{id}/capture", s.writer(s.service(s.serve(s.capture()))))
	m.Handle("POST /api/v1/holds/{id}/release", s.writer(s.service(s.serve(s.release()))))

	// Unknown API paths answer in the API's shape, not with the PWA.
	m.Handle("/api/", s.serve(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "no such API route: %s %s", r.Method, r.URL.Path)
	}))

	// Dev mode only: the in-process chain and its funded wallet.
	if s.Dev != nil {
		m.Handle("/dev/rpc", s.Dev.Handler())
		m.HandleFunc("GET /dev/wallet", s.devWallet)
		m.Handle("POST /dev/accounts", s.writer(s.serve(s.devAccount())))
	}

	// Everything else is the PWA.
	if s.Web != nil {
		m.Handle("/", s.Web)
	}
}
