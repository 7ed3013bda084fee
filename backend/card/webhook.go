package card

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aispace/credits/shared"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// Webhook is the http.Handler for POST /api/v1/stripe/webhook.
type Webhook struct{ s *Service }

// Webhook returns the handler for Stripe's events; mount it at
// "POST /api/v1/stripe/webhook" and subscribe the endpoint to the six event types in
// the package documentation, with stripe-go's API version (stripe.APIVersion).
func (s *Service) Webhook() *Webhook { return &Webhook{s} }

// ServeHTTP verifies, decodes and applies one Stripe event. Answers:
//   - 200 {"received": true, "outcome": ...}: applied, already applied, or ignored
//     (an event type or object that is not ours, or a permanent refusal, logged);
//   - 400 invalid: bad or missing signature, timestamp outside the tolerance, a body
//     that is not a Stripe event, an API version mismatch;
//   - 405 for other methods; 413 for bodies over the limit;
//   - 500 internal: a failure a retry may cure (Stripe or the ledger unavailable);
//   - 503 unavailable: webhooks not configured (no signing secret or no secret key).
//
// Nothing is decoded before the signature is verified, and nothing is credited on a
// 4xx.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, shared.CodeInvalid, "use POST")
		return
	}
	if s.stripe == nil || s.whSecret == "" {
		s.log.Error("stripe webhook: refused, not configured", "err", ErrWebhookNotConfigured)
		writeError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, ErrWebhookNotConfigured.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			s.log.Warn("stripe webhook: body too large", "limit", s.maxBody)
			writeError(w, http.StatusRequestEntityTooLarge, shared.CodeInvalid, fmt.Sprintf("a webhook body may be at most %d bytes", s.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, shared.CodeInvalid, "could not read the webhook body")
		return
	}
	ev, err := s.verifyEvent(body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		s.log.Warn("stripe webhook: refused", "err", err)
		writeError(w, http.StatusBadRequest, shared.CodeInvalid, err.Error())
		return
	}

	log := s.log.With("event", ev.ID, "type", ev.Type)
	if first, ok := s.applied.outcome(ev.ID); ok {
		log.Info("stripe webhook: duplicate delivery", "first_outcome", first)
		writeReceived(w, "duplicate")
		return
	}
	outcome, err := s.events.do(r.Context(), ev.ID, func(ctx context.Context) (string, error) {
		return s.apply(ctx, ev)
	})
	switch {
	case err == nil:
		log.Info("stripe webhook", "outcome", outcome)
		if outcome != "pending" {
			s.applied.add(ev.ID, outcome)
		}
	case Retryable(err):
		log.Error("stripe webhook: failed, Stripe will retry", "err", err)
		writeError(w, http.StatusInternalServerError, shared.CodeInternal, "temporary failure; the event will be retried")
		return
	default:
		outcome = "refused"
		log.Warn("stripe webhook: acknowledged without effect", "err", err)
	}
	writeReceived(w, outcome)
}

// writeReceived acknowledges an event: 200 {"received": true, "outcome": ...}.
func writeReceived(w http.ResponseWriter, outcome string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(struct {
		Received bool   `json:"received"`
		Outcome  string `json:"outcome"`
	}{true, outcome})
}

// maxAppliedEvents is how many event ids a Service remembers as applied.
const maxAppliedEvents = 8192

// appliedEvents remembers the ids of events whose effect is durable, so that a
// redelivery (Stripe retries when our 2xx was lost; an operator may resend from the
// Dashboard) is answered at once, without asking Stripe or the ledger again. It is a
// saving, not the guarantee: it is bounded and forgotten at restart, and what makes a
// repeat harmless is the ledger's once-only keys. Outcomes that a later delivery may
// change ("pending": a delayed payment still processing) and refusals are not
// remembered, so a resend of those is applied again.
type appliedEvents struct {
	mu   sync.Mutex
	ids  map[string]string // event id → first outcome
	ring []string          // the ids in the order they were added, to forget the oldest
	next int
}

func (a *appliedEvents) outcome(id string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.ids[id]
	return o, ok
}

func (a *appliedEvents) add(id, outcome string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = make(map[string]string)
		a.ring = make([]string, maxAppliedEvents)
	}
	if _, ok := a.ids[id]; ok {
		return
	}
	if old := a.ring[a.next]; old != "" {
		delete(a.ids, old)
	}
	a.ring[a.next] = id
	a.next = (a.next + 1) % len(a.ring)
	a.ids[id] = outcome
}

