package gethdev

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// ChainID is geth --dev's chain id.
const ChainID = 1337

// Ether is 10^18 wei.
var Ether = big.NewInt(1e18)

// Node is a running geth --dev.
type Node struct {
	HTTP string         // the JSON-RPC URL over HTTP
	WS   string         // the JSON-RPC URL over websocket; "" when started WithoutWS
	Dev  common.Address // geth's unlocked, prefunded developer account

	Key  *ecdsa.PrivateKey // a fresh key funded by Dev, for signing raw transactions
	Addr common.Address    // Key's address

	rpc    *rpc.Client
	signer types.Signer

	mu    sync.Mutex
	nonce uint64 // Key's next nonce: only this helper sends from it
}

type config struct {
	period  int
	ws      bool
	httpAPI string
	funding *big.Int
}

// Option changes how Start runs geth.
type Option func(*config)

// Period makes geth seal a block every seconds seconds (--dev.period). The default, 0,
// seals one block whenever a transaction arrives.
func Period(seconds int) Option { return func(c *config) { c.period = seconds } }

// WithoutWS leaves the websocket server off, as on a node that offers only HTTP.
func WithoutWS() Option { return func(c *config) { c.ws = false } }

// HTTPAPI sets the APIs served over HTTP and websocket (default
// "eth,net,web3,debug"); leaving out debug makes a node that cannot trace.
func HTTPAPI(apis string) Option { return func(c *config) { c.httpAPI = apis } }

// Start runs geth --dev for the test, funds Key from the developer account, and
// kills geth and waits for it to exit when the test ends. It fails the test if geth
// cannot be built or started.
func Start(tb testing.TB, opts ...Option) *Node {
	tb.Helper()
	cfg := config{ws: true, httpAPI: "eth,net,web3,debug", funding: new(big.Int).Mul(big.NewInt(1000), Ether)}
	for _, o := range opts {
		o(&cfg)
	}
	bin := Binary(tb)
	var n *Node
	var err error
	// Free ports are found by listening and closing, so another process can take one
	// before geth does; then geth exits at once and a new set of ports is tried.
	for attempt := 1; attempt <= 3; attempt++ {
		if n, err = start(tb, bin, cfg); err == nil {
			break
		}
		tb.Logf("gethdev: start attempt %d: %v", attempt, err)
	}
	if err != nil {
		tb.Fatalf("gethdev: cannot start geth: %v", err)
	}
	n.fund(tb, cfg.funding)
	return n
}

func start(tb testing.TB, bin string, cfg config) (*Node, error) {
	dir := tb.TempDir()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--dev", "--dev.period", strconv.Itoa(cfg.period),
		"--datadir", dir,
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(ports[0]), "--http.api", cfg.httpAPI,
		"--authrpc.port", "0", "--port", "0", "--nodiscover", "--maxpeers", "0", "--ipcdisable",
		"--verbosity", "3",
	}
	if cfg.ws {
		args = append(args, "--ws", "--ws.addr", "127.0.0.1", "--ws.port", strconv.Itoa(ports[1]), "--ws.api", cfg.httpAPI)
	}
	logPath := filepath.Join(dir, "geth.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	// The data directory is thrown away, so there is nothing to shut down cleanly
	// for; killing saves the seconds geth spends flushing its indexes.
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			tb.Logf("gethdev: geth log:\n%s", tail(logPath, 4000))
		}
	})

	n := &Node{HTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), signer: types.LatestSignerForChainID(big.NewInt(ChainID))}
	if cfg.ws {
		n.WS = fmt.Sprintf("ws://127.0.0.1:%d", ports[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("geth exited early:\n%s", tail(logPath, 2000))
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("geth did not answer within a minute:\n%s", tail(logPath, 2000))
		case <-time.After(20 * time.Millisecond):
		}
		c, err := rpc.DialContext(ctx, n.HTTP)
		if err != nil {
			continue
		}
		var accounts []common.Address
		if err := c.CallContext(ctx, &accounts, "eth_accounts"); err != nil || len(accounts) == 0 {
			c.Close()
			continue
		}
		n.rpc, n.Dev = c, accounts[0]
		tb.Cleanup(c.Close)
		return n, nil
	}
}

