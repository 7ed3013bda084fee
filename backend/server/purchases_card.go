package server

import (
	"net/http"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Card payments: Checkout Sessions, the return page and Stripe's webhook.
// (Scaffold: the card payments work fills this file.)

func (s *Server) createCardPurchase(r *http.Request, p *ledger.Purchase) (shared.PurchaseCreated, error) {
	return shared.PurchaseCreated{}, errorf(shared.CodeInvalid, "card payments are not set up on this server")
}

func (s *Server) fulfilCardOnReturn(r *http.Request, p ledger.PurchaseInfo) (ledger.PurchaseInfo, error) {
	return p, nil
}

func (s *Server) cardEnabled() bool { return false }