// verifyEvent checks the signature over the raw body, then decodes it.
func (s *Service) verifyEvent(body []byte, sigHeader string) (event, error) {
	if err := webhook.ValidatePayloadWithTolerance(body, sigHeader, s.whSecret, s.tolerance); err != nil {
		return event{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return decodeEvent(body, s.anyAPIVer)
}

// event is a verified Stripe event reduced to what this package does with it.
type event struct {
	ID, Type, APIVersion string
	Livemode             bool
	act                  action
}

// action is what an event asks of this package; exactly one field group is set, by kind.
type action struct {
	kind      actionKind
	sessionID string  // actFulfil
	failure   Failure // actFail
	refund    Refund  // actRefund
	dispute   Dispute // actDispute
	reason    string  // actIgnore: why
}

type actionKind int

const (
	actIgnore actionKind = iota
	actFulfil
	actFail
	actRefund
	actDispute
)

// decodeEvent turns a verified webhook body into an event and the action it asks for.
// It is pure (no I/O): errors wrap ErrBadEvent or ErrAPIVersionMismatch.
func decodeEvent(body []byte, ignoreAPIVersion bool) (event, error) {
	var e stripe.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return event{}, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if e.Object != "event" {
		return event{}, fmt.Errorf("%w: object is %q, want event (thin event notifications are not supported)", ErrBadEvent, e.Object)
	}
	if e.ID == "" || e.Type == "" || e.Data == nil || len(e.Data.Raw) == 0 {
		return event{}, fmt.Errorf("%w: id, type and data.object are required", ErrBadEvent)
	}
	if !ignoreAPIVersion && !compatibleAPIVersion(e.APIVersion) {
		return event{}, fmt.Errorf("%w: the event is rendered for Stripe API version %q but this server (stripe-go %s) reads %q; "+
			"create the webhook endpoint with API version %s, or set IgnoreAPIVersionMismatch",
			ErrAPIVersionMismatch, e.APIVersion, stripe.ClientVersion, stripe.APIVersion, stripe.APIVersion)
	}
	ev := event{ID: e.ID, Type: string(e.Type), APIVersion: e.APIVersion, Livemode: e.Livemode}
	act, err := plan(e)
	if err != nil {
		return event{}, fmt.Errorf("%w: %s %s: %v", ErrBadEvent, e.Type, e.ID, err)
	}
	ev.act = act
	return ev, nil
}

// compatibleAPIVersion is stripe-go's rule (webhook.ConstructEvent): the event's API
// version must be on stripe-go's release train ("2026-xx-xx.dahlia" for v85, whose
// releases only add fields), or exactly stripe-go's version for a preview train.
func compatibleAPIVersion(v string) bool {
	_, mine, _ := strings.Cut(stripe.APIVersion, ".")
	_, train, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	if mine == "preview" {
		return v == stripe.APIVersion
	}
	return train == mine
}

// plan decides what an event asks for from its (signed) object. It never decides to
// credit: a session event only names the session that Fulfil re-reads from Stripe.
func plan(e stripe.Event) (action, error) {
	switch e.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded,
		stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		var sess stripe.CheckoutSession
		if err := json.Unmarshal(e.Data.Raw, &sess); err != nil {
			return action{}, err
		}
		if !validSessionID(sess.ID) {
			return action{}, fmt.Errorf("session id %q", sess.ID)
		}
		purchaseID := sess.Metadata[MetadataPurchaseID]
		switch {
		case sess.Mode != stripe.CheckoutSessionModePayment:
			return ignore("session %s has mode %q, not a credits purchase", sess.ID, sess.Mode), nil
		case purchaseID == "":
			return ignore("session %s has no metadata[%s]: not a credits purchase", sess.ID, MetadataPurchaseID), nil
		case e.Type == stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
			return action{kind: actFail, failure: Failure{
				PurchaseID: purchaseID,
				SessionID:  sess.ID,
				EventID:    e.ID,
				Reason:     "the delayed payment failed",
			}}, nil
		default:
			return action{kind: actFulfil, sessionID: sess.ID}, nil
		}

	case stripe.EventTypeChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(e.Data.Raw, &ch); err != nil {
			return action{}, err
		}
		if ch.ID == "" {
			return action{}, errors.New("charge without an id")
		}
		if ch.AmountRefunded < 0 || ch.Amount < 0 || ch.AmountRefunded > ch.Amount {
			return action{}, fmt.Errorf("charge %s refunded %d of %d", ch.ID, ch.AmountRefunded, ch.Amount)
		}
		switch {
		case ch.Currency != Currency:
			return ignore("charge %s is in %q, not %s", ch.ID, ch.Currency, Currency), nil
		case ch.PaymentIntent == nil || ch.PaymentIntent.ID == "":
			return ignore("charge %s has no payment intent: not from Checkout", ch.ID), nil
		}
		return action{kind: actRefund, refund: Refund{
			PaymentIntentID: ch.PaymentIntent.ID,
			ChargeID:        ch.ID,
			RefundedCents:   shared.Cents(ch.AmountRefunded),
			ChargeCents:     shared.Cents(ch.Amount),
			EventID:         e.ID,
		}}, nil

	case stripe.EventTypeChargeDisputeCreated, stripe.EventTypeChargeDisputeClosed:
		var d stripe.Dispute
		if err := json.Unmarshal(e.Data.Raw, &d); err != nil {
			return action{}, err
		}
		if d.ID == "" {
			return action{}, errors.New("dispute without an id")
		}
		if d.Amount < 0 {
			return action{}, fmt.Errorf("dispute %s of %d", d.ID, d.Amount)
		}
		switch {
		case d.Currency != Currency:
			return ignore("dispute %s is in %q, not %s", d.ID, d.Currency, Currency), nil
		case d.PaymentIntent == nil || d.PaymentIntent.ID == "":
			return ignore("dispute %s has no payment intent: not from Checkout", d.ID), nil
		}
		out := DisputeOpened
		if e.Type == stripe.EventTypeChargeDisputeClosed {
			switch d.Status {
			case stripe.DisputeStatusWon, stripe.DisputeStatusWarningClosed, stripe.DisputeStatusPrevented:
				out = DisputeWon
			case stripe.DisputeStatusLost:
				out = DisputeLost
			default:
				// A closing status this version does not know: neither restore nor claw
				// back on a guess; the key stays suspended and the log says why.
				return ignore("dispute %s closed with unknown status %q", d.ID, d.Status), nil
			}
		}
		dis := Dispute{
			PaymentIntentID: d.PaymentIntent.ID,
			DisputeID:       d.ID,
			Outcome:         out,
			Status:          string(d.Status),
			AmountCents:     shared.Cents(d.Amount),
			EventID:         e.ID,
		}
		if d.Charge != nil {
			dis.ChargeID = d.Charge.ID
		}
		return action{kind: actDispute, dispute: dis}, nil
	}
	return ignore("event type %s is not handled", e.Type), nil
}

func ignore(format string, args ...any) action {
	return action{kind: actIgnore, reason: fmt.Sprintf(format, args...)}
}

// apply carries out an event's action and names the outcome for the log and the answer.
func (s *Service) apply(ctx context.Context, ev event) (string, error) {
	a := ev.act
	switch a.kind {
	case actFulfil:
		_, err := s.fulfil(ctx, a.sessionID, ev.ID)
		if errors.Is(err, ErrNotPaid) {
			// A delayed payment method: checkout.session.async_payment_succeeded follows.
			return "pending", nil
		}
		if err != nil {
			return "", err
		}
		return "credited", nil
	case actFail:
		if err := s.ledger.FailCard(ctx, a.failure); err != nil {
			return "", fmt.Errorf("ledger: fail purchase %s: %w", a.failure.PurchaseID, err)
		}
		return "failed", nil
	case actRefund:
		err := s.withPayment(ctx, ev.ID, a.refund.PaymentIntentID, func(ctx context.Context) error {
			return s.ledger.RefundCard(ctx, a.refund)
		})
		if err != nil {
			return "", fmt.Errorf("ledger: refund of %s: %w", a.refund.PaymentIntentID, err)
		}
		return "refunded", nil
	case actDispute:
		err := s.withPayment(ctx, ev.ID, a.dispute.PaymentIntentID, func(ctx context.Context) error {
			return s.ledger.DisputeCard(ctx, a.dispute)
		})
		if err != nil {
			return "", fmt.Errorf("ledger: dispute %s of %s: %w", a.dispute.DisputeID, a.dispute.PaymentIntentID, err)
		}
		return "dispute " + string(a.dispute.Outcome), nil
	default:
		s.log.Info("stripe webhook: ignored", "event", ev.ID, "reason", a.reason)
		return "ignored", nil
	}
}

// withPayment calls fn, a ledger call about a payment intent. When the ledger does not
// know the payment intent yet (its checkout.session.completed has not arrived, or
// failed), it finds the intent's Checkout Session at Stripe, fulfils it, and calls fn
// again, so a refund or dispute delivered first still lands after the credit.
func (s *Service) withPayment(ctx context.Context, eventID, paymentIntentID string, fn func(context.Context) error) error {
	err := fn(ctx)
	if !errors.Is(err, ErrUnknownPayment) {
		return err
	}
	sess, err := s.stripe.sessionForPaymentIntent(ctx, paymentIntentID)
	if err != nil {
		return fmt.Errorf("stripe: find checkout session of %s: %w", paymentIntentID, err)
	}
	if sess == nil || sess.Metadata[MetadataPurchaseID] == "" {
		return fmt.Errorf("%w: payment intent %s was not made by a credits Checkout Session", ErrRejected, paymentIntentID)
	}
	if _, err := s.fulfil(ctx, sess.ID, eventID); err != nil {
		if errors.Is(err, ErrNotPaid) {
			// Stripe says refunded or disputed but not paid: a lag at Stripe; retry.
			return fmt.Errorf("session %s of %s is not paid yet: %v", sess.ID, paymentIntentID, err)
		}
		return err
	}
	if err := fn(ctx); err != nil {
		if errors.Is(err, ErrUnknownPayment) {
			// Credited just now, yet unknown: the ledger is behind; retry later.
			return fmt.Errorf("payment intent %s still unknown after crediting session %s: %v", paymentIntentID, sess.ID, err)
		}
		return err
	}
	return nil
}

// writeError answers with the API's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(shared.ErrorBody{Error: shared.ErrorDetail{Code: code, Message: msg}})
}

var _ http.Handler = (*Webhook)(nil)
