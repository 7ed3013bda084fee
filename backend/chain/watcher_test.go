package chain

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

var (
	payAddr = common.HexToAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	buyer   = common.HexToAddress("0x1111111111111111111111111111111111111111")
	wallet  = common.HexToAddress("0x2222222222222222222222222222222222222222") // a smart-contract wallet
	other   = common.HexToAddress("0x3333333333333333333333333333333333333333")
)

func wantedSet(hashes ...common.Hash) func(common.Hash) bool {
	m := map[common.Hash]bool{}
	for _, h := range hashes {
		m[h] = true
	}
	return func(h common.Hash) bool { return m[h] }
}

func mustStep(t *testing.T, w *Watcher, c Cursor) StepResult {
	t.Helper()
	r, err := w.Step(context.Background(), c)
	if err != nil {
		t.Fatalf("Step(%d): %v", c.Number, err)
	}
	return r
}

// allPayments runs steps from c until the watcher is at the head and returns the
// payments found and the final cursor.
func allPayments(t *testing.T, w *Watcher, c Cursor) ([]Payment, Cursor) {
	t.Helper()
	var out []Payment
	for range 1000 {
		r := mustStep(t, w, c)
		if r.Reorg != nil {
			t.Fatalf("unexpected reorg to %d", r.Reorg.Ancestor)
		}
		if len(r.Blocks) == 0 {
			return out, c
		}
		for _, b := range r.Blocks {
			out = append(out, b.Payments...)
		}
		c = c.Apply(r, 0)
	}
	t.Fatal("the watcher never reached the head")
	return nil, c
}

func frame(typ string, to common.Address, value int64, errText string, calls ...CallFrame) CallFrame {
	return CallFrame{Type: typ, From: wallet, To: &to, Value: (*hexutil.Big)(big.NewInt(value)), Error: errText, Calls: calls}
}

func TestStepFindsOnlySuccessfulTransfersToThePaymentAddress(t *testing.T) {
	c := newFakeChain()
	hs := c.add(
		fakeTx{from: buyer, to: payAddr, value: 1000},              // 0: a payment
		fakeTx{from: buyer, to: payAddr, value: 0},                 // 1: no value
		fakeTx{from: buyer, to: payAddr, value: 500, failed: true}, // 2: reverted
		fakeTx{from: buyer, to: other, value: 700},                 // 3: elsewhere
		fakeTx{from: other, to: payAddr, value: 42},                // 4: a payment nobody submitted: still found
	)
	w := &Watcher{RPC: c, Address: payAddr}
	r := mustStep(t, w, Cursor{Number: 0, Recent: []common.Hash{c.hash(0)}})
	if len(r.Blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(r.Blocks))
	}
	b := r.Blocks[0]
	want := []Payment{
		{TxHash: hs[0], From: buyer, To: payAddr, Value: big.NewInt(1000), BlockNumber: 1, BlockHash: c.hash(1)},
		{TxHash: hs[4], From: other, To: payAddr, Value: big.NewInt(42), BlockNumber: 1, BlockHash: c.hash(1)},
	}
	if !reflect.DeepEqual(b.Payments, want) {
		t.Errorf("payments = %+v\nwant %+v", b.Payments, want)
	}
	eq(t, "block number", b.Number, 1)
	eq(t, "block hash", b.Hash, c.hash(1))
	eq(t, "parent hash", b.ParentHash, c.hash(0))
	eq(t, "time", b.Time, 1_700_000_002)
	eq(t, "head", r.Head, 1)
	// Receipts only for the candidates: the three transactions to the address with
	// a value, not the one elsewhere.
	eq(t, "receipt lookups", c.count("eth_getTransactionReceipt"), 3)
	eq(t, "traces", c.count("debug_traceTransaction"), 0)
}

