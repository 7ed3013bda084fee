package card

import (
	"context"
	"fmt"
	"time"

	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
)

// Stripe's limits on one US-dollar charge.
const (
	// MinimumCents is Stripe's minimum charge in USD: $0.50.
	MinimumCents shared.Cents = 50
	// MaximumCents is the largest amount one Stripe charge can take: $999,999.99.
	MaximumCents shared.Cents = 99_999_999
)

// Metadata keys set on every Checkout Session (and its payment intent).
const (
	MetadataPurchaseID = "purchase_id"
	MetadataCredits    = "credits"
)

// CheckoutRequest is one card purchase to pay for.
type CheckoutRequest struct {
	// PurchaseID is the purchase's id: 1 to 100 letters, digits, '-', '_' or '.'. It is
	// the session's metadata[purchase_id] and client_reference_id, part of the return
	// URLs, and the root of the idempotency key.
	PurchaseID string
	// Cents is the exact amount to charge, in US cents.
	Cents shared.Cents
	// Credits is what the purchase buys; it must be Cents.Credits(). Shown on the
	// Checkout page.
	Credits int64
	// Description is an optional line under the product name on the Checkout page.
	Description string
	// CustomerEmail optionally pre-fills the email field (a logged-in buyer's).
	CustomerEmail string
}

// Checkout is a created Checkout Session: send the buyer to URL.
type Checkout struct {
	SessionID string    // cs_...; record it with the purchase to fulfil it from the return page
	URL       string    // https://checkout.stripe.com/c/pay/cs_...
	ExpiresAt time.Time // after this the session can no longer be paid (Stripe's default: 24 hours)
}

// IdempotencyKey is the Stripe idempotency key of the purchase's Checkout Session:
// creating it twice (a retry after a timeout, a double click) returns the same session.
func IdempotencyKey(purchaseID string) string {
	return "aispace-credits-checkout-" + purchaseID
}

// SuccessURL is where Stripe sends the buyer after paying; Stripe fills in
// {CHECKOUT_SESSION_ID}.
func (s *Service) SuccessURL(purchaseID string) string {
	return s.public + "/purchase/" + purchaseID + "?session_id={CHECKOUT_SESSION_ID}"
}

// CancelURL is where Stripe sends the buyer who goes back without paying.
func (s *Service) CancelURL(purchaseID string) string {
	return s.public + "/purchase/" + purchaseID + "?canceled=1"
}

// CreateCheckout creates the Checkout Session that pays for one purchase: mode=payment,
// one line item of exactly r.Cents US cents, quantity 1. It returns ErrNotConfigured
// when card payments are off, ErrBelowMinimum or ErrAboveMaximum for amounts Stripe
// cannot charge, and ErrInvalid for a malformed request, all without calling Stripe.
// Stripe's errors are returned wrapped (see Retryable).
func (s *Service) CreateCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error) {
	if s.stripe == nil {
		return Checkout{}, ErrNotConfigured
	}
	if !validPurchaseID(r.PurchaseID) {
		return Checkout{}, fmt.Errorf("%w: purchase id %q", ErrInvalid, r.PurchaseID)
	}
	if r.Cents < MinimumCents {
		return Checkout{}, fmt.Errorf("%w: $%s", ErrBelowMinimum, r.Cents)
	}
	if r.Cents > MaximumCents {
		return Checkout{}, fmt.Errorf("%w: $%s", ErrAboveMaximum, r.Cents)
	}
	if r.Credits != r.Cents.Credits() {
		return Checkout{}, fmt.Errorf("%w: $%s buys %d credits, not %d", ErrInvalid, r.Cents, r.Cents.Credits(), r.Credits)
	}

	sess, err := s.stripe.createSession(ctx, s.checkoutParams(r))
	if err != nil {
		return Checkout{}, fmt.Errorf("stripe: create checkout session for purchase %s: %w", r.PurchaseID, err)
	}
	if sess.ID == "" || sess.URL == "" {
		return Checkout{}, fmt.Errorf("stripe: checkout session for purchase %s came back without an id or url", r.PurchaseID)
	}
	c := Checkout{SessionID: sess.ID, URL: sess.URL}
	if sess.ExpiresAt > 0 {
		c.ExpiresAt = time.Unix(sess.ExpiresAt, 0).UTC()
	}
	return c, nil
}

