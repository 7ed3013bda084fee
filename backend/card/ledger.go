package card

import (
	"context"
	"errors"

	"github.com/aispace/credits/shared"
)

// Ledger is what card payments need from the credit ledger. The ledger owns all state;
// this package only says what Stripe reported, with keys that make every call safe to
// repeat. Every method is idempotent as documented, must be safe for concurrent use,
// and is acknowledged only once its change is durable (journaled).
//
// Errors tell the caller whether to retry:
//   - nil: applied now, or already applied before (a repeat is nil, not an error).
//   - ErrUnknownPurchase, or any error wrapping ErrPermanent: no retry can change the
//     answer; the webhook acknowledges the event and logs it.
//   - ErrUnknownPayment (RefundCard, DisputeCard): the payment intent has not been
//     credited yet; the webhook fulfils its session and calls again.
//   - anything else is taken as transient (journal unavailable, this instance not the
//     writer, context ended): the webhook answers 500 and Stripe delivers again.
type Ledger interface {
	// CreditCard credits p.Credits() to purchase p.PurchaseID and records
	// p.PaymentIntentID as that purchase's payment, exactly once per p.SessionID: the
	// session id is the credit's unique key (its journal operation id), so a repeat,
	// from any process and in any interleaving, changes nothing and returns nil.
	// p.EventID is for the audit trail only and must not be part of the key.
	// It returns ErrUnknownPurchase when the purchase does not exist (a session made by
	// another deployment sharing the Stripe account).
	CreditCard(ctx context.Context, p Paid) error

	// FailCard marks a purchase whose delayed payment failed as failed. It is keyed by
	// (PurchaseID, SessionID); a repeat returns nil. A purchase already credited stays
	// credited (nil, nothing changes). ErrUnknownPurchase as for CreditCard.
	FailCard(ctx context.Context, f Failure) error

	// RefundCard claws back credits for a refunded charge: the target is
	// r.RefundedCents × 100 credits in total for the purchase paid by
	// r.PaymentIntentID, and the call takes back target minus what earlier refunds of
	// that purchase already took, from what remains of its lot. RefundedCents is
	// Stripe's cumulative amount_refunded, so the key is (PaymentIntentID,
	// RefundedCents): a repeat, or an older event delivered late with a smaller
	// cumulative amount, changes nothing and returns nil. r.EventID is for the audit
	// trail. It returns ErrUnknownPayment when no credited purchase has that payment
	// intent.
	RefundCard(ctx context.Context, r Refund) error

	// DisputeCard applies a dispute on the purchase paid by d.PaymentIntentID, keyed by
	// (DisputeID, Outcome):
	//   - DisputeOpened suspends the purchase's account (its Secure Key) until the
	//     dispute closes.
	//   - DisputeWon lifts that suspension.
	//   - DisputeLost lifts it too and claws back d.AmountCents × 100 credits from what
	//     remains of the purchase's lot (once per dispute).
	// A closed dispute is final: a late DisputeOpened for it, or the other closing
	// outcome, changes nothing. Repeats return nil. Refunds and lost disputes of one
	// purchase together never take back more than the purchase credited.
	// It returns ErrUnknownPayment when no credited purchase has that payment intent.
	DisputeCard(ctx context.Context, d Dispute) error
}

// Errors a Ledger returns to say what a retry would do. Wrap them (fmt.Errorf("%w: ..."))
// to add detail.
var (
	// ErrUnknownPurchase means the purchase id is not this ledger's: permanent.
	ErrUnknownPurchase = errors.New("card: unknown purchase")
	// ErrUnknownPayment means no credited purchase has this payment intent yet.
	ErrUnknownPayment = errors.New("card: unknown payment intent")
	// ErrPermanent marks a refusal that no retry can change.
	ErrPermanent = errors.New("card: permanent ledger refusal")
)

// Paid is a Checkout Session that Stripe reports as complete and paid, read back from
// Stripe by Fulfil.
type Paid struct {
	PurchaseID      string       // from the session's metadata[purchase_id]
	SessionID       string       // cs_...; the credit's unique key
	PaymentIntentID string       // pi_...; links later refunds and disputes to the purchase
	AmountCents     shared.Cents // amount_total: what the buyer paid, in US cents
	Currency        string       // always "usd"
	CustomerEmail   string       // customer_details.email; may be empty; personal data, do not log
	Livemode        bool
	EventID         string // the webhook event that asked for it; empty from the return page; audit only
}

// Credits is what the payment buys: exactly 100 credits per cent paid.
func (p Paid) Credits() int64 { return p.AmountCents.Credits() }

// Failure is a delayed payment that failed (checkout.session.async_payment_failed).
type Failure struct {
	PurchaseID string
	SessionID  string
	EventID    string
	Reason     string // for people and the audit trail
}

// Refund is a charge.refunded event: RefundedCents is the charge's cumulative
// amount_refunded, never one refund's amount.
type Refund struct {
	PaymentIntentID string
	ChargeID        string
	RefundedCents   shared.Cents // cumulative
	ChargeCents     shared.Cents // the charge's amount, for the audit trail
	EventID         string
}

// ClawbackCredits is the total the purchase should have lost to refunds so far.
func (r Refund) ClawbackCredits() int64 { return r.RefundedCents.Credits() }

// DisputeOutcome is what a dispute event means for the purchase.
type DisputeOutcome string

// Dispute outcomes.
const (
	// DisputeOpened: charge.dispute.created. The key is suspended until it closes.
	DisputeOpened DisputeOutcome = "opened"
	// DisputeWon: charge.dispute.closed with status won, or an inquiry closed without
	// becoming a chargeback (warning_closed), or a prevented dispute. Restores the key.
	DisputeWon DisputeOutcome = "won"
	// DisputeLost: charge.dispute.closed with status lost. Restores the key and claws
	// back the disputed amount.
	DisputeLost DisputeOutcome = "lost"
)

// Dispute is a charge.dispute.created or charge.dispute.closed event.
type Dispute struct {
	PaymentIntentID string
	ChargeID        string
	DisputeID       string // du_... or dp_...
	Outcome         DisputeOutcome
	Status          string       // Stripe's dispute status, for the audit trail
	AmountCents     shared.Cents // the disputed amount
	EventID         string
}

// ClawbackCredits is what a lost dispute takes back: 100 credits per disputed cent.
func (d Dispute) ClawbackCredits() int64 { return d.AmountCents.Credits() }
