package ledger

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/shared"
)

// Commands the chain watcher runs besides ApplyChainStep: the end of quotes nobody
// paid, and payments it could only find after their block had been scanned.

// ExpireQuotes marks expired the crypto purchases still pending (no transaction
// submitted or seen) whose quote ended before t, the time of the newest block the
// watcher has processed. The watcher passes a block time, not the clock, on purpose:
// a payment mined before the quote ended must still find its purchase by sender when
// the watcher reaches its block late (after downtime), and once the watcher's blocks
// are past the end, no later block can match the quote any more. A buyer who pays an
// expired quote anyway submits the hash, which moves the purchase on (SubmitTx), and
// is credited at the price of the moment. It returns how many purchases it marked.
func (l *Ledger) ExpireQuotes(ctx context.Context, t time.Time) (int, error) {
	expired := func(pu *Purchase) bool {
		return pu.Method == shared.MethodCrypto && pu.Status == shared.StatusPending && pu.TxHash == "" &&
			!pu.ExpiresAt.IsZero() && pu.ExpiresAt.Before(t)
	}
	// Look under the read lock, so the writer is held only for the few found.
	var ids []string
	l.Read(func(s *State) {
		for id, pu := range s.Purchases {
			if expired(pu) {
				ids = append(ids, id)
			}
		}
	})
	if len(ids) == 0 {
		return 0, nil
	}
	slices.Sort(ids)
	return submit(ctx, l, func(tx *Tx) (int, error) {
		n := 0
		for _, id := range ids {
			if pu := tx.State().Purchases[id]; pu != nil && expired(pu) {
				if err := tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: id, Status: shared.StatusExpired,
					Reason: "the quote expired before a payment arrived"}}); err != nil {
					return 0, err
				}
				n++
			}
		}
		return n, nil
	})
}

// RecordLatePayments journals the payments of a block the watcher has already passed:
// the internal transfers of a transaction whose hash a buyer submitted only after its
// block was scanned (the watcher traces only submitted hashes), found by tracing it
// then. The block must be at or below the cursor and, where the cursor still holds
// its hash, be that very block; a payment already known is left alone. The payments
// are matched and then confirmed and credited by the next ApplyChainStep, exactly
// like those a step finds.
func (l *Ledger) RecordLatePayments(ctx context.Context, b ChainBlock) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		c := st.Chain
		if b.Number > c.Number {
			return nil, credits.Errorf(shared.CodeInvalid, "block %d is ahead of the watcher (at %d)", b.Number, c.Number)
		}
		if oldest := c.Number + 1 - uint64(len(c.Recent)); len(c.Recent) > 0 && b.Number >= oldest {
			if !strings.EqualFold(c.Recent[b.Number-oldest], b.Hash) {
				return nil, credits.Errorf(shared.CodeConflict, "block %d is not the one the watcher has (a reorg?)", b.Number)
			}
		}
		for _, cp := range b.Payments {
			if st.Payments[cp.Tx] != nil {
				continue
			}
			purchase := st.matchPayment(cp, b.Time)
			if err := tx.Apply(Op{Type: OpPayment, Payment: &PaymentOp{Kind: "seen", Tx: cp.Tx, From: cp.From, Wei: cp.Wei,
				Internal: cp.Internal, Block: b.Number, BlockHash: b.Hash, BlockTime: b.Time, Purchase: purchase}}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	return err
}

// Unpaid lists the transaction hashes buyers submitted for purchases that no payment
// has been found for yet, oldest purchase first: the watcher checks each once after a
// restart, in case its block was scanned before the hash arrived.
func (l *Ledger) Unpaid() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	type item struct {
		at time.Time
		tx string
	}
	var items []item
	for _, pu := range l.st.Purchases {
		if pu.Method == shared.MethodCrypto && pu.TxHash != "" && l.st.Payments[pu.TxHash] == nil {
			items = append(items, item{pu.CreatedAt, pu.TxHash})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.at.Compare(b.at) })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.tx
	}
	return out
}

// HasPayment reports whether a transaction is known as a payment (seen on chain).
func (l *Ledger) HasPayment(txHash string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.st.Payments[strings.ToLower(txHash)] != nil
}

// PurchaseOfTx names the purchase a transaction was submitted for or credited to ("" if
// none).
func (l *Ledger) PurchaseOfTx(txHash string) string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if id, ok := l.st.TxOf[txHash]; ok {
		return id
	}
	if p := l.st.Payments[txHash]; p != nil {
		return p.Purchase
	}
	return ""
}

// AccountActive reports whether an account exists and its key is not revoked.
func (l *Ledger) AccountActive(account string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.st.Accounts[account]
	return a != nil && a.Status != StatusRevoked
}
