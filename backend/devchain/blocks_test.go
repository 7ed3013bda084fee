package devchain_test

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
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

func TestDataDirResumesTheSameChain(t *testing.T) {
	ctx := Context(t)
	dir := t.TempDir()
	to := newAddress(t)

	first, err := devchain.Start(ctx, devchain.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	wallet := first.Wallet()
	hash, err := first.SendETH(ctx, first.WalletKey(), to, ether(3))
	if err != nil {
		t.Fatal(err)
	}
	receipt, err := first.WaitReceipt(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	head := first.Head()
	headHash := first.Commit()
	head++
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	info, err := os.Stat(filepath.Join(dir, "dev-wallet.key"))
	if err != nil {
		t.Fatalf("wallet key file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("wallet key file mode %o, want 600", mode)
	}

	second := MustStart(t, devchain.Options{DataDir: dir})
	rpc := MustServe(t, second)
	if got := second.Wallet(); got != wallet {
		t.Errorf("wallet after restart %s, want %s", got.Address, wallet.Address)
	}
	if got := second.Head(); got < head {
		t.Errorf("head after restart %d, want at least %d", got, head)
	}
	if got := rpc.Block(hexutil.EncodeUint64(head), false).Hash; got != headHash {
		t.Errorf("block %d after restart is %s, want %s", head, got, headHash)
	}
	if got := rpc.WaitReceipt(hash); got.BlockHash != receipt.BlockHash || got.Status != 1 {
		t.Errorf("receipt after restart in %s status %d, want %s status 1", got.BlockHash, got.Status, receipt.BlockHash)
	}
	if got := rpc.Big("eth_getBalance", to, "latest"); got.Cmp(ether(3)) != 0 {
		t.Errorf("recipient balance after restart %s, want 3 ETH", got)
	}
	if got := latestRoundData(t, rpc, second.PriceFeed()); got.Answer.Cmp(big.NewInt(315012000000)) != 0 {
		t.Errorf("price after restart %s, want 315012000000", got.Answer)
	}
	// The wallet can still pay: its nonce was kept too.
	if _, err := rpc.SendRaw(rpc.SignTransfer(wallet.PrivateKey, 8453, to, ether(1))); err != nil {
		t.Errorf("payment after restart: %v", err)
	}
}

func TestWithoutDataDirEachStartIsANewChain(t *testing.T) {
	first := MustStart(t, devchain.Options{})
	second := MustStart(t, devchain.Options{})
	if first.Wallet().Address == second.Wallet().Address {
		t.Errorf("two in-memory chains share the wallet %s", first.Wallet().Address)
	}
	if first.PriceFeed() != second.PriceFeed() {
		t.Errorf("price feed at %s and %s, want one address on every dev chain", first.PriceFeed(), second.PriceFeed())
	}
}

// A data folder holds one chain: starting it as another one fails and names the folder,
// rather than quietly rewriting it.
func TestDataDirRefusesAnotherChain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string) devchain.Options
	}{
		{"AnotherChainID", func(t *testing.T, dir string) devchain.Options {
			return devchain.Options{DataDir: dir, ChainID: 84532}
		}},
		{"AnotherWallet", func(t *testing.T, dir string) devchain.Options {
			key, err := crypto.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			if err := crypto.SaveECDSA(filepath.Join(dir, "dev-wallet.key"), key); err != nil {
				t.Fatal(err)
			}
			return devchain.Options{DataDir: dir}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := MustStart(t, devchain.Options{DataDir: dir}).Close(); err != nil {
				t.Fatal(err)
			}
			other, err := devchain.Start(Context(t), tc.change(t, dir))
			if err == nil {
				other.Close()
			}
			if err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("Start: %v; want an error naming %s", err, dir)
			}
		})
	}
}

