package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

func TestOnCommitRegisteredAfterOpenSeesEveryDurableEntryInOrder(t *testing.T) {
	c := newChainTest(t)
	var mu sync.Mutex
	var got []string
	remove := c.l.OnCommit(func(ops []ledger.Op) {
		mu.Lock()
		defer mu.Unlock()
		for _, op := range ops {
			if op.Type == ledger.OpPurchase && op.Purchase.Purchase != nil {
				got = append(got, op.Purchase.Purchase.ID)
			}
		}
	})
	c.quote("p1", "1.00", "0xaaa")
	c.quote("p2", "1.00", "0xaaa")
	remove()
	c.quote("p3", "1.00", "0xaaa")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "p1" || got[1] != "p2" {
		t.Fatalf("the hook saw %v, want [p1 p2] (and nothing after its removal)", got)
	}
}

func TestQuoteExpiresOnlyOnceTheWatcherIsPastIt(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "1.00", "0xaaa")
	c.quote("p2", "1.00", "0xbbb")
	c.l.SubmitTx(context.Background(), "p2", "0x02") // a hash was sent: not expired, waiting
	// The clock is past the quote, but the watcher has not reached a block after it
	// (it is behind): a payment mined in time must still find its purchase.
	c.clock.Add(16 * time.Minute)
	if n, err := c.l.ExpireQuotes(context.Background(), p.ExpiresAt.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("ExpireQuotes before the end: %d %v, want 0", n, err)
	}
	if n, err := c.l.ExpireQuotes(context.Background(), p.ExpiresAt.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("ExpireQuotes past the end: %d %v, want 1", n, err)
	}
	if v := c.view("p1"); v.Status != shared.StatusExpired {
		t.Fatalf("p1 is %s, want expired", v.Status)
	}
	if v := c.view("p2"); v.Status != shared.StatusSubmitted {
		t.Fatalf("p2 is %s, want submitted", v.Status)
	}
	// Paid anyway, late: the submitted hash moves it on and it is credited at the
	// price of the moment.
	if err := c.l.SubmitTx(context.Background(), "p1", "0x01"); err != nil {
		t.Fatal(err)
	}
	c.block(pay("0x01", "0xaaa", p.Wei))
	if v := c.view("p1"); v.Status != shared.StatusCredited || v.CreditsGranted != 10_000 {
		t.Fatalf("paid late: %+v", v)
	}
}

func TestHashSubmittedAfterItsPaymentWasSetAsideAsUnclaimedIsCreditedToThePurchase(t *testing.T) {
	c := newChainTest(t)
	// A quote without a wallet (opened in MetaMask from another browser): the
	// payment cannot be matched by sender, so it is confirmed as unclaimed.
	cents, _ := shared.ParseUSD("1.00")
	p := c.quote("p1", "1.00", "")
	c.block(pay("0x01", "0xaaa", p.Wei))
	if u := c.l.Unclaimed(); len(u) != 1 {
		t.Fatalf("unclaimed: %+v", u)
	}
	// Then the page hands the hash over: the payment is the purchase's.
	if err := c.l.SubmitTx(context.Background(), "p1", "0x01"); err != nil {
		t.Fatal(err)
	}
	c.block()
	if v := c.view("p1"); v.Status != shared.StatusCredited || v.CreditsGranted != cents.Credits() {
		t.Fatalf("after the submit: %+v", v)
	}
	if u := c.l.Unclaimed(); len(u) != 0 {
		t.Fatalf("still unclaimed: %+v", u)
	}
}

func TestLatePaymentFoundByTraceIsCreditedOnce(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "1.00", "0xaaa")
	c.block()
	c.block() // block 2: held a contract wallet's transaction, not traced then
	cur := c.l.ChainCursor()
	b2 := ledger.ChainBlock{Number: 2, Hash: cur.Recent[len(cur.Recent)-1], Time: c.clock.Now(),
		Payments: []ledger.ChainPayment{{Tx: "0x0c", From: "0xaaa", Wei: p.Wei, Internal: true}}}
	if err := c.l.SubmitTx(context.Background(), "p1", "0x0c"); err != nil {
		t.Fatal(err)
	}
	if got := c.l.Unpaid(); len(got) != 1 || got[0] != "0x0c" {
		t.Fatalf("Unpaid = %v, want [0x0c]", got)
	}
	// A block the watcher does not have is refused: a reorg replaced it.
	wrong := b2
	wrong.Hash = "0xother"
	if err := c.l.RecordLatePayments(context.Background(), wrong); err == nil {
		t.Fatal("a late payment in a block the cursor does not hold was accepted")
	}
	if err := c.l.RecordLatePayments(context.Background(), b2); err != nil {
		t.Fatal(err)
	}
	if err := c.l.RecordLatePayments(context.Background(), b2); err != nil { // a retry changes nothing
		t.Fatal(err)
	}
	c.block()
	if v := c.view("p1"); v.Status != shared.StatusCredited || v.CreditsGranted != 10_000 || c.balanceOf("p1") != 10_000 {
		t.Fatalf("late payment: %+v", v)
	}
	if got := c.l.Unpaid(); len(got) != 0 {
		t.Fatalf("Unpaid = %v after the credit", got)
	}
}
