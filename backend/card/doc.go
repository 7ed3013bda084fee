// Package card takes card payments through Stripe Checkout and turns what Stripe says
// about them into calls on a narrow Ledger interface. It holds no state and touches no
// storage: exactly-once crediting is the ledger's data-model property (SPEC §8), and
// this package gives it the deterministic keys to enforce it with.
//
// # Buying
//
// The server creates a purchase, then calls [Service.CreateCheckout] with its id and
// amount. That creates a Checkout Session (mode=payment, one line item priced at exactly
// that many US cents, the purchase id in metadata and client_reference_id) under an
// idempotency key derived from the purchase id, so a retried call returns the same
// session. The buyer is sent to the session's URL; Stripe sends them back to
// <PublicURL>/purchase/<id>?session_id=cs_... (or ?canceled=1). Both URLs come from
// the configured public base URL, never from a request. Amounts below Stripe's minimum
// charge ($0.50) are refused with [ErrBelowMinimum] before Stripe is called; a
// product maximum is the caller's setting. A caller that created a session but could
// not record its purchase ends it with [Service.ExpireCheckout], so that nobody can
// pay for a purchase the ledger does not know.
//
// The secret key travels in every API request, so [Config.APIBase] must be https, or
// plain http on a loopback address (stripe-mock, test servers).
//
// # Fulfilment
//
// [Service.Fulfil] is the one way a card purchase gets credited, used by the webhook and
// by the return page alike. It re-reads the session from Stripe (it never trusts an
// event body or a URL), checks that it is a complete, paid, usd, mode=payment session
// carrying a purchase id, and calls [Ledger.CreditCard], which credits each session at
// most once. Sessions paid by a delayed method (bank debits) are [ErrNotPaid] until
// Stripe sends checkout.session.async_payment_succeeded.
//
// # Webhooks
//
// [Service.Webhook] is the handler for POST /api/v1/stripe/webhook. It reads at most
// [DefaultMaxWebhookBytes] of the raw body, verifies the Stripe-Signature header with
// stripe-go's webhook package before decoding anything, and refuses events rendered for
// an API version that stripe-go v85 cannot decode (see [Config.IgnoreAPIVersionMismatch]).
// It then routes:
//
//	checkout.session.completed               Fulfil (credits if paid)
//	checkout.session.async_payment_succeeded Fulfil
//	checkout.session.async_payment_failed    Ledger.FailCard
//	charge.refunded                          Ledger.RefundCard with the cumulative amount refunded
//	charge.dispute.created                   Ledger.DisputeCard, DisputeOpened (suspend the key)
//	charge.dispute.closed                    Ledger.DisputeCard, DisputeWon (restore) or DisputeLost (claw back)
//
// Every other event type is acknowledged and ignored. Charges and disputes name their
// payment intent, which CreditCard recorded; when the ledger does not know it yet
// (a refund delivered before the payment's checkout.session.completed), the handler
// asks Stripe for the payment intent's Checkout Session, fulfils it, and tries again,
// so events in any order end in the same state.
//
// Answers follow Stripe's retry rules: 2xx when the event was applied, was already
// applied, or can never apply (logged); 5xx when a retry may succeed (Stripe
// unreachable, the ledger not writable), so Stripe delivers it again; 4xx for requests
// that are not genuine, current Stripe events. Error bodies have the API's shape,
// {"error": {"code", "message"}}.
//
// Concurrent deliveries of one event, and a webhook racing the return page for one
// session, share a single piece of work in this process. A redelivery of an event
// already applied is answered 200 with the outcome "duplicate" from a bounded memory
// of event ids, without asking Stripe or the ledger again; events still "pending" and
// refusals are not remembered, so a resend from the Dashboard is applied. Across
// processes and restarts the ledger's keys make repeats harmless: they, not the
// memory, are the guarantee.
package card
