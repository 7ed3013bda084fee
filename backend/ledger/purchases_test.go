package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

const price = 315012000000 // $3150.12 with 8 decimals

func newKey(account string) ledger.KeyOp {
	key := testKeys.NewKey()
	return ledger.KeyOp{Hash: testKeys.Hash(key), Sealed: testKeys.Seal(key, account), Hint: shared.KeyHint(key)}
}

// chainTest drives the ledger's chain side by hand: blocks with payments, reorgs.
type chainTest struct {
	t      *testing.T
	l      *ledger.Ledger
	clock  *Clock
	number uint64
	params ledger.ChainParams
}

func newChainTest(t *testing.T) *chainTest {
	clock := NewClock("2026-07-01T12:00:00Z")
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{Clock: clock.Now})
	return &chainTest{t: t, l: l, clock: clock, params: ledger.ChainParams{ChainID: 8453, Confirmations: 1, PriceE8: price, NewKey: newKey, ReorgGrace: 5}}
}

// quote creates a crypto purchase for usd from wallet, locked at price for 15 minutes.
func (c *chainTest) quote(id, usd, wallet string) ledger.Purchase {
	c.t.Helper()
	cents, _ := shared.ParseUSD(usd)
	p := ledger.Purchase{ID: id, SecretHash: testKeys.HashSecret("s-" + id), Method: shared.MethodCrypto, Cents: cents,
		Credits: cents.Credits(), Wallet: wallet, PriceE8: price, Wei: ethmath.WeiForCredits(cents.Credits(), price).String(),
		ExpiresAt: c.clock.Now().Add(15 * time.Minute)}
	if err := c.l.CreatePurchase(context.Background(), p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// block mines the next block with the payments, at the clock's time.
func (c *chainTest) block(pays ...ledger.ChainPayment) ledger.ChainResult {
	c.t.Helper()
	c.number++
	res, err := c.l.ApplyChainStep(context.Background(), ledger.ChainStep{
		Head:   c.number,
		Blocks: []ledger.ChainBlock{{Number: c.number, Hash: fmt.Sprintf("0xb%d-%d", c.number, time.Now().UnixNano()), Time: c.clock.Now(), Payments: pays}},
	}, c.params)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

func (c *chainTest) reorgTo(ancestor uint64) {
	c.t.Helper()
	c.number = ancestor
	if _, err := c.l.ApplyChainStep(context.Background(), ledger.ChainStep{Head: ancestor, Ancestor: &ancestor}, c.params); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chainTest) view(id string) ledger.PurchaseInfo {
	c.t.Helper()
	v, err := c.l.PurchaseView(id, testKeys.HashSecret("s-"+id))
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func (c *chainTest) balanceOf(id string) int64 {
	c.t.Helper()
	return balance(c.t, c.l, c.view(id).Account)
}

func pay(tx, from, wei string) ledger.ChainPayment {
	return ledger.ChainPayment{Tx: tx, From: from, Wei: wei}
}

func TestPayingTheQuotedWeiBuysTheQuotedCreditsAndOpensAnAccount(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "12.34", "0xaaa")
	res := c.block(pay("0x01", "0xaaa", p.Wei)) // matched by sender and open quote
	v := c.view("p1")
	if v.Status != shared.StatusCredited || v.CreditsGranted != 123_400 || !v.NewAccount || len(res.Credited) != 1 {
		t.Fatalf("after the block: %+v", v)
	}
	if got := c.balanceOf("p1"); got != 123_400 {
		t.Fatalf("balance %d, want 123400", got)
	}
	// The key is handed out once.
	sealed, acct, ok, err := c.l.TakeKey(context.Background(), "p1")
	if err != nil || !ok {
		t.Fatalf("TakeKey: %v %v", ok, err)
	}
	key, err := testKeys.Open(sealed, acct)
	if err != nil || shared.CheckKeyFormat(key) != nil {
		t.Fatalf("the sealed key does not open: %v", err)
	}
	if _, _, ok, _ := c.l.TakeKey(context.Background(), "p1"); ok {
		t.Fatal("the key was handed out twice")
	}
}

func TestCreditsForExactlyWhatArrived(t *testing.T) {
	for _, tc := range []struct {
		name string
		wei  func(quoted *big.Int) *big.Int
		want int64
	}{
		{"Exact", func(q *big.Int) *big.Int { return q }, 100_000},
		{"Underpaid", func(q *big.Int) *big.Int { return new(big.Int).Div(q, big.NewInt(2)) }, 49_999},
		{"Overpaid", func(q *big.Int) *big.Int { return new(big.Int).Mul(q, big.NewInt(3)) }, 300_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChainTest(t)
			p := c.quote("p1", "10.00", "0xaaa")
			q, _ := new(big.Int).SetString(p.Wei, 10)
			c.l.SubmitTx(context.Background(), "p1", "0x01")
			c.block(pay("0x01", "0xaaa", tc.wei(q).String()))
			v := c.view("p1")
			// Half of the rounded-up quote is a hair under half the credits.
			if v.Status != shared.StatusCredited || (v.CreditsGranted != tc.want && !(tc.name == "Underpaid" && v.CreditsGranted == 50_000)) {
				t.Fatalf("credited %d (%s), want %d", v.CreditsGranted, v.Status, tc.want)
			}
		})
	}
}

func TestPaidAfterTheQuoteExpiredIsCreditedAtThePriceOfConfirmation(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "10.00", "0xaaa")
	c.l.SubmitTx(context.Background(), "p1", "0x01")
	c.clock.Add(16 * time.Minute)
	c.params.PriceE8 = price * 2 // ETH doubled meanwhile
	c.block(pay("0x01", "0xaaa", p.Wei))
	if v := c.view("p1"); v.CreditsGranted != 199_999 && v.CreditsGranted != 200_000 {
		t.Fatalf("credited %d, want about 200000 at the new price", v.CreditsGranted)
	}
}

func TestExpiredQuoteWithoutAFreshPriceWaits(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "10.00", "0xaaa")
	c.l.SubmitTx(context.Background(), "p1", "0x01")
	c.clock.Add(16 * time.Minute)
	c.params.PriceE8 = 0 // stale price: no credit on a guess
	c.block(pay("0x01", "0xaaa", p.Wei))
	if v := c.view("p1"); v.Status != shared.StatusSeen {
		t.Fatalf("status %s, want seen (waiting for a price)", v.Status)
	}
	c.params.PriceE8 = price
	c.block()
	if v := c.view("p1"); v.Status != shared.StatusCredited || v.CreditsGranted != 100_000 {
		t.Fatalf("once priced: %+v", v)
	}
}

