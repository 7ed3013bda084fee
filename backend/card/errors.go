package card

import (
	"context"
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v85"
)

// Errors of CreateCheckout and Fulfil. Each is returned wrapped with detail; test with
// errors.Is. Their messages are safe to show to buyers.
var (
	// ErrNotConfigured: no Stripe secret key is set, so card payments are off.
	ErrNotConfigured = errors.New("card payments are not set up on this server")
	// ErrBelowMinimum: the amount is below Stripe's minimum charge of $0.50.
	ErrBelowMinimum = errors.New("card payments must be at least $0.50 (Stripe's minimum); pay with crypto for smaller amounts")
	// ErrAboveMaximum: the amount is above what one Stripe charge can take ($999,999.99).
	ErrAboveMaximum = errors.New("card payments can be at most $999,999.99")
	// ErrInvalid: a malformed argument (purchase id, session id, credits that do not
	// match the amount). A bug in the caller or a forged URL.
	ErrInvalid = errors.New("invalid card payment request")
	// ErrNotPaid: the session exists but is not paid yet (still open, or a delayed
	// payment method still processing). Try again later; nothing was credited.
	ErrNotPaid = errors.New("the card payment is not complete yet")
	// ErrExpired: the session expired unpaid; it can never be paid.
	ErrExpired = errors.New("the card payment session expired without payment")
	// ErrRejected: the session can never credit anything here (wrong mode or currency,
	// no purchase id, no amount). Logged; nothing was credited.
	ErrRejected = errors.New("this Stripe session is not an AiSpace Credits purchase")
	// ErrSessionMismatch: FulfilPurchase was given a session of another purchase.
	ErrSessionMismatch = errors.New("this payment session belongs to another purchase")
	// ErrNotOpen: ExpireCheckout was given a session that is no longer open (expired
	// already, or complete: paid or being paid).
	ErrNotOpen = errors.New("the card payment session is no longer open")
)

// Errors of the webhook, before anything is decoded or applied.
var (
	// ErrWebhookNotConfigured: no webhook signing secret, or no secret key to re-read
	// sessions with. Answered 503 so that Stripe keeps the events until it is fixed.
	ErrWebhookNotConfigured = errors.New("stripe webhooks are not set up on this server")
	// ErrBadSignature: the Stripe-Signature header is missing, malformed, does not
	// match the body, or its timestamp is outside the tolerance.
	ErrBadSignature = errors.New("stripe webhook signature verification failed")
	// ErrAPIVersionMismatch: the event was rendered for an API version stripe-go v85
	// cannot decode reliably.
	ErrAPIVersionMismatch = errors.New("stripe event API version does not match this server")
	// ErrBadEvent: a signed body that is not a well-formed Stripe event.
	ErrBadEvent = errors.New("malformed stripe event")
)

// Retryable reports whether trying the same thing again later may succeed: Stripe
// unreachable or answering 5xx/429/409, a key Stripe refused (an operator can fix it
// while Stripe retries), a context that ended, or a ledger error not marked
// permanent. Outcomes that a retry cannot change (not paid yet, rejected, unknown
// purchase, Stripe 4xx such as a missing session) are not retryable.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	for _, final := range []error{
		ErrNotConfigured, ErrBelowMinimum, ErrAboveMaximum, ErrInvalid, ErrNotPaid, ErrExpired,
		ErrRejected, ErrSessionMismatch, ErrNotOpen, ErrUnknownPurchase, ErrPermanent,
		ErrWebhookNotConfigured, ErrBadSignature, ErrAPIVersionMismatch, ErrBadEvent,
	} {
		if errors.Is(err, final) {
			return false
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		switch code := se.HTTPStatusCode; {
		case code == http.StatusUnauthorized, code == http.StatusForbidden, // key missing a permission, revoked, rolled
			code == http.StatusConflict, code == http.StatusTooManyRequests,
			code >= 500, code == 0:
			return true
		default:
			return false
		}
	}
	// Network errors, and ledger errors not marked permanent.
	return true
}
