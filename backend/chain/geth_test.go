package chain

import (
	"context"
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// Tests against a real node: geth --dev, built once and cached (see package gethdev).

func gethClient(t testing.TB, n *gethdev.Node) *Client {
	t.Helper()
	urls := []string{n.HTTP}
	if n.WS != "" {
		urls = append(urls, n.WS)
	}
	return mustClient(t, urls, ClientOptions{})
}

func newPayAddr(t testing.TB) common.Address {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey)
}

func TestWatcherFindsTopLevelPaymentsOnGeth(t *testing.T) {
	n := gethdev.Start(t, gethdev.WithoutWS())
	pay := newPayAddr(t)
	fromKey := n.Send(t, &pay, big.NewInt(12_345), nil)
	fromDev := n.SendFromDev(t, &pay, big.NewInt(67_890), nil)
	elsewhere := n.Send(t, &n.Dev, big.NewInt(5), nil)
	rKey, rDev := n.WaitReceipt(t, fromKey), n.WaitReceipt(t, fromDev)
	n.WaitReceipt(t, elsewhere)

	w := &Watcher{RPC: gethClient(t, n), Address: pay}
	before := n.BlockNumber(t)
	got, cur := allPayments(t, w, StartAt(1))
	want := []Payment{
		{TxHash: fromKey, From: n.Addr, To: pay, Value: big.NewInt(12_345), BlockNumber: uint64(rKey.BlockNumber), BlockHash: rKey.BlockHash},
		{TxHash: fromDev, From: n.Dev, To: pay, Value: big.NewInt(67_890), BlockNumber: uint64(rDev.BlockNumber), BlockHash: rDev.BlockHash},
	}
	if rDev.BlockNumber < rKey.BlockNumber {
		want[0], want[1] = want[1], want[0]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payments = %+v\nwant %+v", got, want)
	}
	// geth --dev seals an empty block now and then, so the head may have moved on.
	atHead(t, "cursor", cur.Number, before, n)
}

func TestWatcherFindsInternalTransfersThroughAContractOnGeth(t *testing.T) {
	n := gethdev.Start(t, gethdev.WithoutWS())
	pay := newPayAddr(t)
	fwd := n.DeployForwarder(t, pay)
	start := n.BlockNumber(t) + 1

	one := n.Send(t, &fwd, big.NewInt(1000), gethdev.ForwarderPay)
	two := n.Send(t, &fwd, big.NewInt(1001), gethdev.ForwarderPayInTwo) // 500 + 501
	reverted := n.Send(t, &fwd, big.NewInt(777), gethdev.ForwarderPayReverted)
	unwanted := n.Send(t, &fwd, big.NewInt(999), gethdev.ForwarderPay)
	for _, h := range []common.Hash{one, two, reverted, unwanted} {
		if r := n.WaitReceipt(t, h); r.Status != 1 {
			t.Fatalf("%s failed", h.Hex())
		}
	}

	w := &Watcher{RPC: gethClient(t, n), Address: pay, Wanted: wantedSet(one, two, reverted)}
	got, _ := allPayments(t, w, StartAt(start))
	values := map[common.Hash]int64{}
	for _, p := range got {
		if !p.Internal || p.From != n.Addr || p.To != pay {
			t.Errorf("payment %+v: want an internal one from the wallet's signer to the payment address", p)
		}
		values[p.TxHash] = p.Value.Int64()
	}
	want := map[common.Hash]int64{one: 1000, two: 1001}
	if !reflect.DeepEqual(values, want) {
		t.Errorf("internal payments = %v, want %v (the reverted and the unwanted one absent)", values, want)
	}

	// The same, one transaction at a time, as a caller retrying an untraced one would.
	v, err := TraceValueTo(context.Background(), gethClient(t, n), reverted, pay)
	if err != nil || v.Sign() != 0 {
		t.Errorf("TraceValueTo(reverted) = %v, %v; want 0", v, err)
	}
}

