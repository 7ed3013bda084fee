package server

import (
	"net/http"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Crypto payments: quotes, submitted transactions, the websocket and recovery by
// wallet signature. (Scaffold: the crypto payments work fills this file.)

// Crypto is what the server needs for crypto purchases; nil Deps.Crypto refuses them.
type Crypto struct{}

func (s *Server) createCryptoPurchase(r *http.Request, req shared.CreatePurchaseRequest, p *ledger.Purchase) (shared.PurchaseCreated, error) {
	return shared.PurchaseCreated{}, errorf(shared.CodeInvalid, "crypto payments are not set up on this server")
}

func (s *Server) cryptoQuote(p ledger.Purchase) *shared.CryptoQuote { return nil }

func (s *Server) cryptoConfig(c *shared.Config) {}