func TestStepFindsInternalTransfersOfWantedTransactionsByTrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trace CallFrame
		want  int64 // 0: no payment
	}{
		{"OneCall", frame("CALL", wallet, 0, "", frame("CALL", payAddr, 1000, "")), 1000},
		{"TwoCallsAddUp", frame("CALL", wallet, 0, "", frame("CALL", payAddr, 400, ""), frame("CALL", other, 5, ""), frame("CALL", payAddr, 600, "")), 1000},
		{"DeepCall", frame("CALL", wallet, 0, "", frame("DELEGATECALL", other, 0, "", frame("CALL", payAddr, 77, ""))), 77},
		{"RevertedCall", frame("CALL", wallet, 0, "", frame("CALL", payAddr, 1000, "execution reverted")), 0},
		{"CallUnderARevertedCaller", frame("CALL", wallet, 0, "", frame("CALL", wallet, 1000, "execution reverted", frame("CALL", payAddr, 1000, ""))), 0},
		{"DelegateCallMovesNoValue", frame("CALL", wallet, 0, "", frame("DELEGATECALL", payAddr, 1000, "")), 0},
		{"StaticCallMovesNoValue", frame("CALL", wallet, 0, "", frame("STATICCALL", payAddr, 1000, "")), 0},
		{"CallCodeMovesNoValue", frame("CALL", wallet, 0, "", frame("CALLCODE", payAddr, 1000, "")), 0},
		{"SelfDestructToUs", frame("CALL", wallet, 0, "", frame("SELFDESTRUCT", payAddr, 300, "")), 300},
		{"NothingToUs", frame("CALL", wallet, 0, "", frame("CALL", other, 1000, "")), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeChain()
			trace := tc.trace
			hs := c.add(fakeTx{from: buyer, to: wallet, value: 1000, trace: &trace})
			w := &Watcher{RPC: c, Address: payAddr, Wanted: wantedSet(hs[0])}
			r := mustStep(t, w, StartAt(1))
			var want []Payment
			if tc.want > 0 {
				want = []Payment{{TxHash: hs[0], From: buyer, To: payAddr, Value: big.NewInt(tc.want), BlockNumber: 1, BlockHash: c.hash(1), Internal: true}}
			}
			if got := r.Blocks[0].Payments; !reflect.DeepEqual(got, want) {
				t.Errorf("payments = %+v, want %+v", got, want)
			}
		})
	}
}

func TestStepTracesOnlyWantedSuccessfulTransactions(t *testing.T) {
	c := newFakeChain()
	paying := frame("CALL", wallet, 0, "", frame("CALL", payAddr, 1000, ""))
	hs := c.add(
		fakeTx{from: buyer, to: wallet, value: 1000, trace: &paying},               // wanted
		fakeTx{from: buyer, to: wallet, value: 1000, trace: &paying},               // not wanted: never traced
		fakeTx{from: buyer, to: wallet, value: 1000, trace: &paying, failed: true}, // wanted, but failed
	)
	w := &Watcher{RPC: c, Address: payAddr, Wanted: wantedSet(hs[0], hs[2])}
	r := mustStep(t, w, StartAt(1))
	if got := r.Blocks[0].Payments; len(got) != 1 || got[0].TxHash != hs[0] {
		t.Errorf("payments = %+v, want only %s", got, hs[0].Hex())
	}
	eq(t, "traces", c.count("debug_traceTransaction"), 1)
}

func TestStepWithoutDebugAPIFindsNoInternalTransfersAndSaysSo(t *testing.T) {
	c := newFakeChain()
	c.noDebug = true
	paying := frame("CALL", wallet, 0, "", frame("CALL", payAddr, 1000, ""))
	hs := c.add(fakeTx{from: buyer, to: wallet, value: 1000, trace: &paying}, fakeTx{from: buyer, to: payAddr, value: 5})
	w := &Watcher{RPC: c, Address: payAddr, Wanted: wantedSet(hs[0])}
	r := mustStep(t, w, StartAt(1))
	b := r.Blocks[0]
	if len(b.Payments) != 1 || b.Payments[0].TxHash != hs[1] {
		t.Errorf("payments = %+v, want only the top-level one", b.Payments)
	}
	if len(b.Untraced) != 1 || b.Untraced[0].TxHash != hs[0] || !strings.Contains(b.Untraced[0].Reason, "does not exist") {
		t.Errorf("untraced = %+v, want %s with the node's reason", b.Untraced, hs[0].Hex())
	}
}

func TestStepFallsBackToBlockReceiptsWithoutATransactionIndex(t *testing.T) {
	c := newFakeChain()
	c.noIndex = true
	hs := c.add(fakeTx{from: buyer, to: payAddr, value: 1000}, fakeTx{from: buyer, to: payAddr, value: 3, failed: true})
	w := &Watcher{RPC: c, Address: payAddr}
	r := mustStep(t, w, StartAt(1))
	if got := r.Blocks[0].Payments; len(got) != 1 || got[0].TxHash != hs[0] {
		t.Errorf("payments = %+v, want %s", got, hs[0].Hex())
	}
	eq(t, "block receipt lookups", c.count("eth_getBlockReceipts"), 1)
}