func TestWatcherOnANodeWithoutDebugAPIStillFindsTopLevelPayments(t *testing.T) {
	n := gethdev.Start(t, gethdev.WithoutWS(), gethdev.HTTPAPI("eth,net,web3"))
	pay := newPayAddr(t)
	fwd := n.DeployForwarder(t, pay)
	start := n.BlockNumber(t) + 1
	internal := n.Send(t, &fwd, big.NewInt(1000), gethdev.ForwarderPay)
	n.WaitReceipt(t, internal)
	direct := n.Send(t, &pay, big.NewInt(2000), nil)
	n.WaitReceipt(t, direct)

	w := &Watcher{RPC: gethClient(t, n), Address: pay, Wanted: wantedSet(internal)}
	var payments []Payment
	var untraced []UntracedTx
	c := StartAt(start)
	for {
		r := mustStep(t, w, c)
		if len(r.Blocks) == 0 {
			break
		}
		for _, b := range r.Blocks {
			payments = append(payments, b.Payments...)
			untraced = append(untraced, b.Untraced...)
		}
		c = c.Apply(r, 0)
	}
	if len(payments) != 1 || payments[0].TxHash != direct {
		t.Errorf("payments = %+v, want only the direct one", payments)
	}
	if len(untraced) != 1 || untraced[0].TxHash != internal || !strings.Contains(untraced[0].Reason, "debug_traceTransaction") {
		t.Errorf("untraced = %+v, want the wanted one with geth's reason", untraced)
	}
	if _, err := TraceValueTo(context.Background(), gethClient(t, n), internal, pay); !IsMethodNotFound(err) {
		t.Errorf("TraceValueTo on a node without debug: %v, want method not found", err)
	}
}

func TestWatcherCatchesUpOverHundredsOfBlocksOnGeth(t *testing.T) {
	n := gethdev.Start(t)
	pay, other := newPayAddr(t), newPayAddr(t)
	start := n.BlockNumber(t) + 1
	// Every other transaction pays 1 wei to the payment address.
	sent := n.Mine(t, 300, pay, other)
	var want []common.Hash
	for i := 0; i < len(sent); i += 2 {
		want = append(want, sent[i])
	}
	head := n.BlockNumber(t)

	w := &Watcher{RPC: gethClient(t, n), Address: pay, BatchSize: 100}
	got, cur := allPayments(t, w, StartAt(start))
	var gotHashes []common.Hash
	for i, p := range got {
		if p.Value.Int64() != 1 || p.From != n.Addr || (i > 0 && p.BlockNumber < got[i-1].BlockNumber) {
			t.Fatalf("payment %d = %+v: want 1 wei from the key, in block order", i, p)
		}
		gotHashes = append(gotHashes, p.TxHash)
	}
	if !reflect.DeepEqual(gotHashes, want) {
		t.Errorf("found %d payments, want the %d sent, in order", len(gotHashes), len(want))
	}
	// geth may seal more (empty) blocks meanwhile: the cursor reaches at least the
	// head seen after the payments, and its tip is the node's block at that number.
	if cur.Number < head {
		t.Fatalf("cursor %d, want at least %d", cur.Number, head)
	}
	var tip *BlockHeader
	if err := gethClient(t, n).Call(context.Background(), &tip, "eth_getBlockByNumber", hexNumber(cur.Number), false); err != nil {
		t.Fatal(err)
	}
	eq(t, "cursor tip hash", cur.Recent[len(cur.Recent)-1], tip.Hash)
}

