package devchain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// Context returns a context that ends with the test or after 10 s, so that a chain that
// stopped sealing fails the test instead of hanging it.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// MustStart starts a dev chain that the test closes when it ends.
func MustStart(tb testing.TB, opts devchain.Options) *devchain.Chain {
	tb.Helper()
	chain, err := devchain.Start(Context(tb), opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := chain.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return chain
}

// MustServe serves the chain's Handler at /dev/rpc, as the server mounts it, and returns
// a raw JSON-RPC client of that endpoint.
func MustServe(tb testing.TB, chain *devchain.Chain) *RPC {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle("/dev/rpc", chain.Handler())
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return &RPC{tb: tb, URL: srv.URL + "/dev/rpc"}
}

// RPC is a raw JSON-RPC client over HTTP, as a browser wallet talks to the chain: no
// go-ethereum client in between.
type RPC struct {
	tb  testing.TB
	URL string
}

type rpcResponse struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

func request(id int, method string, params ...any) rpcRequest {
	if params == nil {
		params = []any{}
	}
	return rpcRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params}
}

// Post sends body as JSON and returns the response, failing the test if it is not 200.
func (r *RPC) Post(body any) []byte {
	r.tb.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		r.tb.Fatal(err)
	}
	resp, err := http.Post(r.URL, "application/json", bytes.NewReader(data))
	if err != nil {
		r.tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		r.tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		r.tb.Fatalf("POST %s: status %d: %s", r.URL, resp.StatusCode, out)
	}
	return out
}

