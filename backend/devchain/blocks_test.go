package devchain_test

import (
	"testing"
	"time"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

func TestBlockTimeZeroSealsOnTransaction(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	before := rpc.Uint("eth_blockNumber")

	time.Sleep(300 * time.Millisecond)
	if got := rpc.Uint("eth_blockNumber"); got != before {
		t.Fatalf("head moved from %d to %d with no transaction", before, got)
	}
	hash, err := rpc.SendRaw(rpc.SignTransfer(chain.Wallet().PrivateKey, 8453, newAddress(t), ether(1)))
	if err != nil {
		t.Fatal(err)
	}
	receipt := rpc.WaitReceipt(hash)
	if uint64(receipt.BlockNumber) != before+1 {
		t.Errorf("sealed in block %d, want %d", receipt.BlockNumber, before+1)
	}
	time.Sleep(100 * time.Millisecond)
	if got := rpc.Uint("eth_blockNumber"); got != before+1 {
		t.Errorf("head %d after one transaction, want %d", got, before+1)
	}
}

func TestBlockTimeSealsEmptyBlocks(t *testing.T) {
	chain := MustStart(t, devchain.Options{BlockTime: 200 * time.Millisecond})
	rpc := MustServe(t, chain)
	start := rpc.Uint("eth_blockNumber")

	deadline := time.Now().Add(5 * time.Second)
	for rpc.Uint("eth_blockNumber") < start+4 {
		if time.Now().After(deadline) {
			t.Fatalf("head still below %d after 5s with a 200ms block time", start+4)
		}
		time.Sleep(50 * time.Millisecond)
	}
	previous := rpc.Block(hexutil.EncodeUint64(start), false)
	for n := start + 1; n <= start+4; n++ {
		block := rpc.Block(hexutil.EncodeUint64(n), false)
		if len(block.Transactions) != 0 {
			t.Errorf("block %d holds %d transactions, want none", n, len(block.Transactions))
		}
		if block.ParentHash != previous.Hash {
			t.Errorf("block %d's parent is %s, want %s", n, block.ParentHash, previous.Hash)
		}
		if block.Timestamp < previous.Timestamp+1 {
			t.Errorf("block %d at %d, want at least a second after its parent's %d", n, block.Timestamp, previous.Timestamp)
		}
		previous = block
	}
}

func TestCommitSealsABlockAtWallClockTime(t *testing.T) {
	chain := MustStart(t, devchain.Options{BlockTime: time.Hour})
	rpc := MustServe(t, chain)
	before := chain.Head()

	hash := chain.Commit()
	if got := chain.Head(); got != before+1 {
		t.Fatalf("head %d after Commit, want %d", got, before+1)
	}
	block := rpc.Block("latest", false)
	if block.Hash != hash {
		t.Errorf("Commit returned %s, head is %s", hash, block.Hash)
	}
	if skew := time.Since(time.Unix(int64(block.Timestamp), 0)); skew < -5*time.Second || skew > 5*time.Second {
		t.Errorf("block timestamp %d is %v off the wall clock", block.Timestamp, skew)
	}
}

func TestAdjustTimeMovesTheChainClock(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	before := rpc.Block("latest", false)

	if err := chain.AdjustTime(time.Hour); err != nil {
		t.Fatalf("AdjustTime: %v", err)
	}
	after := rpc.Block("latest", false)
	if after.Number != before.Number+1 || after.Timestamp != before.Timestamp+3600 {
		t.Errorf("block %d at %d after AdjustTime(1h), want block %d at %d",
			after.Number, after.Timestamp, before.Number+1, before.Timestamp+3600)
	}
	chain.Commit()
	if next := rpc.Block("latest", false); next.Timestamp <= after.Timestamp {
		t.Errorf("next block at %d, want after %d", next.Timestamp, after.Timestamp)
	}
}

// A payment's block is reorged out: after forking from its parent and sealing a longer
// side chain, the transaction and its receipt are gone and the transfer undone.
func TestForkRemovesTransactionFromCanonicalChain(t *testing.T) {
	ctx := Context(t)
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	to := newAddress(t)

	hash, err := chain.SendETH(ctx, chain.WalletKey(), to, ether(2))
	if err != nil {
		t.Fatalf("SendETH: %v", err)
	}
	mined := rpc.WaitReceipt(hash)
	n := uint64(mined.BlockNumber)
	signed, _, err := chain.Client().TransactionByHash(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	parent := rpc.Block(hexutil.EncodeUint64(n-1), false)

	if err := chain.Fork(parent.Hash); err != nil {
		t.Fatalf("Fork: %v", err)
	}
	if got := chain.Head(); got != n-1 {
		t.Errorf("head %d right after Fork, want the parent %d", got, n-1)
	}
	chain.Commit()
	chain.Commit()
	if got := chain.Head(); got != n+1 {
		t.Fatalf("head %d after forking from %d and sealing 2 blocks, want %d", got, n-1, n+1)
	}
	if got := rpc.Block(hexutil.EncodeUint64(n), false); got.Hash == mined.BlockHash || got.ParentHash != parent.Hash {
		t.Errorf("block %d is %s (parent %s), want a new block on %s", n, got.Hash, got.ParentHash, parent.Hash)
	}
	for _, method := range []string{"eth_getTransactionReceipt", "eth_getTransactionByHash"} {
		if result, err := rpc.Try(method, hash); err != nil || string(result) != "null" {
			t.Errorf("%s after the reorg = %s, %v; want null", method, result, err)
		}
	}
	if got := rpc.Big("eth_getBalance", to, "latest"); got.Sign() != 0 {
		t.Errorf("recipient balance %s after the reorg, want 0", got)
	}

	// Sent again, the same signed transaction comes back in the new branch.
	if err := chain.Client().SendTransaction(ctx, signed); err != nil {
		t.Fatalf("send the transaction again: %v", err)
	}
	if back := rpc.WaitReceipt(hash); back.Status != 1 || uint64(back.BlockNumber) != n+2 {
		t.Errorf("sent again: block %d status %d, want block %d status 1", back.BlockNumber, back.Status, n+2)
	}
}

func TestForkRefusesUnknownParent(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	if err := chain.Fork(common.HexToHash("0x1234")); err == nil {
		t.Errorf("Fork on an unknown block succeeded")
	}
}