func freePorts(count int) ([]int, error) {
	var ports []int
	for range count {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// fund gives a fresh key wei from the developer account.
func (n *Node) fund(tb testing.TB, wei *big.Int) {
	tb.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	n.Key, n.Addr = key, crypto.PubkeyToAddress(key.PublicKey)
	n.WaitReceipt(tb, n.SendFromDev(tb, &n.Addr, wei, nil))
}

// RPC is a go-ethereum RPC client of the node, for what the helpers do not cover.
func (n *Node) RPC() *rpc.Client { return n.rpc }

func (n *Node) call(tb testing.TB, result any, method string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.rpc.CallContext(ctx, result, method, args...); err != nil {
		tb.Fatalf("gethdev: %s: %v", method, err)
	}
}

// SendFromDev sends a transaction from the developer account with eth_sendTransaction
// (geth fills in gas and fees) and returns its hash. A nil to creates a contract.
func (n *Node) SendFromDev(tb testing.TB, to *common.Address, wei *big.Int, data []byte) common.Hash {
	tb.Helper()
	args := map[string]any{"from": n.Dev}
	if to != nil {
		args["to"] = to
	}
	if wei != nil {
		args["value"] = (*hexutil.Big)(wei)
	}
	if data != nil {
		args["input"] = hexutil.Bytes(data)
	}
	var h common.Hash
	n.call(tb, &h, "eth_sendTransaction", args)
	return h
}

// Sign signs a transaction of any type with Key for geth --dev's chain. Nonce, gas
// and fees are the caller's: see NextNonce.
func (n *Node) Sign(tb testing.TB, tx types.TxData) *types.Transaction {
	tb.Helper()
	signed, err := types.SignNewTx(n.Key, n.signer, tx)
	if err != nil {
		tb.Fatalf("gethdev: signing: %v", err)
	}
	return signed
}

// NextNonce returns Key's next nonce and counts it as used.
func (n *Node) NextNonce() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nonce++
	return n.nonce - 1
}

// SendRaw sends a signed transaction with eth_sendRawTransaction and returns its hash.
func (n *Node) SendRaw(tb testing.TB, tx *types.Transaction) common.Hash {
	tb.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	// The pool learns of a new head, and so of the funding transaction in it, a
	// moment after the receipt is there: until then it answers "insufficient
	// funds", and the transaction is sent again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var h common.Hash
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := n.rpc.CallContext(ctx, &h, "eth_sendRawTransaction", hexutil.Bytes(raw))
		cancel()
		if err == nil {
			return h
		}
		if !strings.Contains(err.Error(), "insufficient funds") || time.Now().After(deadline) {
			tb.Fatalf("gethdev: eth_sendRawTransaction: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Send signs a dynamic-fee transaction from Key with an estimated gas limit, sends
// it and returns its hash. A nil to creates a contract.
func (n *Node) Send(tb testing.TB, to *common.Address, wei *big.Int, data []byte) common.Hash {
	tb.Helper()
	if wei == nil {
		wei = new(big.Int)
	}
	var gas hexutil.Uint64
	n.call(tb, &gas, "eth_estimateGas", map[string]any{"from": n.Addr, "to": to, "value": (*hexutil.Big)(wei), "input": hexutil.Bytes(data)})
	return n.SendRaw(tb, n.Sign(tb, &types.DynamicFeeTx{
		ChainID:   big.NewInt(ChainID),
		Nonce:     n.NextNonce(),
		GasTipCap: big.NewInt(1e9),
		GasFeeCap: big.NewInt(100e9),
		Gas:       uint64(gas) + uint64(gas)/5, // a margin for what estimation rounds off
		To:        to,
		Value:     wei,
		Data:      data,
	}))
}

// Receipt is the part of a receipt the helpers check.
type Receipt struct {
	Status          hexutil.Uint64  `json:"status"`
	BlockNumber     hexutil.Uint64  `json:"blockNumber"`
	BlockHash       common.Hash     `json:"blockHash"`
	ContractAddress *common.Address `json:"contractAddress"`
}

// WaitReceipt waits until the transaction is in a block and returns its receipt.
// Errors count as "not yet": geth answers "transaction indexing is in progress"
// for a while after it starts.
func (n *Node) WaitReceipt(tb testing.TB, tx common.Hash) Receipt {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r *Receipt
		err := n.rpc.CallContext(context.Background(), &r, "eth_getTransactionReceipt", tx)
		if err == nil && r != nil {
			return *r
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gethdev: transaction %s not mined within 30 s (last error: %v)", tx.Hex(), err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BlockNumber returns the node's head block number.
func (n *Node) BlockNumber(tb testing.TB) uint64 {
	tb.Helper()
	var h hexutil.Uint64
	n.call(tb, &h, "eth_blockNumber")
	return uint64(h)
}

// Mine makes at least count more blocks, each holding one transfer of 1 wei from
// Key: to Key itself, or to the addresses of to in turn. With the default period of 0,
// geth seals a block when a transaction arrives (and now and then an extra empty
// one), so Mine sends a transaction, waits for a new block, and repeats; it learns of
// new blocks from a newHeads subscription when the node has websockets, which is
// faster than polling. Expect some 5-50 ms per block. It returns the hashes of the
// transactions it sent, in order: one per block as a rule, but geth
// now and then seals an empty block or two transactions in one.
func (n *Node) Mine(tb testing.TB, count int, to ...common.Address) []common.Hash {
	tb.Helper()
	if len(to) == 0 {
		to = []common.Address{n.Addr}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	newHead := n.headWaiter(tb, ctx)
	head := n.BlockNumber(tb)
	target := head + uint64(count)
	var sent []common.Hash
	for i := 0; head < target; i++ {
		dst := to[i%len(to)]
		sent = append(sent, n.SendRaw(tb, n.Sign(tb, &types.DynamicFeeTx{
			ChainID: big.NewInt(ChainID), Nonce: n.NextNonce(),
			GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: 21000,
			To: &dst, Value: big.NewInt(1),
		})))
		head = newHead(head)
	}
	// The last one may still be pending when an empty block made the count.
	n.WaitReceipt(tb, sent[len(sent)-1])
	return sent
}

// headWaiter returns a function that waits until the head is above a number and
// returns the new head.
func (n *Node) headWaiter(tb testing.TB, ctx context.Context) func(uint64) uint64 {
	tb.Helper()
	if n.WS != "" {
		ws, err := rpc.DialContext(ctx, n.WS)
		if err != nil {
			tb.Fatalf("gethdev: %v", err)
		}
		tb.Cleanup(ws.Close)
		heads := make(chan struct {
			Number hexutil.Uint64 `json:"number"`
		}, 1024)
		sub, err := ws.EthSubscribe(ctx, heads, "newHeads")
		if err != nil {
			tb.Fatalf("gethdev: newHeads: %v", err)
		}
		tb.Cleanup(sub.Unsubscribe)
		return func(above uint64) uint64 {
			for {
				select {
				case h := <-heads:
					if uint64(h.Number) > above {
						return uint64(h.Number)
					}
				case err := <-sub.Err():
					tb.Fatalf("gethdev: newHeads: %v", err)
				case <-ctx.Done():
					tb.Fatalf("gethdev: no new block: %v", ctx.Err())
				}
			}
		}
	}
	return func(above uint64) uint64 {
		for {
			if h := n.BlockNumber(tb); h > above {
				return h
			}
			if ctx.Err() != nil {
				tb.Fatalf("gethdev: no new block: %v", ctx.Err())
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
}