func TestOneTransactionForTwoPurchases(t *testing.T) {
	c := newChainTest(t)
	c.quote("p1", "1.00", "0xaaa")
	c.quote("p2", "1.00", "0xaaa")
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for _, id := range []string{"p1", "p2", "p1", "p2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.l.SubmitTx(context.Background(), id, "0xAB")
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ledger.ErrTxTaken):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Exactly one purchase holds the transaction (its two submits both succeed).
	if wins.Load() != 2 || conflicts.Load() != 2 {
		t.Fatalf("%d submits won, %d conflicts; want one purchase to win both of its submits", wins.Load(), conflicts.Load())
	}
}

func TestOneTransactionCreditsOnceEver(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "1.00", "0xaaa")
	c.l.SubmitTx(context.Background(), "p1", "0x01")
	c.block(pay("0x01", "0xaaa", p.Wei))
	// The same transaction seen again (a reorg re-including it, a watcher replaying a
	// step) never credits again.
	c.reorgTo(0)
	c.block(pay("0x01", "0xaaa", p.Wei))
	c.block(pay("0x01", "0xaaa", p.Wei))
	if got := c.balanceOf("p1"); got != 10_000 {
		t.Fatalf("balance %d, want 10000 (credited once)", got)
	}
}

func TestReorgReturnsThePaymentToPendingThenReincludesIt(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "1.00", "0xaaa")
	c.l.SubmitTx(context.Background(), "p1", "0x01")
	c.block()
	c.block(pay("0x01", "0xaaa", p.Wei)) // block 2
	if v := c.view("p1"); v.Status != shared.StatusCredited || v.Confirmations != 1 {
		t.Fatalf("credited: %+v", v)
	}
	c.reorgTo(1)
	if v := c.view("p1"); v.Status != shared.StatusSubmitted || v.Confirmations != 0 {
		t.Fatalf("after the reorg: status %s confirmations %d, want submitted and 0", v.Status, v.Confirmations)
	}
	c.block()
	c.block(pay("0x01", "0xaaa", p.Wei)) // re-included in block 3
	if v := c.view("p1"); v.Status != shared.StatusCredited || c.balanceOf("p1") != 10_000 {
		t.Fatalf("re-included: %+v balance %d", v, c.balanceOf("p1"))
	}
}

func TestReorgedPaymentThatNeverReturnsIsClawedBack(t *testing.T) {
	c := newChainTest(t)
	p := c.quote("p1", "1.00", "0xaaa")
	c.l.SubmitTx(context.Background(), "p1", "0x01")
	c.block(pay("0x01", "0xaaa", p.Wei))
	acct := c.view("p1").Account
	c.reorgTo(0)
	var clawed []string
	for i := 0; i < 6; i++ { // ReorgGrace is 5 blocks here
		clawed = append(clawed, c.block().ClawedBack...)
	}
	if len(clawed) != 1 || balance(t, c.l, acct) != 0 || c.view("p1").Status != shared.StatusFailed {
		t.Fatalf("clawed back %v, balance %d, status %s", clawed, balance(t, c.l, acct), c.view("p1").Status)
	}
	var audited bool
	c.l.Read(func(s *ledger.State) {
		for _, a := range s.Audit {
			audited = audited || (a.Account == acct && a.Action == "clawback")
		}
	})
	if !audited {
		t.Fatal("the clawback is not in the audit trail")
	}
}

