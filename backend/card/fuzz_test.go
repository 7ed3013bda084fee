package card

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeEvent feeds signed-but-arbitrary bodies to the webhook's decoder (the part
// that runs after the signature check). It must never panic, must fail only with
// ErrBadEvent or ErrAPIVersionMismatch, and whatever it accepts must be an action this
// package can apply safely. The seeds are the golden payloads; `go test` runs them.
func FuzzDecodeEvent(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden payloads: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"object":"event","id":"evt_1","type":"charge.refunded","api_version":"2026-03-25.dahlia","data":{"object":"ch_1"}}`))
	f.Add([]byte(`{"object":"event","id":"evt_1","type":"checkout.session.completed","api_version":"2026-03-25.dahlia","data":{"object":{"id":"cs_x","mode":"payment","metadata":{"purchase_id":"p"}}}}`))
	f.Add([]byte(`{"object":"event","id":"evt_1","type":"charge.dispute.closed","api_version":"x","data":{"object":{"id":"du_1","amount":-1}}}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, body []byte) {
		strict, err := decodeEvent(body, false)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) && !errors.Is(err, ErrAPIVersionMismatch) {
				t.Fatalf("error %v is neither ErrBadEvent nor ErrAPIVersionMismatch", err)
			}
		}
		lax, laxErr := decodeEvent(body, true)
		if err == nil && (laxErr != nil || !reflect.DeepEqual(strict, lax)) {
			t.Fatalf("ignoring the API version changed an accepted event: %+v / %+v, %v", strict, lax, laxErr)
		}
		if laxErr != nil {
			if errors.Is(laxErr, ErrAPIVersionMismatch) {
				t.Fatalf("API version refused although ignored: %v", laxErr)
			}
			return
		}
		ev := lax
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("accepted an event without id or type: %+v", ev)
		}
		switch a := ev.act; a.kind {
		case actFulfil:
			if !validSessionID(a.sessionID) {
				t.Fatalf("fulfil of invalid session id %q", a.sessionID)
			}
		case actFail:
			if a.failure.PurchaseID == "" || !validSessionID(a.failure.SessionID) || a.failure.EventID != ev.ID {
				t.Fatalf("bad failure %+v", a.failure)
			}
		case actRefund:
			r := a.refund
			if r.PaymentIntentID == "" || r.ChargeID == "" || r.RefundedCents < 0 || r.RefundedCents > r.ChargeCents || r.EventID != ev.ID {
				t.Fatalf("bad refund %+v", r)
			}
		case actDispute:
			d := a.dispute
			if d.PaymentIntentID == "" || d.DisputeID == "" || d.AmountCents < 0 || d.EventID != ev.ID {
				t.Fatalf("bad dispute %+v", d)
			}
			if d.Outcome != DisputeOpened && d.Outcome != DisputeWon && d.Outcome != DisputeLost {
				t.Fatalf("dispute outcome %q", d.Outcome)
			}
			if ev.Type == "charge.dispute.created" && d.Outcome != DisputeOpened {
				t.Fatalf("created dispute with outcome %q", d.Outcome)
			}
		case actIgnore:
			if a.reason == "" {
				t.Fatal("ignored without a reason")
			}
		default:
			t.Fatalf("unknown action kind %d", a.kind)
		}
	})
}
