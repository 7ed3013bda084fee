package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// Card payments: Checkout Sessions, the return page and Stripe's webhook. The card
// package speaks to Stripe and decides what Stripe's answers mean; this file turns
// them into the API's answers, and card_ledger.go gives the card package the ledger.

// Card is what the server needs for card purchases; nil Deps.Card refuses them.
// A Card belongs to one Server: the server binds its ledger and key maker to it when
// it is built.
type Card struct {
	svc    *card.Service
	ledger *cardLedger

	mu     sync.Mutex
	server *Server              // the server it is bound to
	asked  map[string]time.Time // purchase id → when the return page last asked Stripe
}

// NewCard checks the Stripe settings and returns the server's card part. Without
// cfg.SecretKey card payments are off (the Card refuses them, as a nil one does);
// settings that are present but wrong are an error, so that a typo stops the server
// at start rather than the first buyer at checkout.
func NewCard(cfg card.Config) (*Card, error) {
	a := &cardLedger{}
	svc, err := card.New(cfg, a)
	if err != nil {
		return nil, err
	}
	return &Card{svc: svc, ledger: a, asked: map[string]time.Time{}}, nil
}

// card returns the card service bound to this server, or nil when card payments are
// off.
func (s *Server) card() *card.Service {
	c := s.Card
	if c == nil || !c.svc.Configured() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.server {
	case s:
	case nil:
		c.server = s
		c.ledger.bind(s.Ledger, s.newKeyMaker())
	default:
		// Two servers would credit through the first one's ledger: a wiring bug.
		panic("server: a Card was given to two servers")
	}
	return c.svc
}

func (s *Server) cardEnabled() bool { return s.card() != nil }

// errCardOff is the answer to a card purchase on a server without a Stripe key. The
// PWA knows it beforehand from GET /api/v1/config (card_enabled: false).
var errCardOff = errorf(shared.CodeInvalid, "card payments are not set up on this server; pay with crypto instead")

// createCardPurchase creates the purchase's Checkout Session, then journals the
// purchase with its session, and only then gives the buyer the checkout URL.
//
// The order is what keeps money and ledger in step. The purchase id exists before
// Stripe is called, and the session is created under an idempotency key derived
// from it (stripe-go's retries of a timed-out call get the same session). If Stripe
// fails, nothing was journaled and nothing can be paid: the buyer is told to try
// again. If the journal fails after Stripe succeeded, the buyer never gets the URL,
// and the session is expired at Stripe, so that no payment for a purchase the ledger
// might not know can ever be made. A purchase journaled with its session id from the
// start means the return page always knows which session to ask Stripe about, and a
// session of any other purchase can never credit it.
//
// Stripe is called on a context of its own (bounded by checkoutTimeout): a buyer who
// leaves while Stripe creates the session must not leave a session whose id we never
// learn, and so could not expire.
func (s *Server) createCardPurchase(r *http.Request, p *ledger.Purchase) (shared.PurchaseCreated, error) {
	svc := s.card()
	if svc == nil {
		return shared.PurchaseCreated{}, errCardOff
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), checkoutTimeout)
	defer cancel()
	co, err := svc.CreateCheckout(ctx, card.CheckoutRequest{
		PurchaseID:  p.ID,
		Cents:       p.Cents,
		Credits:     p.Credits,
		Description: fmt.Sprintf("$%s buys %s credits", p.Cents, shared.FormatCredits(p.Credits)),
	})
	if err != nil {
		return shared.PurchaseCreated{}, s.checkoutError(r, p, err)
	}
	p.SessionID = co.SessionID
	if err := s.Ledger.CreatePurchase(r.Context(), *p); err != nil {
		s.expireUnrecordedCheckout(r, p.ID, co.SessionID, err)
		if credits.ErrorCode(err) == shared.CodeInternal {
			// The request ended or the journal did not answer: say what happened to
			// the money (nothing), not why.
			return shared.PurchaseCreated{}, errorf(shared.CodeUnavailable, "the purchase could not be recorded, and nothing was charged; try again")
		}
		return shared.PurchaseCreated{}, err
	}
	return shared.PurchaseCreated{Card: &shared.CardCheckout{CheckoutURL: co.URL}}, nil
}

// checkoutTimeout bounds the creation of a Checkout Session, stripe-go's retries
// included.
const checkoutTimeout = 45 * time.Second