func TestPaymentWithoutQuoteIsUnclaimedThenClaimedBySignature(t *testing.T) {
	c := newChainTest(t)
	c.block(pay("0x09", "0xbbb", ethmath.WeiForCredits(50_000, price).String()))
	if u := c.l.Unclaimed(); len(u) != 1 || u[0].PriceE8 != price {
		t.Fatalf("unclaimed: %+v", u)
	}
	res, err := c.l.ClaimPayments(context.Background(), 8453, "0xBBB", newKey)
	if err != nil || !res.NewAccount || res.Credited != 50_000 {
		t.Fatalf("claim: %+v %v", res, err)
	}
	if again, _ := c.l.ClaimPayments(context.Background(), 8453, "0xbbb", newKey); again.Credited != 0 || again.Account != res.Account {
		t.Fatalf("second claim: %+v", again)
	}
	if got := c.l.WalletAccounts("0xbbb"); len(got) != 1 || got[0] != res.Account {
		t.Fatalf("wallet accounts %v", got)
	}
}

func TestPurchaseWhileLoggedInTopsUp(t *testing.T) {
	c := newChainTest(t)
	MustAccount(t, c.l, "acct_me", 5)
	cents, _ := shared.ParseUSD("1.00")
	p := ledger.Purchase{ID: "p1", SecretHash: testKeys.HashSecret("s-p1"), Method: shared.MethodCrypto, Cents: cents, Credits: cents.Credits(),
		Wallet: "0xaaa", PriceE8: price, Wei: ethmath.WeiForCredits(10_000, price).String(), ExpiresAt: c.clock.Now().Add(time.Minute), Account: "acct_me"}
	if err := c.l.CreatePurchase(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	c.block(pay("0x01", "0xaaa", p.Wei))
	if v := c.view("p1"); v.NewAccount || v.Account != "acct_me" || balance(t, c.l, "acct_me") != 10_005 {
		t.Fatalf("top-up: %+v balance %d", v, balance(t, c.l, "acct_me"))
	}
	if _, _, ok, _ := c.l.TakeKey(context.Background(), "p1"); ok {
		t.Fatal("a top-up handed out a key")
	}
}

func TestPurchaseSecretIsRequired(t *testing.T) {
	c := newChainTest(t)
	c.quote("p1", "1.00", "0xaaa")
	if _, err := c.l.PurchaseView("p1", keys.Hash{}); !errors.Is(err, ledger.ErrNoPurchase) {
		t.Fatalf("wrong secret: %v, want ErrNoPurchase", err)
	}
}

func TestCardCreditRefundAndDispute(t *testing.T) {
	c := newChainTest(t)
	ctx := context.Background()
	cents, _ := shared.ParseUSD("20.00")
	if err := c.l.CreatePurchase(ctx, ledger.Purchase{ID: "p1", SecretHash: testKeys.HashSecret("s-p1"), Method: shared.MethodCard, Cents: cents, Credits: cents.Credits(), SessionID: "cs_1"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.l.CreditCard(ctx, ledger.CardCredit{Purchase: "p1", Session: "cs_1", PaymentIntent: "pi_1", Cents: cents}, newKey); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	acct := c.view("p1").Account
	if balance(t, c.l, acct) != 200_000 {
		t.Fatalf("balance %d after 20 fulfilments, want 200000 once", balance(t, c.l, acct))
	}
	// A refund reported twice is clawed back once; a larger total takes the difference.
	c.l.RefundCard(ctx, "pi_1", 500, "evt_1")
	c.l.RefundCard(ctx, "pi_1", 500, "evt_2")
	if b := balance(t, c.l, acct); b != 150_000 {
		t.Fatalf("after a $5 refund twice: %d, want 150000", b)
	}
	c.l.RefundCard(ctx, "pi_1", 800, "evt_3")
	if b := balance(t, c.l, acct); b != 120_000 {
		t.Fatalf("after $8 in all: %d, want 120000", b)
	}
	// A dispute suspends the key; won restores it.
	c.l.DisputeCard(ctx, "pi_1", "dp_1", ledger.DisputeOpened, 2000, "evt_4")
	if _, err := c.l.Session(acct, viewGen(c.l, acct)); credits.ErrorCode(err) != shared.CodeForbidden {
		t.Fatalf("during a dispute: %v, want forbidden", err)
	}
	c.l.DisputeCard(ctx, "pi_1", "dp_1", ledger.DisputeWon, 2000, "evt_5")
	if _, err := c.l.Session(acct, viewGen(c.l, acct)); err != nil {
		t.Fatalf("dispute won: %v", err)
	}
	// A lost dispute claws back what is left of the purchase, once.
	c.l.DisputeCard(ctx, "pi_1", "dp_2", ledger.DisputeLost, 2000, "evt_6")
	c.l.DisputeCard(ctx, "pi_1", "dp_2", ledger.DisputeLost, 2000, "evt_7")
	if b := balance(t, c.l, acct); b != 0 {
		t.Fatalf("after a lost $20 dispute: %d, want 0 (never more than the purchase)", b)
	}
}

func viewGen(l *ledger.Ledger, acct string) int64 {
	var g int64
	l.Read(func(s *ledger.State) { g = s.Accounts[acct].KeyGen })
	return g
}
