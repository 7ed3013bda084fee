package devchain_test

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

func TestDataDirResumesTheSameChain(t *testing.T) {
	ctx := Context(t)
	dir := t.TempDir()
	to := newAddress(t)

	first, err := devchain.Start(ctx, devchain.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	t.Cleanup(func() { first.Close() }) // when the test fails before closing it
	wallet := first.Wallet()
	hash, err := first.SendETH(ctx, first.WalletKey(), to, ether(3))
	if err != nil {
		t.Fatal(err)
	}
	receipt, err := first.WaitReceipt(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	headHash := first.Commit()
	head := first.Head()
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
	if got := rpc.Uint("eth_getTransactionCount", wallet.Address, "latest"); got != 1 {
		t.Errorf("wallet nonce after restart %d, want 1", got)
	}
	// The feed kept its rounds: the first start posted round 1, this one round 2.
	if got := latestRoundData(t, rpc, second.PriceFeed()); got.RoundID.Cmp(big.NewInt(2)) != 0 || got.Answer.Cmp(big.NewInt(315012000000)) != 0 {
		t.Errorf("feed after restart: round %s answer %s, want round 2 answer 315012000000", got.RoundID, got.Answer)
	}
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