func TestStepRefusesAReceiptFromAnotherBlock(t *testing.T) {
	c := newFakeChain()
	hs := c.add(fakeTx{from: buyer, to: payAddr, value: 1000})
	c.wrongReceiptOf = hs[0]
	w := &Watcher{RPC: c, Address: payAddr}
	if _, err := w.Step(context.Background(), StartAt(1)); !errors.Is(err, ErrInconsistent) {
		t.Errorf("error = %v, want ErrInconsistent", err)
	}
}

func TestStepCatchesUpInBatches(t *testing.T) {
	c := newFakeChain()
	var want []common.Hash
	for i := range 250 {
		if i%10 == 3 {
			want = append(want, c.add(fakeTx{from: buyer, to: payAddr, value: int64(i + 1)})...)
		} else {
			c.add(fakeTx{from: buyer, to: other, value: 1})
		}
	}
	w := &Watcher{RPC: c, Address: payAddr, BatchSize: 100}
	got, cur := allPayments(t, w, StartAt(1))
	var gotHashes []common.Hash
	for _, p := range got {
		gotHashes = append(gotHashes, p.TxHash)
	}
	if !reflect.DeepEqual(gotHashes, want) {
		t.Errorf("found %d payments, want %d, in order", len(gotHashes), len(want))
	}
	eq(t, "cursor", cur.Number, 250)
	eq(t, "cursor keeps", len(cur.Recent), DefaultKeep)
	eq(t, "cursor tip", cur.Recent[len(cur.Recent)-1], c.hash(250))
	// 250 blocks in batches of 100: three block batches and one receipt batch each,
	// and one last step that finds nothing new.
	eq(t, "block batches + receipt batches", c.count("batch"), 6)
}

func TestStepStopsWhereTheNodeHasNoBlockYet(t *testing.T) {
	c := newFakeChain()
	c.addEmpty(10)
	c.lagFrom = 6 // a load-balanced node behind its own head
	w := &Watcher{RPC: c, Address: payAddr}
	r := mustStep(t, w, StartAt(1))
	eq(t, "blocks", len(r.Blocks), 5)
	eq(t, "reorg", r.Reorg == nil, true)
}

func TestStepDoesNotMistakeALaggingNodeForAReorg(t *testing.T) {
	c := newFakeChain()
	c.addEmpty(5)
	w := &Watcher{RPC: c, Address: payAddr}
	// A cursor ahead of this node's head: another, faster URL served it.
	r := mustStep(t, w, Cursor{Number: 8, Recent: []common.Hash{{8}}})
	eq(t, "blocks", len(r.Blocks), 0)
	eq(t, "reorg", r.Reorg == nil, true)
	eq(t, "head", r.Head, 5)
}

func TestStepFindsTheReorgsCommonAncestor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reorgAt  uint64 // first replaced block
		newCount int
		want     uint64
	}{
		{"TipOnly", 20, 2, 19},
		{"ThreeDeep", 18, 5, 17},
		{"ReplacedByAShorterChainThatGrew", 15, 7, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeChain()
			c.addEmpty(20)
			w := &Watcher{RPC: c, Address: payAddr}
			_, cur := allPayments(t, w, StartAt(1))
			eq(t, "cursor before", cur.Number, 20)

			c.reorg(tc.reorgAt, tc.newCount)
			r := mustStep(t, w, cur)
			if r.Reorg == nil {
				t.Fatalf("no reorg reported; blocks %d", len(r.Blocks))
			}
			eq(t, "ancestor", r.Reorg.Ancestor, tc.want)
			eq(t, "ancestor hash", r.Reorg.AncestorHash, c.hash(tc.want))
			eq(t, "blocks with a reorg", len(r.Blocks), 0)

			back := cur.Apply(r, 0)
			eq(t, "cursor after rollback", back.Number, tc.want)
			eq(t, "cursor tip after rollback", back.Recent[len(back.Recent)-1], c.hash(tc.want))
			// The next step continues on the new branch.
			found, after := allPayments(t, w, back)
			eq(t, "cursor on the new branch", after.Recent[len(after.Recent)-1], c.hash(uint64(len(c.blocks)-1)))
			eq(t, "payments on the new, empty branch", len(found), 0)
		})
	}
}

