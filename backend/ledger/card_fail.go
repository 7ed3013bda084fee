package ledger

import (
	"context"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/shared"
)

// FailCard marks a card purchase failed because its Checkout Session's delayed payment
// (a bank debit) failed. Stripe names the purchase in the session's metadata, so the
// session must be the one the purchase recorded: a session of another purchase is a
// conflict, never a reason to fail this one. A purchase that is credited stays
// credited, and a repeat changes nothing (nil); either way nothing is journaled.
// ErrNoPurchase when there is no such card purchase.
func (l *Ledger) FailCard(ctx context.Context, purchaseID, session, reason string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		pu := tx.State().Purchases[purchaseID]
		if pu == nil || pu.Method != shared.MethodCard {
			return nil, ErrNoPurchase
		}
		if pu.SessionID != "" && pu.SessionID != session {
			return nil, credits.Errorf(shared.CodeConflict, "checkout session %s is not the session of purchase %s", session, purchaseID)
		}
		if pu.Status == shared.StatusCredited || pu.Status == shared.StatusFailed {
			return nil, nil
		}
		return nil, tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: purchaseID, Status: shared.StatusFailed, Reason: reason}})
	})
	return err
}