// Every transaction type geth makes, decoded by this package, agrees with
// go-ethereum's own decoding of the same answer, and its hash and sender recompute.
func TestDecodeEveryGethTransactionType(t *testing.T) {
	n := gethdev.Start(t, gethdev.WithoutWS())
	to := newPayAddr(t)
	chainID := big.NewInt(gethdev.ChainID)
	authority, _ := crypto.GenerateKey()
	auth, err := types.SignSetCode(authority, types.SetCodeAuthorization{ChainID: *uint256.NewInt(gethdev.ChainID), Address: to, Nonce: 0})
	if err != nil {
		t.Fatal(err)
	}
	al := types.AccessList{{Address: to, StorageKeys: []common.Hash{{1}, {2}}}}
	txs := map[string]types.TxData{
		"Legacy":     &types.LegacyTx{GasPrice: big.NewInt(100e9), Gas: 30_000, To: &to, Value: big.NewInt(1), Data: []byte{0xca, 0xfe}},
		"AccessList": &types.AccessListTx{ChainID: chainID, GasPrice: big.NewInt(100e9), Gas: 40_000, To: &to, Value: big.NewInt(2), AccessList: al},
		"DynamicFee": &types.DynamicFeeTx{ChainID: chainID, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: 40_000, To: &to, Value: big.NewInt(3), AccessList: al},
		"SetCode": &types.SetCodeTx{ChainID: uint256.NewInt(gethdev.ChainID), GasTipCap: uint256.NewInt(1e9), GasFeeCap: uint256.NewInt(100e9), Gas: 100_000,
			To: to, Value: uint256.NewInt(4), AuthList: []types.SetCodeAuthorization{auth}},
	}
	rpc := gethClient(t, n)
	for _, name := range []string{"Legacy", "AccessList", "DynamicFee", "SetCode"} {
		t.Run(name, func(t *testing.T) {
			switch tx := txs[name].(type) {
			case *types.LegacyTx:
				tx.Nonce = n.NextNonce()
			case *types.AccessListTx:
				tx.Nonce = n.NextNonce()
			case *types.DynamicFeeTx:
				tx.Nonce = n.NextNonce()
			case *types.SetCodeTx:
				tx.Nonce = n.NextNonce()
			}
			sent := n.Sign(t, txs[name])
			if r := n.WaitReceipt(t, n.SendRaw(t, sent)); r.Status != 1 {
				t.Fatalf("status %d", r.Status)
			}
			var raw json.RawMessage
			if err := rpc.Call(context.Background(), &raw, "eth_getTransactionByHash", sent.Hash()); err != nil {
				t.Fatal(err)
			}
			var ours Transaction
			if err := json.Unmarshal(raw, &ours); err != nil {
				t.Fatal(err)
			}
			var theirs types.Transaction
			if err := json.Unmarshal(raw, &theirs); err != nil {
				t.Fatal(err)
			}
			eq(t, "type", uint64(ours.Type), uint64(theirs.Type()))
			eq(t, "hash", ours.Hash, theirs.Hash())
			eq(t, "nonce", uint64(ours.Nonce), theirs.Nonce())
			eq(t, "gas", uint64(ours.Gas), theirs.Gas())
			eq(t, "to", *ours.To, *theirs.To())
			eq(t, "value", ours.ValueWei().String(), theirs.Value().String())
			eq(t, "input", string(ours.Input), string(theirs.Data()))
			eq(t, "from", ours.From, n.Addr)
			if name != "Legacy" {
				eq(t, "access list", len(*ours.AccessList), len(theirs.AccessList()))
			}
			if name == "SetCode" {
				if !reflect.DeepEqual(ours.AuthorizationList, theirs.SetCodeAuthorizations()) {
					t.Errorf("authorization list = %+v, want %+v", ours.AuthorizationList, theirs.SetCodeAuthorizations())
				}
			}
			checkSigned(t, &ours)

			// And inside its block, as the watcher reads it.
			var b *Block
			if err := rpc.Call(context.Background(), &b, "eth_getBlockByNumber", hexNumber(uint64(*ours.BlockNumber)), true); err != nil {
				t.Fatal(err)
			}
			eq(t, "block's recomputed header hash", b.EthHeader().Hash(), b.Hash)
			found := false
			for _, tx := range b.Transactions {
				found = found || reflect.DeepEqual(tx, ours)
			}
			eq(t, "the block holds the same transaction", found, true)
		})
	}
}

func TestHeadsFollowsGeth(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []gethdev.Option
		poll time.Duration
	}{
		// Polling once an hour: only the subscription can report the new blocks.
		{"Subscription", nil, time.Hour},
		{"Polling", []gethdev.Option{gethdev.WithoutWS()}, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := gethdev.Start(t, tc.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			before := n.BlockNumber(t)
			heads := Heads(ctx, gethClient(t, n), tc.poll)
			atHead(t, "first head", <-heads, before, n)
			n.Mine(t, 3)
			want := n.BlockNumber(t)
			// Heads keeps only the latest: if geth seals another block before this
			// reader looks, it sees that one instead of want.
			for h := range heads {
				if h >= want {
					return
				}
			}
			t.Errorf("Heads never reported %d or later", want)
		})
	}
}

// atHead checks that got is a head of the chain since before: at least before and at
// most the head now.
func atHead(t *testing.T, what string, got, before uint64, n *gethdev.Node) {
	t.Helper()
	if now := n.BlockNumber(t); got < before || got > now {
		t.Errorf("%s = %d, want the head: between %d and %d", what, got, before, now)
	}
}
