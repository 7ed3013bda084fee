package server

import (
	"net/http"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Card payments: Checkout Sessions, the return page and Stripe's webhook.
// (Scaffold: the card payments work fills this file.)

// Card is what the server needs for card purchases; nil Deps.Card refuses them.
type Card struct{}

func (s *Server) createCardPurchase(r *http.Request, p *ledger.Purchase) (shared.PurchaseCreated, error) {
	return shared.PurchaseCreated{}, errorf(shared.CodeInvalid, "card payments are not set up on this server")
}

func (s *Server) fulfilCardOnReturn(r *http.Request, p ledger.PurchaseInfo) (ledger.PurchaseInfo, error) {
	return p, nil
}

func (s *Server) cardEnabled() bool { return false }

// stripeWebhook: POST /api/v1/stripe/webhook — the raw body, verified before anything.
func (s *Server) stripeWebhook() http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "card payments are not set up on this server")
	})
}