// Try calls method and returns its result or its JSON-RPC error.
func (r *RPC) Try(method string, params ...any) (json.RawMessage, error) {
	r.tb.Helper()
	var resp rpcResponse
	if err := json.Unmarshal(r.Post(request(1, method, params...)), &resp); err != nil {
		r.tb.Fatalf("%s: %v", method, err)
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Result, nil
}

// Call calls method and decodes its result into out (when not nil), failing the test
// on any error.
func (r *RPC) Call(out any, method string, params ...any) {
	r.tb.Helper()
	result, err := r.Try(method, params...)
	if err != nil {
		r.tb.Fatalf("%s: %v", method, err)
	}
	if out != nil {
		if err := json.Unmarshal(result, out); err != nil {
			r.tb.Fatalf("%s: decode %s: %v", method, result, err)
		}
	}
}

// Uint calls a method that answers a hex quantity.
func (r *RPC) Uint(method string, params ...any) uint64 {
	r.tb.Helper()
	var n hexutil.Uint64
	r.Call(&n, method, params...)
	return uint64(n)
}

// Big calls a method that answers a hex quantity that may not fit 64 bits.
func (r *RPC) Big(method string, params ...any) *big.Int {
	r.tb.Helper()
	var n hexutil.Big
	r.Call(&n, method, params...)
	return n.ToInt()
}

// Receipt is the part of a receipt the tests read.
type Receipt struct {
	Status      hexutil.Uint64 `json:"status"`
	BlockNumber hexutil.Uint64 `json:"blockNumber"`
	BlockHash   common.Hash    `json:"blockHash"`
	From        common.Address `json:"from"`
	To          common.Address `json:"to"`
}

// WaitReceipt polls eth_getTransactionReceipt, as a wallet does, until the
// transaction is in a block.
func (r *RPC) WaitReceipt(txHash common.Hash) Receipt {
	r.tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var receipt *Receipt
		r.Call(&receipt, "eth_getTransactionReceipt", txHash)
		if receipt != nil {
			return *receipt
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("no receipt for %s after 5s", txHash)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Block is the part of a block the tests read.
type Block struct {
	Number       hexutil.Uint64    `json:"number"`
	Hash         common.Hash       `json:"hash"`
	ParentHash   common.Hash       `json:"parentHash"`
	Timestamp    hexutil.Uint64    `json:"timestamp"`
	BaseFee      *hexutil.Big      `json:"baseFeePerGas"`
	Transactions []json.RawMessage `json:"transactions"`
}

// Block returns the block with that number or tag ("latest").
func (r *RPC) Block(number string, full bool) Block {
	r.tb.Helper()
	var b *Block
	r.Call(&b, "eth_getBlockByNumber", number, full)
	if b == nil {
		r.tb.Fatalf("no block %s", number)
	}
	return *b
}

// SignTransfer signs an EIP-1559 transfer the way a browser wallet builds one: every
// number comes from the chain's JSON-RPC.
func (r *RPC) SignTransfer(key string, chainID uint64, to common.Address, wei *big.Int) *types.Transaction {
	r.tb.Helper()
	priv, err := crypto.HexToECDSA(strings.TrimPrefix(key, "0x"))
	if err != nil {
		r.tb.Fatal(err)
	}
	from := crypto.PubkeyToAddress(priv.PublicKey)
	tip := r.Big("eth_maxPriorityFeePerGas")
	baseFee := r.Block("latest", false).BaseFee.ToInt()
	gas := r.Uint("eth_estimateGas", map[string]any{"from": from, "to": to, "value": (*hexutil.Big)(wei)})
	tx, err := types.SignNewTx(priv, types.LatestSignerForChainID(new(big.Int).SetUint64(chainID)), &types.DynamicFeeTx{
		ChainID:   new(big.Int).SetUint64(chainID),
		Nonce:     r.Uint("eth_getTransactionCount", from, "pending"),
		GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(baseFee, big.NewInt(2))),
		Gas:       gas,
		To:        &to,
		Value:     wei,
	})
	if err != nil {
		r.tb.Fatal(err)
	}
	return tx
}

// SendRaw submits a signed transaction with eth_sendRawTransaction.
func (r *RPC) SendRaw(tx *types.Transaction) (common.Hash, error) {
	r.tb.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		r.tb.Fatal(err)
	}
	result, err := r.Try("eth_sendRawTransaction", hexutil.Bytes(raw))
	if err != nil {
		return common.Hash{}, err
	}
	var hash common.Hash
	if err := json.Unmarshal(result, &hash); err != nil {
		r.tb.Fatal(err)
	}
	return hash, nil
}

// syncBuffer is a bytes.Buffer that the chain's goroutines and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// slogTo returns a logger writing text to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// ether returns n ETH in wei.
func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// newAddress returns a fresh address with no history.
func newAddress(tb testing.TB) common.Address {
	key, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return crypto.PubkeyToAddress(key.PublicKey)
}

// The "must show": the dev wallet pays another address through /dev/rpc with a
// transaction signed outside the chain, and the receipt and the balance show it.
func TestDevWalletSendsETHThroughRPC(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	wallet := chain.Wallet()
	to := newAddress(t)
	amount := new(big.Int).Mul(big.NewInt(15), big.NewInt(params.Ether/10)) // 1.5 ETH

	tx := rpc.SignTransfer(wallet.PrivateKey, 8453, to, amount)
	hash, err := rpc.SendRaw(tx)
	if err != nil {
		t.Fatalf("eth_sendRawTransaction: %v", err)
	}
	if hash != tx.Hash() {
		t.Fatalf("eth_sendRawTransaction answered %s, want %s", hash, tx.Hash())
	}
	receipt := rpc.WaitReceipt(hash)
	if receipt.Status != 1 {
		t.Fatalf("receipt status %d, want 1", receipt.Status)
	}
	if receipt.From != common.HexToAddress(wallet.Address) || receipt.To != to {
		t.Errorf("receipt from %s to %s, want from %s to %s", receipt.From, receipt.To, wallet.Address, to)
	}
	if got := rpc.Big("eth_getBalance", to, "latest"); got.Cmp(amount) != 0 {
		t.Errorf("recipient balance %s, want %s", got, amount)
	}
	var byHash struct {
		BlockNumber hexutil.Uint64 `json:"blockNumber"`
		Value       hexutil.Big    `json:"value"`
	}
	rpc.Call(&byHash, "eth_getTransactionByHash", hash)
	if byHash.BlockNumber != receipt.BlockNumber || byHash.Value.ToInt().Cmp(amount) != 0 {
		t.Errorf("eth_getTransactionByHash: block %d value %s, want block %d value %s",
			byHash.BlockNumber, byHash.Value.ToInt(), receipt.BlockNumber, amount)
	}
	block := rpc.Block(hexutil.EncodeUint64(uint64(receipt.BlockNumber)), false)
	if len(block.Transactions) != 1 || !strings.Contains(string(block.Transactions[0]), hash.Hex()) {
		t.Errorf("block %d holds %s, want [%s]", receipt.BlockNumber, block.Transactions, hash)
	}
}

func TestChainIDIsReportedAndSignedWith(t *testing.T) {
	for _, tc := range []struct {
		name    string
		chainID uint64 // option
		want    uint64
	}{
		{"DefaultIsBase", 0, 8453},
		{"BaseSepolia", 84532, 84532},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := MustStart(t, devchain.Options{ChainID: tc.chainID})
			rpc := MustServe(t, chain)
			if got := rpc.Uint("eth_chainId"); got != tc.want {
				t.Errorf("eth_chainId = %d, want %d", got, tc.want)
			}
			var version string
			rpc.Call(&version, "net_version")
			if version != fmt.Sprint(tc.want) {
				t.Errorf("net_version = %q, want %q", version, fmt.Sprint(tc.want))
			}
			if got := chain.ChainID(); got != tc.want {
				t.Errorf("ChainID() = %d, want %d", got, tc.want)
			}

			to := newAddress(t)
			if _, err := rpc.SendRaw(rpc.SignTransfer(chain.Wallet().PrivateKey, 1, to, ether(1))); err == nil {
				t.Errorf("a transaction signed for chain 1 was accepted")
			}
			hash, err := rpc.SendRaw(rpc.SignTransfer(chain.Wallet().PrivateKey, tc.want, to, ether(1)))
			if err != nil {
				t.Fatalf("a transaction signed for chain %d: %v", tc.want, err)
			}
			if receipt := rpc.WaitReceipt(hash); receipt.Status != 1 {
				t.Errorf("receipt status %d, want 1", receipt.Status)
			}
		})
	}
}