// checkoutError is the buyer's answer to a Checkout Session that could not be created.
func (s *Server) checkoutError(r *http.Request, p *ledger.Purchase, err error) error {
	switch {
	case errors.Is(err, card.ErrNotConfigured):
		return errCardOff
	case errors.Is(err, card.ErrBelowMinimum):
		return errorf(shared.CodeInvalid, "%s (asked: $%s)", card.ErrBelowMinimum.Error(), p.Cents)
	case errors.Is(err, card.ErrAboveMaximum):
		return errorf(shared.CodeInvalid, "%s (asked: $%s)", card.ErrAboveMaximum.Error(), p.Cents)
	case card.Retryable(err):
		// Stripe unreachable, or refusing the key (an operator must fix that): the
		// detail is for the log, the buyer learns that nothing happened.
		s.log.ErrorContext(r.Context(), "card checkout: stripe failed", "purchase", p.ID, "err", err)
		return errorf(shared.CodeUnavailable, "card payments are unavailable for a moment, and nothing was charged; try again shortly")
	default:
		return fmt.Errorf("card checkout for purchase %s: %w", p.ID, err)
	}
}

// expireUnrecordedCheckout ends a session whose purchase could not be journaled. It
// runs on a context of its own: the request's may be what ended.
func (s *Server) expireUnrecordedCheckout(r *http.Request, purchaseID, sessionID string, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	log := s.log.With("purchase", purchaseID, "session", sessionID, "cause", cause)
	if err := s.card().ExpireCheckout(ctx, sessionID); err != nil {
		// Nobody has the session's URL, so it is very unlikely to be paid before it
		// expires by itself (24 hours); if it is, the webhook logs it as unknown and
		// support refunds it. ErrNotOpen here names the session's status.
		log.ErrorContext(ctx, "card checkout: the purchase was not recorded and its session could not be expired; check it in the Stripe Dashboard", "err", err)
		return
	}
	log.WarnContext(ctx, "card checkout: the purchase was not recorded; its session is expired")
}

// returnRecheck is how often the return page may ask Stripe about one purchase. The
// page polls; Stripe rate-limits an account's API calls, and a paid session is
// usually credited by the webhook anyway.
const returnRecheck = time.Second

// fulfilCardOnReturn is the return page's half of fulfilment: while a card purchase
// is pending, it asks Stripe about the session recorded with the purchase — never one
// named in the URL, which anyone can edit — and credits it through the same
// idempotent path as the webhook. Stripe being unreachable is not the buyer's error:
// the page shows the purchase as it is and asks again on its next poll.
func (s *Server) fulfilCardOnReturn(r *http.Request, p ledger.PurchaseInfo) (ledger.PurchaseInfo, error) {
	svc := s.card()
	if svc == nil || p.Status != shared.StatusPending || p.SessionID == "" || !s.Card.mayAsk(p.ID, time.Now()) {
		return p, nil
	}
	_, err := svc.FulfilPurchase(r.Context(), p.ID, p.SessionID)
	switch {
	case err == nil:
	case errors.Is(err, card.ErrNotPaid):
		return p, nil
	case errors.Is(err, card.ErrExpired):
		if err := s.Ledger.SetPurchaseStatus(r.Context(), p.ID, shared.StatusExpired, "the checkout session expired without payment"); err != nil {
			s.log.WarnContext(r.Context(), "card return page: could not mark the purchase expired", "purchase", p.ID, "err", err)
			return p, nil
		}
	default:
		s.log.WarnContext(r.Context(), "card return page: fulfilment failed; the page will ask again", "purchase", p.ID, "err", err)
		return p, nil
	}
	return s.Ledger.PurchaseView(p.ID, p.SecretHash)
}

// mayAsk reports whether the return page may ask Stripe about a purchase now, and
// if so notes that it did.
func (c *Card) mayAsk(purchaseID string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.asked[purchaseID]; ok && now.Sub(last) < returnRecheck {
		return false
	}
	if len(c.asked) >= 4096 {
		for id, t := range c.asked {
			if now.Sub(t) >= returnRecheck {
				delete(c.asked, id)
			}
		}
	}
	c.asked[purchaseID] = now
	return true
}

// stripeWebhook: POST /api/v1/stripe/webhook — the card package's handler, which
// reads the raw body (bounded), verifies its signature before decoding anything, and
// applies each event through the ledger's once-only keys.
func (s *Server) stripeWebhook() http.Handler {
	if svc := s.card(); svc != nil {
		return svc.Webhook()
	}
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(shared.CodeNotFound, "card payments are not set up on this server")
	})
}