func TestStepReportsAReorgDeeperThanTheCursor(t *testing.T) {
	c := newFakeChain()
	c.addEmpty(30)
	w := &Watcher{RPC: c, Address: payAddr}
	_, cur := allPayments(t, w, StartAt(1))
	cur = Cursor{Number: cur.Number, Recent: cur.Recent[len(cur.Recent)-5:]} // keep 5
	c.reorg(20, 12)
	if _, err := w.Step(context.Background(), cur); !errors.Is(err, ErrReorgTooDeep) {
		t.Errorf("error = %v, want ErrReorgTooDeep", err)
	}
}

func TestStepDropsBlocksThatDoNotLinkWithinOneBatch(t *testing.T) {
	c := newFakeChain()
	c.addEmpty(6)
	c.mu.Lock()
	c.blocks[4].ParentHash = common.Hash{0xba, 0xd} // the node switched branch mid-batch
	c.mu.Unlock()
	w := &Watcher{RPC: c, Address: payAddr}
	r := mustStep(t, w, Cursor{Number: 0, Recent: []common.Hash{c.hash(0)}})
	eq(t, "blocks kept", len(r.Blocks), 3)
}

func TestCursorApplyKeepsTheNewestHashes(t *testing.T) {
	c := Cursor{Number: 3, Recent: []common.Hash{{1}, {2}, {3}}}
	r := StepResult{Blocks: []ScannedBlock{{Number: 4, Hash: common.Hash{4}}, {Number: 5, Hash: common.Hash{5}}}}
	got := c.Apply(r, 4)
	want := Cursor{Number: 5, Recent: []common.Hash{{2}, {3}, {4}, {5}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply = %+v, want %+v", got, want)
	}
	if h, ok := got.Hash(3); !ok || h != (common.Hash{3}) {
		t.Errorf("Hash(3) = %v, %v", h, ok)
	}
	if _, ok := got.Hash(1); ok {
		t.Error("Hash(1) found a hash the cursor dropped")
	}
	// The input is not modified: it may be journaled already.
	if len(c.Recent) != 3 || c.Recent[0] != (common.Hash{1}) {
		t.Errorf("Apply changed its receiver: %+v", c)
	}
	if got := c.Apply(StepResult{}, 4); !reflect.DeepEqual(got, c) {
		t.Errorf("Apply of an empty step = %+v, want the same cursor", got)
	}
	rolled := got.Apply(StepResult{Reorg: &Reorg{Ancestor: 3}}, 4)
	if want := (Cursor{Number: 3, Recent: []common.Hash{{2}, {3}}}); !reflect.DeepEqual(rolled, want) {
		t.Errorf("Apply(reorg to 3) = %+v, want %+v", rolled, want)
	}
}

func TestCursorApplyPanicsOnAStepThatDoesNotFollow(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Cursor{Number: 3}.Apply(StepResult{Blocks: []ScannedBlock{{Number: 7}}}, 0)
}

func TestConfirmedFollowsTheSpecRule(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		canonical               bool
		status, block, head, rq uint64
		want                    bool
	}{
		{"IncludedOneRequired", true, 1, 100, 100, 1, true},
		{"HeadBehindBlock", true, 1, 100, 99, 1, false},
		{"ThreeRequiredTwoSeen", true, 1, 100, 101, 3, false},
		{"ThreeRequiredThreeSeen", true, 1, 100, 102, 3, true},
		{"ZeroRequiredMeansOne", true, 1, 100, 100, 0, true},
		{"ZeroRequiredStillNeedsTheBlock", true, 1, 100, 99, 0, false},
		{"NotCanonical", false, 1, 100, 200, 1, false},
		{"Failed", true, 0, 100, 200, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Confirmed(tc.canonical, tc.status, tc.block, tc.head, tc.rq); got != tc.want {
				t.Errorf("Confirmed = %v, want %v", got, tc.want)
			}
		})
	}
	eq(t, "Confirmations(100, 104)", Confirmations(100, 104), 5)
	eq(t, "Confirmations(100, 99)", Confirmations(100, 99), 0)
}
