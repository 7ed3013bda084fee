package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aispace/credits/backend/card"
	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// cardLedger is the card package's Ledger over the server's ledger. The rules — one
// credit per Checkout Session (op id card:<session>), refunds by Stripe's cumulative
// amount, one effect per dispute outcome — are the ledger's; this adapter only names
// them and translates their errors into the card package's retry vocabulary, which
// decides whether Stripe is told to deliver an event again.
type cardLedger struct {
	mu     sync.RWMutex
	l      *ledger.Ledger
	newKey ledger.KeyMaker // makes the Secure Key of an account a purchase opens
}

// errCardUnbound is transient on purpose: an event that arrives before the server is
// wired is delivered again by Stripe.
var errCardUnbound = errors.New("server: card payments are not bound to a ledger yet")

func (a *cardLedger) bind(l *ledger.Ledger, newKey ledger.KeyMaker) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.l, a.newKey = l, newKey
}

func (a *cardLedger) get() (*ledger.Ledger, ledger.KeyMaker) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.l, a.newKey
}

// CreditCard credits what the buyer paid (amount_total, 100 credits a cent) into the
// buyer's account, or a new one whose key the purchase reveals once.
func (a *cardLedger) CreditCard(ctx context.Context, p card.Paid) error {
	l, newKey := a.get()
	if l == nil {
		return errCardUnbound
	}
	err := l.CreditCard(ctx, ledger.CardCredit{
		Purchase: p.PurchaseID, Session: p.SessionID, PaymentIntent: p.PaymentIntentID, Cents: p.AmountCents,
	}, newKey)
	return cardLedgerError(err, card.ErrUnknownPurchase)
}

// FailCard marks a purchase whose delayed payment failed.
func (a *cardLedger) FailCard(ctx context.Context, f card.Failure) error {
	l, _ := a.get()
	if l == nil {
		return errCardUnbound
	}
	return cardLedgerError(l.FailCard(ctx, f.PurchaseID, f.SessionID, f.Reason), card.ErrUnknownPurchase)
}

// RefundCard claws back up to Stripe's cumulative refunded amount.
func (a *cardLedger) RefundCard(ctx context.Context, r card.Refund) error {
	l, _ := a.get()
	if l == nil {
		return errCardUnbound
	}
	return cardLedgerError(l.RefundCard(ctx, r.PaymentIntentID, int64(r.RefundedCents), r.EventID), card.ErrUnknownPayment)
}

// DisputeCard suspends, restores, or restores and claws back.
func (a *cardLedger) DisputeCard(ctx context.Context, d card.Dispute) error {
	l, _ := a.get()
	if l == nil {
		return errCardUnbound
	}
	var outcome string
	switch d.Outcome {
	case card.DisputeOpened:
		outcome = ledger.DisputeOpened
	case card.DisputeWon:
		outcome = ledger.DisputeWon
	case card.DisputeLost:
		outcome = ledger.DisputeLost
	default:
		return fmt.Errorf("%w: unknown dispute outcome %q", card.ErrPermanent, d.Outcome)
	}
	return cardLedgerError(l.DisputeCard(ctx, d.PaymentIntentID, d.DisputeID, outcome, int64(d.AmountCents), d.EventID), card.ErrUnknownPayment)
}

// cardLedgerError says what a retry of a ledger call would do. ErrNoPurchase becomes
// unknown (unknownErr: the purchase for CreditCard and FailCard, the payment for
// RefundCard and DisputeCard, which the webhook then fulfils first). The ledger's
// other refusals are final. What is left — not the writer, shutting down, the
// request's context ended — may pass, so the webhook answers 500 and Stripe retries.
func cardLedgerError(err, unknownErr error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ledger.ErrNoPurchase) {
		return fmt.Errorf("%w: %v", unknownErr, err)
	}
	switch credits.ErrorCode(err) {
	case shared.CodeInvalid, shared.CodeConflict, shared.CodeNotFound, shared.CodeForbidden, shared.CodeUnauthorized:
		return fmt.Errorf("%w: %v", card.ErrPermanent, err)
	}
	return err
}

var _ card.Ledger = (*cardLedger)(nil)
