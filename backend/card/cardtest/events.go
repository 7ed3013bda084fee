package cardtest

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// WebhookSecret is an obviously fake endpoint signing secret for tests.
const WebhookSecret = "whsec_test_aispace_0123456789"

// Event is a Stripe event of type typ about object, rendered for stripe-go's API
// version, as Stripe POSTs it to a webhook endpoint.
func Event(id, typ string, object map[string]any) []byte {
	return EventWithVersion(id, typ, stripe.APIVersion, object)
}

// EventWithVersion is Event rendered for another API version.
func EventWithVersion(id, typ, apiVersion string, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": apiVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns the Stripe-Signature header of payload made with secret at time at,
// by stripe-go's own helper.
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

// Charge is a card charge of cents US cents made by paymentIntent, of which refunded
// cents have been refunded in all (Stripe's cumulative amount_refunded).
func Charge(id, paymentIntent string, cents, refunded int64) map[string]any {
	return map[string]any{
		"id": id, "object": "charge", "amount": cents, "amount_captured": cents,
		"amount_refunded": refunded, "refunded": refunded == cents, "currency": "usd",
		"paid": true, "captured": true, "status": "succeeded", "payment_intent": paymentIntent,
		"livemode": false,
	}
}

// Dispute is a dispute of cents US cents on a charge of paymentIntent, with Stripe's
// status ("needs_response" while open; "won" or "lost" once closed).
func Dispute(id, charge, paymentIntent string, cents int64, status string) map[string]any {
	return map[string]any{
		"id": id, "object": "dispute", "amount": cents, "currency": "usd", "charge": charge,
		"payment_intent": paymentIntent, "status": status, "reason": "fraudulent", "livemode": false,
	}
}
