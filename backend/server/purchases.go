package server

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Purchases are created here for both methods; what differs by method lives in
// purchases_crypto.go and purchases_card.go.

// purchaseCookie binds a purchase to the browser that created it: the key of a new
// account is revealed only where this cookie is (SameSite=Lax, so the return from
// Stripe's page carries it).
func purchaseCookieName(id string) string { return "aisk_purchase_" + id }

// createPurchase: POST /api/v1/purchases.
func (s *Server) createPurchase() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req shared.CreatePurchaseRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		cents, err := shared.ParseUSD(req.USD)
		if err != nil {
			return errorf(shared.CodeInvalid, "usd: %s", err.Error())
		}
		if s.Config.MaxCents > 0 && cents > s.Config.MaxCents {
			return errorf(shared.CodeInvalid, "the most one purchase can be is $%s", s.Config.MaxCents)
		}
		// A logged-in buyer tops up; anyone else gets a new account and key.
		var account string
		if _, hasBearer := bearer(r); hasBearer || hasCookie(r, SessionCookie) {
			who, err := s.authenticate(r)
			if err != nil {
				return err
			}
			account = who.Account
		}
		secret := keys.NewSecret()
		p := ledger.Purchase{
			ID: keys.NewID("pur_"), SecretHash: s.Keys.HashSecret(secret), Method: req.Method,
			Cents: cents, Credits: cents.Credits(), Account: account,
		}
		var out shared.PurchaseCreated
		switch req.Method {
		case shared.MethodCrypto:
			out, err = s.createCryptoPurchase(r, req, &p, secret)
		case shared.MethodCard:
			if req.Wallet != "" {
				return errorf(shared.CodeInvalid, "wallet is for crypto purchases only")
			}
			out, err = s.createCardPurchase(r, &p)
		default:
			return errorf(shared.CodeInvalid, `method must be "crypto" or "card"`)
		}
		if err != nil {
			return err
		}
		out.ID, out.Secret, out.Method, out.USD, out.Credits, out.Status = p.ID, secret, p.Method, cents.String(), p.Credits, shared.StatusPending
		if p.Method == shared.MethodCard {
			s.setPurchaseCookie(w, p.ID, secret)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, out)
		return nil
	}
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

func (s *Server) setPurchaseCookie(w http.ResponseWriter, id, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: purchaseCookieName(id), Value: s.purchaseCookieValue(id, secret), Path: "/",
		MaxAge: int((7 * 24 * time.Hour).Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) purchaseCookieValue(id, secret string) string {
	return base64.RawURLEncoding.EncodeToString(s.Keys.MAC([]byte("purchase|" + id + "|" + secret)))
}

// purchaseBrowser reports whether the request comes from the browser that created
// the purchase (its cookie, compared in constant time).
func (s *Server) purchaseBrowser(r *http.Request, id, secret string) bool {
	c, err := r.Cookie(purchaseCookieName(id))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.purchaseCookieValue(id, secret))) == 1
}

// purchaseSecret reads X-Purchase-Secret.
func purchaseSecret(r *http.Request) (string, error) {
	secret := strings.TrimSpace(r.Header.Get("X-Purchase-Secret"))
	if secret == "" || len(secret) > 100 {
		return "", errorf(shared.CodeUnauthorized, "send the purchase secret in X-Purchase-Secret")
	}
	return secret, nil
}

// purchaseFor checks the purchase secret and returns the purchase.
func (s *Server) purchaseFor(r *http.Request, id string) (ledger.PurchaseInfo, string, error) {
	secret, err := purchaseSecret(r)
	if err != nil {
		return ledger.PurchaseInfo{}, "", err
	}
	p, err := s.Ledger.PurchaseView(id, s.Keys.HashSecret(secret))
	return p, secret, err
}

// getPurchase: GET /api/v1/purchases/{id}. The key of a new account is in the answer
// once, on the first read after the credit — for card purchases only in the browser
// that started the checkout.
func (s *Server) getPurchase() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		p, secret, err := s.purchaseFor(r, id)
		if err != nil {
			return err
		}
		if p.Method == shared.MethodCard && p.Status != shared.StatusCredited {
			// The return page: ask Stripe (never the URL) whether the session is paid.
			if p, err = s.fulfilCardOnReturn(r, p); err != nil {
				return err
			}
		}
		out := s.purchaseStatus(p)
		if p.Status == shared.StatusCredited && p.NewAccount && !p.KeyShown {
			if p.Method != shared.MethodCard || s.purchaseBrowser(r, id, secret) {
				key, err := s.takeKey(r, id)
				if err != nil {
					return err
				}
				out.Key = key
			} else {
				out.Message = "Paid. Your Secure Key is shown in the browser you paid from."
			}
		}
		out.KeyDelivered = p.KeyShown || out.Key != ""
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// takeKey hands out the new account's key once; "" when it was handed out already.
func (s *Server) takeKey(r *http.Request, purchaseID string) (string, error) {
	sealed, account, ok, err := s.Ledger.TakeKey(r.Context(), purchaseID)
	if err != nil || !ok {
		return "", err
	}
	return s.Keys.Open(sealed, account)
}

// purchaseStatus is a purchase as API.md shows it.
func (s *Server) purchaseStatus(p ledger.PurchaseInfo) shared.PurchaseStatus {
	out := shared.PurchaseStatus{
		ID: p.ID, Method: p.Method, Status: p.Status, USD: p.Cents.String(), Credits: p.Credits,
		CreditsGranted: p.CreditsGranted, TxHash: p.TxHash, Confirmations: int64(p.Confirmations),
		TopUp: p.Account != "" && !p.NewAccount, Message: p.Failure,
	}
	if p.Method == shared.MethodCrypto {
		out.Crypto = s.cryptoQuote(p.Purchase)
	}
	return out
}

// newKeyMaker makes keys for accounts that purchases open.
func (s *Server) newKeyMaker() ledger.KeyMaker {
	return func(account string) ledger.KeyOp { return s.keyOp(s.Keys.NewKey(), account) }
}

// config: GET /api/v1/config, what the PWA needs to know before the Buy page.
func (s *Server) config() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := shared.Config{
			Dev:                s.Config.Dev,
			CardEnabled:        s.cardEnabled(),
			CardMinUSD:         shared.Cents(50).String(),
			Confirmations:      1,
			QuoteWindowSeconds: 900,
		}
		if s.Config.MaxCents > 0 {
			c.MaxUSD = s.Config.MaxCents.String()
		}
		s.cryptoConfig(&c)
		w.Header().Set("Cache-Control", "public, max-age=60")
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}