// ExpireCheckout ends an open Checkout Session so that nobody can pay it any more.
// The server calls it when it created a session but could not record its purchase:
// the buyer never got the URL, and expiring the session makes sure that a payment
// for a purchase the ledger does not know can never happen. A session that is no
// longer open (already expired, or paid) is left as it is and reported with
// ErrNotOpen, so the caller can tell a paid one from a failure to reach Stripe.
func (s *Service) ExpireCheckout(ctx context.Context, sessionID string) error {
	if s.stripe == nil {
		return ErrNotConfigured
	}
	if !validSessionID(sessionID) {
		return fmt.Errorf("%w: session id %q", ErrInvalid, sessionID)
	}
	if _, err := s.stripe.expireSession(ctx, sessionID); err != nil {
		// Stripe answers 400 for a session that is not open; read it back to say why.
		if sess, rerr := s.stripe.session(ctx, sessionID); rerr == nil && sess.Status != stripe.CheckoutSessionStatusOpen {
			return fmt.Errorf("%w: session %s has status %q", ErrNotOpen, sessionID, sess.Status)
		}
		return fmt.Errorf("stripe: expire checkout session %s: %w", sessionID, err)
	}
	return nil
}

// checkoutParams is the one place the Checkout Session's parameters are decided.
func (s *Service) checkoutParams(r CheckoutRequest) *stripe.CheckoutSessionCreateParams {
	credits := shared.FormatCredits(r.Credits)
	product := &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{
		Name: stripe.String("AiSpace Credits — " + credits + " credits"),
	}
	if r.Description != "" {
		product.Description = stripe.String(r.Description)
	}
	meta := map[string]string{
		MetadataPurchaseID: r.PurchaseID,
		MetadataCredits:    fmt.Sprint(r.Credits),
	}
	p := &stripe.CheckoutSessionCreateParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(Currency),
				UnitAmount:  stripe.Int64(int64(r.Cents)),
				ProductData: product,
			},
			Quantity: stripe.Int64(1),
		}},
		ClientReferenceID: stripe.String(r.PurchaseID),
		Metadata:          meta,
		// The payment intent carries the purchase id too, so a refund or dispute seen in
		// the Dashboard names the purchase.
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{
			Metadata:    map[string]string{MetadataPurchaseID: r.PurchaseID},
			Description: stripe.String("AiSpace Credits purchase " + r.PurchaseID + ": " + credits + " credits"),
		},
		// Adaptive Pricing would let the buyer pay in a local currency, turning the
		// session's currency and amount_total into that currency; credits are defined
		// in US cents, so it stays off whatever the Dashboard default is.
		AdaptivePricing: &stripe.CheckoutSessionCreateAdaptivePricingParams{Enabled: stripe.Bool(false)},
		SuccessURL:      stripe.String(s.SuccessURL(r.PurchaseID)),
		CancelURL:       stripe.String(s.CancelURL(r.PurchaseID)),
	}
	if r.CustomerEmail != "" {
		p.CustomerEmail = stripe.String(r.CustomerEmail)
	}
	p.SetIdempotencyKey(IdempotencyKey(r.PurchaseID))
	return p
}

// validPurchaseID accepts ids that are safe, unescaped, in a URL path and a query.
func validPurchaseID(id string) bool {
	if len(id) == 0 || len(id) > 100 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return id != "." && id != ".."
}

// validSessionID accepts Stripe Checkout Session ids (cs_test_..., cs_live_...).
func validSessionID(id string) bool {
	if len(id) < 4 || len(id) > 255 || id[:3] != "cs_" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
