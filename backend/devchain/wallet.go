package devchain

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// walletFile holds the dev wallet's key under DataDir, in go-ethereum's key-file format
// (the 32-byte key in hex), so `geth account import` and crypto.LoadECDSA read it.
const walletFile = "dev-wallet.key"

// Wallet is the funded dev wallet. Printed or logged, it shows its address only; the
// private key is printed only where a caller prints PrivateKey on purpose.
type Wallet struct {
	Address    string // 0x-prefixed, EIP-55 checksummed
	PrivateKey string // 0x-prefixed hex, for importing into a browser wallet
}

// String returns the address, so that printing a Wallet never shows its key.
func (w Wallet) String() string { return w.Address }

// GoString keeps %#v from printing the key too.
func (w Wallet) GoString() string { return fmt.Sprintf("devchain.Wallet{Address: %q}", w.Address) }

// LogValue logs the address only.
func (w Wallet) LogValue() slog.Value { return slog.StringValue(w.Address) }

// Wallet returns the dev wallet, funded with 10,000 ETH at genesis.
func (c *Chain) Wallet() Wallet {
	return Wallet{
		Address:    c.walletAddress().Hex(),
		PrivateKey: hexutil.Encode(crypto.FromECDSA(c.wallet)),
	}
}

// WalletKey returns the dev wallet's key, for tests and tools that sign as the wallet
// (SendETH).
func (c *Chain) WalletKey() *ecdsa.PrivateKey { return c.wallet }

func (c *Chain) walletAddress() common.Address { return crypto.PubkeyToAddress(c.wallet.PublicKey) }

// loadOrCreateWallet reads the dev wallet's key from dataDir, or generates one (from
// crypto/rand) and stores it there first. Without dataDir the key is new at each start.
func loadOrCreateWallet(dataDir string) (*ecdsa.PrivateKey, error) {
	if dataDir == "" {
		key, err := crypto.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("devchain: generate wallet key: %w", err)
		}
		return key, nil
	}
	path := filepath.Join(dataDir, walletFile)
	key, err := crypto.LoadECDSA(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("devchain: read wallet key: %w", err)
	}
	if key, err = crypto.GenerateKey(); err != nil {
		return nil, fmt.Errorf("devchain: generate wallet key: %w", err)
	}
	if err := writeKeyFile(path, key); err != nil {
		return nil, fmt.Errorf("devchain: store wallet key: %w", err)
	}
	return key, nil
}

// writeKeyFile writes key to path with mode 0600, atomically: a crash leaves either no
// file or the whole key, never half of one (the chain's genesis depends on it).
func writeKeyFile(path string, key *ecdsa.PrivateKey) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, walletFile+".*.tmp") // created with mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	_, err = f.WriteString(hex.EncodeToString(crypto.FromECDSA(key)))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// SendETH signs an EIP-1559 transaction sending wei from the key's address to to, with
// the chain's signer, the next nonce, and fees the chain accepts, and submits it. It
// returns the transaction's hash without waiting for a block (see WaitReceipt); with
// BlockTime 0 the block follows at once.
func (c *Chain) SendETH(ctx context.Context, from *ecdsa.PrivateKey, to common.Address, wei *big.Int) (common.Hash, error) {
	tx, err := c.Transact(ctx, from, &to, wei, nil)
	if err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// Transact signs any EIP-1559 transaction from the key's address with the chain's
// signer, the next nonce, the gas it needs and fees the chain accepts, and submits it;
// to nil deploys data as a contract's init code. Like SendETH, it does not wait for a
// block. Tests use it to deploy and call contracts, such as a smart-contract wallet.
func (c *Chain) Transact(ctx context.Context, from *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte) (*types.Transaction, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()

	sender := crypto.PubkeyToAddress(from.PublicKey)
	nonce, err := c.client.PendingNonceAt(ctx, sender)
	if err != nil {
		return nil, fmt.Errorf("devchain: nonce of %s: %w", sender, err)
	}
	head, err := c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("devchain: head: %w", err)
	}
	tip, err := c.client.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, fmt.Errorf("devchain: gas tip: %w", err)
	}
	gas, err := c.client.EstimateGas(ctx, ethereum.CallMsg{From: sender, To: to, Value: value, Data: data})
	if err != nil {
		return nil, fmt.Errorf("devchain: estimate gas: %w", err)
	}
	tx, err := types.SignNewTx(from, c.signer, &types.DynamicFeeTx{
		ChainID:   new(big.Int).SetUint64(c.chainID),
		Nonce:     nonce,
		GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))),
		Gas:       gas,
		To:        to,
		Value:     value,
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("devchain: sign: %w", err)
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("devchain: send: %w", err)
	}
	// The pool makes a transaction executable in the background; until it has, it
	// would hand the same nonce to the next one.
	if err := c.syncPool(); err != nil {
		return nil, err
	}
	return tx, nil
}

// receiptPoll is how often WaitReceipt looks for the receipt.
const receiptPoll = 10 * time.Millisecond

// WaitReceipt waits until the transaction is in a canonical block and returns its
// receipt, or ctx's error.
func (c *Chain) WaitReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error) {
	ticker := time.NewTicker(receiptPoll)
	defer ticker.Stop()
	for {
		receipt, err := c.client.TransactionReceipt(ctx, txHash)
		if err == nil {
			return receipt, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, fmt.Errorf("devchain: receipt of %s: %w", txHash, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devchain: receipt of %s: %w", txHash, ctx.Err())
		case <-ticker.C:
		}
	}
}
