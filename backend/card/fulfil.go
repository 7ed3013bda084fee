package card

import (
	"context"
	"fmt"

	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
)

// Fulfil credits a Checkout Session's purchase if, and only if, Stripe says the session
// is paid. It is the one path to a card credit, for the webhook and the return page
// alike, and it is idempotent: it re-reads the session from Stripe (whatever an event
// or a URL claimed), checks it (see paidSession), then calls Ledger.CreditCard, which
// credits a session at most once.
//
// It returns the Paid session and nil once the credit is applied (now or before);
// ErrNotPaid while the payment is pending; ErrExpired, ErrRejected or ErrInvalid for
// sessions that will never credit; ErrNotConfigured when card payments are off;
// Stripe's and the ledger's errors wrapped (see Retryable). On a ledger error the
// returned Paid is still filled in.
func (s *Service) Fulfil(ctx context.Context, sessionID string) (Paid, error) {
	return s.fulfil(ctx, sessionID, "")
}

// FulfilPurchase is Fulfil for the return page of one purchase: it also returns
// ErrSessionMismatch when the session belongs to another purchase, so a session id
// pasted into another purchase's URL reveals nothing about it. (The session is still
// fulfilled for its own purchase: it is paid, and crediting it is idempotent.)
func (s *Service) FulfilPurchase(ctx context.Context, purchaseID, sessionID string) (Paid, error) {
	if !validPurchaseID(purchaseID) {
		return Paid{}, fmt.Errorf("%w: purchase id %q", ErrInvalid, purchaseID)
	}
	p, err := s.fulfil(ctx, sessionID, "")
	if p.PurchaseID != "" && p.PurchaseID != purchaseID {
		return Paid{}, fmt.Errorf("%w: session %s", ErrSessionMismatch, sessionID)
	}
	return p, err
}

func (s *Service) fulfil(ctx context.Context, sessionID, eventID string) (Paid, error) {
	if s.stripe == nil {
		return Paid{}, ErrNotConfigured
	}
	if !validSessionID(sessionID) {
		return Paid{}, fmt.Errorf("%w: session id %q", ErrInvalid, sessionID)
	}
	return s.sessions.do(ctx, sessionID, func(ctx context.Context) (Paid, error) {
		sess, err := s.stripe.session(ctx, sessionID)
		if err != nil {
			return Paid{}, fmt.Errorf("stripe: retrieve checkout session %s: %w", sessionID, err)
		}
		p, err := paidSession(sess)
		if err != nil {
			return p, err
		}
		p.EventID = eventID
		if err := s.ledger.CreditCard(ctx, p); err != nil {
			return p, fmt.Errorf("ledger: credit purchase %s for session %s: %w", p.PurchaseID, p.SessionID, err)
		}
		return p, nil
	})
}

// paidSession checks that a session Stripe returned is one of ours and paid, and
// describes it. The checks, in order: mode=payment, a purchase id in metadata (and the
// same in client_reference_id when set), currency usd, not expired, status complete,
// payment_status paid, an amount within Stripe's limits.
func paidSession(sess *stripe.CheckoutSession) (Paid, error) {
	if sess == nil || sess.ID == "" {
		return Paid{}, fmt.Errorf("%w: empty session", ErrRejected)
	}
	purchaseID := sess.Metadata[MetadataPurchaseID]
	p := Paid{
		PurchaseID:  purchaseID,
		SessionID:   sess.ID,
		AmountCents: shared.Cents(sess.AmountTotal),
		Currency:    string(sess.Currency),
		Livemode:    sess.Livemode,
	}
	if sess.PaymentIntent != nil {
		p.PaymentIntentID = sess.PaymentIntent.ID
	}
	if sess.CustomerDetails != nil {
		p.CustomerEmail = sess.CustomerDetails.Email
	}
	switch {
	case sess.Mode != stripe.CheckoutSessionModePayment:
		return p, fmt.Errorf("%w: session %s has mode %q, want payment", ErrRejected, sess.ID, sess.Mode)
	case !validPurchaseID(purchaseID):
		return p, fmt.Errorf("%w: session %s has no valid metadata[%s]", ErrRejected, sess.ID, MetadataPurchaseID)
	case sess.ClientReferenceID != "" && sess.ClientReferenceID != purchaseID:
		return p, fmt.Errorf("%w: session %s names purchase %q in metadata but %q in client_reference_id", ErrRejected, sess.ID, purchaseID, sess.ClientReferenceID)
	case sess.Currency != Currency:
		return p, fmt.Errorf("%w: session %s is in %q, want %s", ErrRejected, sess.ID, sess.Currency, Currency)
	case sess.Status == stripe.CheckoutSessionStatusExpired:
		return p, fmt.Errorf("%w: session %s", ErrExpired, sess.ID)
	case sess.Status != stripe.CheckoutSessionStatusComplete:
		return p, fmt.Errorf("%w: session %s has status %q", ErrNotPaid, sess.ID, sess.Status)
	case sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid:
		return p, fmt.Errorf("%w: session %s is complete but its payment is still processing", ErrNotPaid, sess.ID)
	case sess.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid:
		return p, fmt.Errorf("%w: session %s has payment_status %q", ErrRejected, sess.ID, sess.PaymentStatus)
	case p.AmountCents <= 0 || p.AmountCents > MaximumCents:
		return p, fmt.Errorf("%w: session %s has amount_total %d", ErrRejected, sess.ID, sess.AmountTotal)
	}
	return p, nil
}
