package chain

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// fakeChain is an in-memory node behind the RPC interface, for the watcher's rules
// without a real node. Its answers go through JSON, so the decoders run too.
type fakeChain struct {
	mu       sync.Mutex
	blocks   []*Block // blocks[n] is block n; block 0 is genesis
	receipts map[common.Hash]*Receipt
	traces   map[common.Hash]*CallFrame
	calls    map[string]int
	seq      uint64 // makes every block's hash unique

	noDebug        bool   // debug_traceTransaction is "method not found"
	noIndex        bool   // eth_getTransactionReceipt answers as geth does while indexing
	lagFrom        uint64 // when non-zero, blocks from here on are "not there yet" (null)
	wrongReceiptOf common.Hash
}

func newFakeChain() *fakeChain {
	c := &fakeChain{receipts: map[common.Hash]*Receipt{}, traces: map[common.Hash]*CallFrame{}, calls: map[string]int{}}
	c.blocks = []*Block{c.newBlock(0, common.Hash{})}
	return c
}

func (c *fakeChain) newBlock(n uint64, parent common.Hash) *Block {
	c.seq++
	var salt [16]byte
	binary.BigEndian.PutUint64(salt[:8], n)
	binary.BigEndian.PutUint64(salt[8:], c.seq)
	return &Block{
		BlockHeader: BlockHeader{
			Number: hexutil.Uint64(n), Hash: crypto.Keccak256Hash(salt[:]), ParentHash: parent,
			Timestamp: hexutil.Uint64(1_700_000_000 + 2*n),
		},
		Transactions: []Transaction{},
	}
}

// fakeTx describes a transaction for add.
type fakeTx struct {
	from, to common.Address
	value    int64
	failed   bool       // receipt status 0
	trace    *CallFrame // what callTracer shows, for wanted transactions
}

// add appends a block holding txs and returns their hashes.
func (c *fakeChain) add(txs ...fakeTx) []common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	tip := c.blocks[len(c.blocks)-1]
	b := c.newBlock(uint64(tip.Number)+1, tip.Hash)
	var hashes []common.Hash
	for i, ft := range txs {
		c.seq++
		h := crypto.Keccak256Hash(b.Hash.Bytes(), big.NewInt(int64(c.seq)).Bytes())
		to := ft.to
		idx, num := hexutil.Uint64(i), b.Number
		b.Transactions = append(b.Transactions, Transaction{
			Type: 2, Hash: h, From: ft.from, To: &to, Value: (*hexutil.Big)(big.NewInt(ft.value)),
			Input: hexutil.Bytes{}, BlockHash: &b.Hash, BlockNumber: &num, TransactionIndex: &idx,
		})
		status := hexutil.Uint64(1)
		if ft.failed {
			status = 0
		}
		c.receipts[h] = &Receipt{Type: 2, Status: status, TransactionHash: h, TransactionIndex: idx, BlockHash: b.Hash, BlockNumber: b.Number, From: ft.from, To: &to}
		if ft.trace != nil {
			c.traces[h] = ft.trace
		}
		hashes = append(hashes, h)
	}
	c.blocks = append(c.blocks, b)
	return hashes
}

// addEmpty appends n empty blocks.
func (c *fakeChain) addEmpty(n int) {
	for range n {
		c.add()
	}
}

// reorg replaces blocks from n on with count new empty ones.
func (c *fakeChain) reorg(n uint64, count int) {
	c.mu.Lock()
	c.blocks = c.blocks[:n]
	c.mu.Unlock()
	c.addEmpty(count)
}

func (c *fakeChain) hash(n uint64) common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocks[n].Hash
}

func (c *fakeChain) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// answer is the node: the value to send back for one call, or an error.
func (c *fakeChain) answer(method string, args []any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
	head := uint64(len(c.blocks) - 1)
	switch method {
	case "eth_blockNumber":
		return hexutil.Uint64(head), nil
	case "eth_getBlockByNumber":
		n, err := hexutil.DecodeUint64(args[0].(string))
		if err != nil {
			return nil, err
		}
		if n > head || (c.lagFrom != 0 && n >= c.lagFrom) {
			return nil, nil
		}
		b := *c.blocks[n]
		if !args[1].(bool) {
			for _, tx := range b.Transactions {
				b.TxHashes = append(b.TxHashes, tx.Hash)
			}
			if b.TxHashes == nil {
				b.TxHashes = []common.Hash{}
			}
		}
		return b, nil
	case "eth_getTransactionReceipt":
		if c.noIndex {
			return nil, &RPCError{Code: -32000, Message: "transaction indexing is in progress"}
		}
		h := args[0].(common.Hash)
		r, ok := c.receipts[h]
		if !ok || !c.canonical(r.BlockHash) {
			return nil, nil
		}
		if h == c.wrongReceiptOf {
			rr := *r
			rr.BlockHash = common.Hash{1}
			return rr, nil
		}
		return r, nil
	case "eth_getBlockReceipts":
		bh := args[0].(common.Hash)
		var rs []*Receipt
		for _, b := range c.blocks {
			if b.Hash == bh {
				for _, tx := range b.Transactions {
					rs = append(rs, c.receipts[tx.Hash])
				}
				if rs == nil {
					rs = []*Receipt{}
				}
				return rs, nil
			}
		}
		return nil, nil
	case "debug_traceTransaction":
		if c.noDebug {
			return nil, &RPCError{Code: CodeMethodNotFound, Message: "the method debug_traceTransaction does not exist/is not available"}
		}
		if f, ok := c.traces[args[0].(common.Hash)]; ok {
			return f, nil
		}
		return nil, &RPCError{Code: -32000, Message: "transaction not found"}
	}
	return nil, &RPCError{Code: CodeMethodNotFound, Message: "the method " + method + " does not exist/is not available"}
}

func (c *fakeChain) canonical(h common.Hash) bool {
	for _, b := range c.blocks {
		if b.Hash == h {
			return true
		}
	}
	return false
}

// roundTrip sends v through JSON into result, as a node's answer would travel.
func roundTrip(v, result any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("fake: encoding: %w", err)
	}
	return json.Unmarshal(data, result)
}

func (c *fakeChain) Call(_ context.Context, result any, method string, args ...any) error {
	v, err := c.answer(method, args)
	if err != nil {
		return err
	}
	return roundTrip(v, result)
}

func (c *fakeChain) BatchCall(_ context.Context, batch []BatchElem) error {
	c.mu.Lock()
	c.calls["batch"]++
	c.mu.Unlock()
	for i := range batch {
		v, err := c.answer(batch[i].Method, batch[i].Args)
		if err == nil {
			err = roundTrip(v, batch[i].Result)
		}
		batch[i].Error = err
	}
	return nil
}

func (c *fakeChain) SubscribeNewHeads(context.Context) (<-chan uint64, error) {
	return nil, ErrNoSubscriptions
}
