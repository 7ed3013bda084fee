package card

import (
	"context"
	"fmt"
	"sync"
)

// memLedger is a test double of the ledger: the reference implementation of the Ledger
// contract, in memory. Like the real one, it enforces exactly-once as a data-model
// property (a map keyed by the operation's unique key, under one mutex), never by
// trusting its caller to call once.
type memLedger struct {
	mu        sync.Mutex
	purchases map[string]*memPurchase
	credits   map[string]string // session id → purchase id: one credit per session, ever
	byPI      map[string]string // payment intent → purchase id, recorded by CreditCard
	calls     map[string]int    // method → calls, to see what reached the ledger
	failWith  error             // when set, every call returns it (a journal outage)
}

type memPurchase struct {
	Status       string // pending, credited, failed
	Credits      int64  // the card lot's credits
	Remaining    int64  // what remains of the lot
	Clawed       int64  // taken back by refunds and lost disputes
	RefundTarget int64  // high-water mark of cumulative refunded cents × 100
	Disputes     map[string]DisputeOutcome
	Suspended    bool
	Sessions     []string // sessions credited (must stay at most one)
}

func newMemLedger(purchaseIDs ...string) *memLedger {
	l := &memLedger{
		purchases: map[string]*memPurchase{},
		credits:   map[string]string{},
		byPI:      map[string]string{},
		calls:     map[string]int{},
	}
	for _, id := range purchaseIDs {
		l.purchases[id] = &memPurchase{Status: "pending", Disputes: map[string]DisputeOutcome{}}
	}
	return l
}

// state returns a copy of a purchase's state.
func (l *memLedger) state(id string) memPurchase {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.purchases[id]
	if !ok {
		return memPurchase{}
	}
	c := *p
	c.Sessions = append([]string(nil), p.Sessions...)
	return c
}

func (l *memLedger) callCount(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[method]
}

func (l *memLedger) setFail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failWith = err
}

func (l *memLedger) begin(method string) error {
	l.calls[method]++
	return l.failWith
}

func (l *memLedger) CreditCard(ctx context.Context, p Paid) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.begin("CreditCard"); err != nil {
		return err
	}
	pur, ok := l.purchases[p.PurchaseID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPurchase, p.PurchaseID)
	}
	if owner, done := l.credits[p.SessionID]; done {
		if owner != p.PurchaseID {
			return fmt.Errorf("%w: session %s already credited %s", ErrPermanent, p.SessionID, owner)
		}
		return nil // the unique key exists: a repeat changes nothing
	}
	l.credits[p.SessionID] = p.PurchaseID
	if p.PaymentIntentID != "" {
		l.byPI[p.PaymentIntentID] = p.PurchaseID
	}
	pur.Sessions = append(pur.Sessions, p.SessionID)
	pur.Credits += p.Credits()
	pur.Remaining += p.Credits()
	pur.Status = "credited"
	return nil
}

func (l *memLedger) FailCard(ctx context.Context, f Failure) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.begin("FailCard"); err != nil {
		return err
	}
	pur, ok := l.purchases[f.PurchaseID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPurchase, f.PurchaseID)
	}
	if pur.Status == "pending" {
		pur.Status = "failed"
	}
	return nil
}

func (l *memLedger) RefundCard(ctx context.Context, r Refund) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.begin("RefundCard"); err != nil {
		return err
	}
	id, ok := l.byPI[r.PaymentIntentID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPayment, r.PaymentIntentID)
	}
	pur := l.purchases[id]
	target := r.ClawbackCredits()
	if target <= pur.RefundTarget {
		return nil // this cumulative amount (or a larger one) is applied already
	}
	l.clawBack(pur, target-pur.RefundTarget)
	pur.RefundTarget = target
	return nil
}

func (l *memLedger) DisputeCard(ctx context.Context, d Dispute) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.begin("DisputeCard"); err != nil {
		return err
	}
	id, ok := l.byPI[d.PaymentIntentID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPayment, d.PaymentIntentID)
	}
	pur := l.purchases[id]
	switch prev := pur.Disputes[d.DisputeID]; {
	case prev == DisputeWon || prev == DisputeLost:
		return nil // closed is final
	case prev == d.Outcome:
		return nil
	}
	pur.Disputes[d.DisputeID] = d.Outcome
	if d.Outcome == DisputeLost {
		l.clawBack(pur, d.ClawbackCredits())
	}
	pur.Suspended = false
	for _, o := range pur.Disputes {
		if o == DisputeOpened {
			pur.Suspended = true
		}
	}
	return nil
}

// clawBack takes up to n credits from what remains of the lot, never more than the
// purchase credited in total.
func (l *memLedger) clawBack(pur *memPurchase, n int64) {
	n = min(n, pur.Remaining, pur.Credits-pur.Clawed)
	if n <= 0 {
		return
	}
	pur.Remaining -= n
	pur.Clawed += n
}

var _ Ledger = (*memLedger)(nil)
