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

// submitTx: POST /api/v1/purchases/{id}/tx.
func (s *Server) submitTx() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeInvalid, "crypto payments are not set up on this server")
	}
}

// websocket: GET /api/v1/ws?purchase={id}.
func (s *Server) websocket() http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "crypto payments are not set up on this server")
	})
}

// price: GET /api/v1/price.
func (s *Server) price() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodePriceUnavailable, "no price source is set up on this server")
	}
}

// recoverChallenge: POST /api/v1/recover/challenge.
func (s *Server) recoverChallenge() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "recovery by wallet is not set up on this server")
	}
}

// recoverKey: POST /api/v1/recover.
func (s *Server) recoverKey() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "recovery by wallet is not set up on this server")
	}
}
