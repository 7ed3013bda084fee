package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

func TestFailCardFailsOnlyAPendingPurchaseOfItsOwnSession(t *testing.T) {
	c := newChainTest(t)
	ctx := context.Background()
	cents, _ := shared.ParseUSD("5.00")
	card := func(id, session string) {
		t.Helper()
		if err := c.l.CreatePurchase(ctx, ledger.Purchase{ID: id, SecretHash: testKeys.HashSecret("s-" + id), Method: shared.MethodCard,
			Cents: cents, Credits: cents.Credits(), SessionID: session}); err != nil {
			t.Fatal(err)
		}
	}
	card("p1", "cs_1")
	card("p2", "cs_2")
	c.quote("p3", "5.00", "0xaaa")

	t.Run("OK", func(t *testing.T) {
		for range 2 { // a repeat changes nothing
			if err := c.l.FailCard(ctx, "p1", "cs_1", "the delayed payment failed"); err != nil {
				t.Fatal(err)
			}
		}
		if v := c.view("p1"); v.Status != shared.StatusFailed || v.Failure != "the delayed payment failed" {
			t.Fatalf("p1: status %q (%q), want failed", v.Status, v.Failure)
		}
	})
	t.Run("ErrAnotherPurchasesSession", func(t *testing.T) {
		if err := c.l.FailCard(ctx, "p2", "cs_1", "x"); credits.ErrorCode(err) != shared.CodeConflict {
			t.Fatalf("got %v, want a conflict", err)
		}
		if v := c.view("p2"); v.Status != shared.StatusPending {
			t.Fatalf("p2: %q, want pending", v.Status)
		}
	})
	t.Run("CreditedStaysCredited", func(t *testing.T) {
		if err := c.l.CreditCard(ctx, ledger.CardCredit{Purchase: "p2", Session: "cs_2", PaymentIntent: "pi_2", Cents: cents}, newKey); err != nil {
			t.Fatal(err)
		}
		if err := c.l.FailCard(ctx, "p2", "cs_2", "x"); err != nil {
			t.Fatal(err)
		}
		if v := c.view("p2"); v.Status != shared.StatusCredited || v.CreditsGranted != 50_000 {
			t.Fatalf("p2: %q %d, want credited 50000", v.Status, v.CreditsGranted)
		}
	})
	t.Run("ErrNoPurchase", func(t *testing.T) {
		for _, id := range []string{"nope", "p3"} { // p3 is a crypto purchase
			if err := c.l.FailCard(ctx, id, "cs_3", "x"); !errors.Is(err, ledger.ErrNoPurchase) {
				t.Fatalf("%s: got %v, want ErrNoPurchase", id, err)
			}
		}
	})
}