func TestWalletIsFundedAndNeverPrinted(t *testing.T) {
	var logs syncBuffer
	chain := MustStart(t, devchain.Options{Logger: slogTo(&logs)})
	rpc := MustServe(t, chain)
	wallet := chain.Wallet()

	if !common.IsHexAddress(wallet.Address) || common.HexToAddress(wallet.Address).Hex() != wallet.Address {
		t.Errorf("address %q is not a checksummed address", wallet.Address)
	}
	key, err := crypto.HexToECDSA(strings.TrimPrefix(wallet.PrivateKey, "0x"))
	if err != nil || !strings.HasPrefix(wallet.PrivateKey, "0x") {
		t.Fatalf("private key is not 0x-prefixed hex: %v", err)
	}
	if got := crypto.PubkeyToAddress(key.PublicKey).Hex(); got != wallet.Address {
		t.Errorf("key is for %s, want %s", got, wallet.Address)
	}
	if got := rpc.Big("eth_getBalance", wallet.Address, "latest"); got.Cmp(ether(10_000)) != 0 {
		t.Errorf("wallet balance %s, want 10000 ETH", got)
	}

	secret := strings.TrimPrefix(wallet.PrivateKey, "0x")
	slogTo(&logs).Info("printing", "wallet", wallet)
	for _, printed := range []string{
		logs.String(),
		fmt.Sprint(wallet), fmt.Sprintf("%v", wallet), fmt.Sprintf("%+v", wallet), fmt.Sprintf("%s", wallet), fmt.Sprintf("%#v", wallet),
	} {
		if strings.Contains(strings.ToLower(printed), secret) {
			t.Errorf("the private key was printed: %q", printed)
		}
	}
	if !strings.Contains(logs.String(), wallet.Address) {
		t.Errorf("the logs do not name the wallet's address: %s", logs.String())
	}
}