// The watcher reads internal transfers of smart-contract wallets with callTracer.
func TestTraceTransactionWithCallTracer(t *testing.T) {
	ctx := Context(t)
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	to := newAddress(t)
	key := chain.WalletKey()

	deploy, err := chain.Transact(ctx, key, nil, nil, forwarderInitCode(to))
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := chain.WaitReceipt(ctx, deploy.Hash())
	if err != nil || deployed.Status != 1 {
		t.Fatalf("deploy the forwarder: %v, %+v", err, deployed)
	}
	forwarder := deployed.ContractAddress

	wallet := common.HexToAddress(chain.Wallet().Address)
	for _, tc := range []struct {
		name     string
		sendTo   common.Address
		wantTop  common.Address   // the top call's recipient
		wantSubs []common.Address // the inner calls' recipients
	}{
		{"PlainTransfer", to, to, nil},
		{"ContractWalletForwards", forwarder, forwarder, []common.Address{to}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			amount := ether(1)
			hash, err := chain.SendETH(ctx, key, tc.sendTo, amount)
			if err != nil {
				t.Fatal(err)
			}
			rpc.WaitReceipt(hash)

			var trace callFrame
			rpc.Call(&trace, "debug_traceTransaction", hash, map[string]any{"tracer": "callTracer"})
			if trace.Type != "CALL" || trace.From != wallet || trace.To != tc.wantTop || trace.Value.ToInt().Cmp(amount) != 0 {
				t.Errorf("top call %s %s→%s value %s, want CALL %s→%s value %s",
					trace.Type, trace.From, trace.To, trace.Value.ToInt(), wallet, tc.wantTop, amount)
			}
			if len(trace.Calls) != len(tc.wantSubs) {
				t.Fatalf("%d inner calls, want %d", len(trace.Calls), len(tc.wantSubs))
			}
			for i, want := range tc.wantSubs {
				sub := trace.Calls[i]
				if sub.Type != "CALL" || sub.From != forwarder || sub.To != want || sub.Value.ToInt().Cmp(amount) != 0 {
					t.Errorf("inner call %s %s→%s value %s, want CALL %s→%s value %s",
						sub.Type, sub.From, sub.To, sub.Value.ToInt(), forwarder, want, amount)
				}
			}
		})
	}
	if got := rpc.Big("eth_getBalance", to, "latest"); got.Cmp(ether(2)) != 0 {
		t.Errorf("recipient balance %s, want 2 ETH", got)
	}
}

// callFrame is the part of callTracer's answer the watcher reads.
type callFrame struct {
	Type  string         `json:"type"`
	From  common.Address `json:"from"`
	To    common.Address `json:"to"`
	Value *hexutil.Big   `json:"value"`
	Calls []callFrame    `json:"calls"`
}

// forwarderInitCode deploys a minimal smart-contract wallet that forwards any ETH it
// receives to recipient, and reverts if that fails. Hand-assembled:
//
//	runtime: PUSH1 0 ×4 (ret and args sizes and offsets), CALLVALUE, PUSH20 recipient, GAS,
//	         CALL, ISZERO, PUSH1 0x25, JUMPI, STOP, JUMPDEST (0x25), PUSH1 0, DUP1, REVERT
//	init:    PUSH1 len, DUP1, PUSH1 11, PUSH1 0, CODECOPY, PUSH1 0, RETURN (11 bytes)
func forwarderInitCode(recipient common.Address) []byte {
	runtime := append([]byte{0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x34, 0x73}, recipient.Bytes()...)
	runtime = append(runtime, 0x5a, 0xf1, 0x15, 0x60, 0x25, 0x57, 0x00, 0x5b, 0x60, 0x00, 0x80, 0xfd)
	return append([]byte{0x60, byte(len(runtime)), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xf3}, runtime...)
}

func TestWebsocketSubscribesToNewHeads(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	endpoint := MustServe(t, chain)
	ctx := Context(t)

	conn, err := rpc.DialWebsocket(ctx, "ws"+strings.TrimPrefix(endpoint.URL, "http"), "http://localhost:8080")
	if err != nil {
		t.Fatalf("dial websocket: %v", err)
	}
	defer conn.Close()
	heads := make(chan *types.Header, 4)
	sub, err := ethclient.NewClient(conn).SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("eth_subscribe newHeads: %v", err)
	}
	defer sub.Unsubscribe()

	hash := chain.Commit()
	select {
	case head := <-heads:
		if head.Hash() != hash {
			t.Errorf("new head %s, want %s", head.Hash(), hash)
		}
	case err := <-sub.Err():
		t.Fatalf("subscription: %v", err)
	case <-ctx.Done():
		t.Fatal("no new head within 10s")
	}
}
