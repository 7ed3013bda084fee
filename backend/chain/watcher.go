package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// DefaultBatchSize is how many blocks one Step fetches at most: one batch request of
// full blocks. 100 keeps a step's answer small enough for public Base endpoints'
// limits while catching up fast.
const DefaultBatchSize = 100

// DefaultKeep is how many recent block hashes a Cursor keeps, and so the deepest reorg
// a Step can roll back. Base's unsafe head reorgs by a few blocks at most.
const DefaultKeep = 64

// Cursor is where the watcher stands: the last block it processed and the hashes of
// the latest blocks up to it, oldest first. It is a plain value so the caller can
// journal it with the step that produced it.
type Cursor struct {
	Number uint64        `json:"number"` // the last processed block
	Recent []common.Hash `json:"recent"` // hashes of blocks Number-len(Recent)+1 … Number
}

// StartAt is a cursor for a watcher that has processed nothing yet and starts with
// block n. Its first step trusts the node's block n without a parent check. Genesis
// holds no payments, so StartAt(0) starts at block 1.
func StartAt(n uint64) Cursor { return Cursor{Number: max(n, 1) - 1} }

// Hash returns the remembered hash of block n.
func (c Cursor) Hash(n uint64) (common.Hash, bool) {
	if len(c.Recent) == 0 || uint64(len(c.Recent)) > c.Number+1 {
		return common.Hash{}, false
	}
	oldest := c.Number + 1 - uint64(len(c.Recent))
	if n > c.Number || n < oldest {
		return common.Hash{}, false
	}
	return c.Recent[n-oldest], true
}

// Apply returns the cursor after the caller has recorded r, a result of Step on c:
// the new blocks appended (keeping the last keep hashes; keep ≤ 0 means DefaultKeep),
// or everything above the reorg's ancestor dropped. It panics if r does not follow c,
// which only a bug can cause.
func (c Cursor) Apply(r StepResult, keep int) Cursor {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if r.Reorg != nil {
		if r.Reorg.Ancestor > c.Number {
			panic("chain: Cursor.Apply: reorg ancestor above the cursor")
		}
		drop := int(min(c.Number-r.Reorg.Ancestor, uint64(len(c.Recent))))
		return Cursor{Number: r.Reorg.Ancestor, Recent: slices.Clone(c.Recent[:len(c.Recent)-drop])}
	}
	if len(r.Blocks) == 0 {
		return c
	}
	if r.Blocks[0].Number != c.Number+1 {
		panic("chain: Cursor.Apply: the step's blocks do not follow the cursor")
	}
	recent := slices.Clone(c.Recent)
	for _, b := range r.Blocks {
		recent = append(recent, b.Hash)
	}
	if len(recent) > keep {
		recent = slices.Clone(recent[len(recent)-keep:])
	}
	return Cursor{Number: r.Blocks[len(r.Blocks)-1].Number, Recent: recent}
}

// Watcher finds payments to one address, one step at a time. It keeps no state
// between steps: the caller passes the cursor in and journals what comes out, so a
// restart resumes exactly where the journal ends.
type Watcher struct {
	RPC     RPC
	Address common.Address // the payment address
	// Wanted reports whether a transaction hash was submitted by a buyer. Only those
	// are traced for internal transfers (smart-contract wallets), because tracing
	// costs the node far more than reading a block. May be nil.
	Wanted    func(common.Hash) bool
	BatchSize int // blocks per step; 0 means DefaultBatchSize
}

// StepResult is what one step found: new canonical blocks, or a reorg, or nothing.
type StepResult struct {
	Head   uint64         `json:"head"`            // the node's head block when the step ran
	Blocks []ScannedBlock `json:"blocks"`          // the blocks after the cursor, in order; each has its payments
	Reorg  *Reorg         `json:"reorg,omitempty"` // non-nil: roll back to Reorg.Ancestor; Blocks is empty then
}

// ScannedBlock is one new canonical block and the payments found in it.
type ScannedBlock struct {
	Number     uint64      `json:"number"`
	Hash       common.Hash `json:"hash"`
	ParentHash common.Hash `json:"parent_hash"`
	Time       uint64      `json:"time"` // unix seconds
	Payments   []Payment   `json:"payments,omitempty"`
	// Untraced lists wanted transactions whose internal transfers could not be
	// looked for, because the node refused to trace them (no debug API, pruned
	// state). They may hold a payment that TraceValueTo can find later on another node.
	Untraced []UntracedTx `json:"untraced,omitempty"`
}

// Payment is a successful transfer of ETH to the payment address.
type Payment struct {
	TxHash common.Hash `json:"tx_hash"`
	// From is the transaction's sender, for internal transfers too: the account that
	// signed the outer transaction (a wallet's owner, or an ERC-4337 bundler), not
	// the contract the ETH came out of.
	From        common.Address `json:"from"`
	To          common.Address `json:"to"`    // the payment address
	Value       *big.Int       `json:"value"` // wei; for internal transfers, the sum of all that arrived
	BlockNumber uint64         `json:"block_number"`
	BlockHash   common.Hash    `json:"block_hash"`
	Internal    bool           `json:"internal,omitempty"` // arrived through calls inside the transaction, found by tracing
}

// UntracedTx is a wanted transaction that could not be traced, and why.
type UntracedTx struct {
	TxHash common.Hash `json:"tx_hash"`
	Reason string      `json:"reason"`
}

// Reorg says that the blocks after Ancestor, up to the cursor, are no longer
// canonical: payments in them go back to pending until a later step finds them again.
type Reorg struct {
	Ancestor     uint64      `json:"ancestor"` // the newest block the cursor and the node agree on
	AncestorHash common.Hash `json:"ancestor_hash"`
}

// ErrReorgTooDeep is returned when the node's chain agrees with none of the hashes
// the cursor keeps: a reorg deeper than DefaultKeep blocks, or a node on another chain.
var ErrReorgTooDeep = errors.New("chain: reorg deeper than the cursor's recent hashes")

// ErrInconsistent is returned when the node's answers within one step disagree (a
// receipt from another block than its transaction, a missing receipt): a lagging or
// reorging node. Retrying the step is safe.
var ErrInconsistent = errors.New("chain: the node's answers disagree; retry")

// Step looks at what follows cursor c on the node: up to BatchSize new blocks with
// the payments in them, or a reorg that rolls back to the common ancestor. It has no
// side effects; calling it again with the same cursor is always safe.
//
// A payment is a transaction with a value to Address whose receipt says success, or,
// for a wanted transaction sent elsewhere, the successful internal calls with value
// to Address that debug_traceTransaction's callTracer shows. Receipts are fetched
// only for those candidates, in one batch, and traces only for wanted ones.
func (w *Watcher) Step(ctx context.Context, c Cursor) (StepResult, error) {
	if uint64(len(c.Recent)) > c.Number+1 {
		return StepResult{}, fmt.Errorf("chain: cursor at block %d cannot hold %d hashes", c.Number, len(c.Recent))
	}
	var head hexutil.Uint64
	if err := w.RPC.Call(ctx, &head, "eth_blockNumber"); err != nil {
		return StepResult{}, fmt.Errorf("chain: head: %w", err)
	}
	res := StepResult{Head: uint64(head)}
	if res.Head <= c.Number {
		// Nothing new, or a node behind the cursor (a lagging URL after failover):
		// wait rather than mistake lag for a reorg.
		return res, nil
	}
	size := uint64(w.BatchSize)
	if size == 0 {
		size = DefaultBatchSize
	}
	blocks, err := w.blocks(ctx, c.Number+1, min(res.Head, c.Number+size))
	if err != nil {
		return StepResult{}, err
	}
	if len(blocks) == 0 {
		return res, nil
	}
	if tip, ok := c.Hash(c.Number); ok && blocks[0].ParentHash != tip {
		if res.Reorg, err = w.ancestor(ctx, c); err != nil {
			return StepResult{}, err
		}
		return res, nil
	}
	payments, untraced, err := w.payments(ctx, blocks)
	if err != nil {
		return StepResult{}, err
	}
	res.Blocks = make([]ScannedBlock, len(blocks))
	for i, b := range blocks {
		res.Blocks[i] = ScannedBlock{
			Number:     uint64(b.Number),
			Hash:       b.Hash,
			ParentHash: b.ParentHash,
			Time:       uint64(b.Timestamp),
			Payments:   payments[i],
			Untraced:   untraced[i],
		}
	}
	return res, nil
}

// blocks fetches blocks from..to with their transactions in one batch and returns
// the longest prefix that the node has and that links up by parent hash.
func (w *Watcher) blocks(ctx context.Context, from, to uint64) ([]*Block, error) {
	batch := make([]BatchElem, 0, to-from+1)
	got := make([]*Block, to-from+1)
	for n := from; n <= to; n++ {
		batch = append(batch, BatchElem{
			Method: "eth_getBlockByNumber",
			Args:   []any{hexNumber(n), true},
			Result: &got[n-from],
		})
	}
	if err := w.RPC.BatchCall(ctx, batch); err != nil {
		return nil, fmt.Errorf("chain: blocks %d-%d: %w", from, to, err)
	}
	for i, el := range batch {
		n := from + uint64(i)
		if el.Error != nil {
			return nil, fmt.Errorf("chain: block %d: %w", n, el.Error)
		}
		b := got[i]
		if b == nil || (i > 0 && b.ParentHash != got[i-1].Hash) {
			// Not there yet (a load-balanced node behind its own head), or the
			// chain changed between two answers of one batch: the next step
			// starts from here.
			return got[:i], nil
		}
		if uint64(b.Number) != n || b.TxHashes != nil {
			return nil, fmt.Errorf("%w: asked for full block %d, got block %d", ErrInconsistent, n, uint64(b.Number))
		}
	}
	return got, nil
}

// ancestor finds the newest block of c.Recent that is still canonical.
func (w *Watcher) ancestor(ctx context.Context, c Cursor) (*Reorg, error) {
	oldest := c.Number + 1 - uint64(len(c.Recent))
	headers := make([]*BlockHeader, len(c.Recent))
	batch := make([]BatchElem, len(c.Recent))
	for i := range batch {
		batch[i] = BatchElem{
			Method: "eth_getBlockByNumber",
			Args:   []any{hexNumber(oldest + uint64(i)), false},
			Result: &headers[i],
		}
	}
	if err := w.RPC.BatchCall(ctx, batch); err != nil {
		return nil, fmt.Errorf("chain: looking for the reorg's ancestor: %w", err)
	}
	for i := len(batch) - 1; i >= 0; i-- {
		if batch[i].Error != nil {
			return nil, fmt.Errorf("chain: looking for the reorg's ancestor: block %d: %w", oldest+uint64(i), batch[i].Error)
		}
		if h := headers[i]; h != nil && h.Hash == c.Recent[i] {
			return &Reorg{Ancestor: oldest + uint64(i), AncestorHash: h.Hash}, nil
		}
	}
	return nil, fmt.Errorf("%w: none of blocks %d-%d is canonical any more", ErrReorgTooDeep, oldest, c.Number)
}

type candidate struct {
	block  int
	tx     *Transaction
	traced bool // wanted and sent elsewhere: look for internal transfers
}

// payments finds the payments in blocks: receipts for candidates, then traces.
func (w *Watcher) payments(ctx context.Context, blocks []*Block) (payments [][]Payment, untraced [][]UntracedTx, err error) {
	var cands []candidate
	for i, b := range blocks {
		for j := range b.Transactions {
			tx := &b.Transactions[j]
			toUs := tx.To != nil && *tx.To == w.Address
			switch {
			case toUs && tx.ValueWei().Sign() > 0:
				cands = append(cands, candidate{block: i, tx: tx})
			case !toUs && w.Wanted != nil && w.Wanted(tx.Hash):
				cands = append(cands, candidate{block: i, tx: tx, traced: true})
			}
		}
	}
	payments = make([][]Payment, len(blocks))
	untraced = make([][]UntracedTx, len(blocks))
	if len(cands) == 0 {
		return payments, untraced, nil
	}

	receipts, err := w.receipts(ctx, blocks, cands)
	if err != nil {
		return nil, nil, err
	}
	// paid[i] is what candidate i brought; filled by receipts, then by traces.
	paid := make([]*big.Int, len(cands))
	var traces []int // indexes into cands of successful wanted transactions
	for i, cd := range cands {
		r, b := receipts[i], blocks[cd.block]
		switch {
		case r.BlockHash != b.Hash || r.TransactionHash != cd.tx.Hash:
			return nil, nil, fmt.Errorf("%w: receipt of %s is not from block %d", ErrInconsistent, cd.tx.Hash.Hex(), uint64(b.Number))
		case !r.Succeeded():
		case cd.traced:
			traces = append(traces, i)
		default:
			paid[i] = cd.tx.ValueWei()
		}
	}
	if len(traces) > 0 {
		frames := make([]CallFrame, len(traces))
		batch := make([]BatchElem, len(traces))
		for i, ci := range traces {
			batch[i] = BatchElem{Method: "debug_traceTransaction", Args: []any{cands[ci].tx.Hash, callTracerArgs}, Result: &frames[i]}
		}
		if err := w.RPC.BatchCall(ctx, batch); err != nil {
			return nil, nil, fmt.Errorf("chain: traces: %w", err)
		}
		for i, ci := range traces {
			cd := cands[ci]
			if err := batch[i].Error; err != nil {
				// The node will not trace (no debug API, pruned state, a tracer
				// timeout): no internal transfers found here, and the caller is told.
				untraced[cd.block] = append(untraced[cd.block], UntracedTx{TxHash: cd.tx.Hash, Reason: err.Error()})
				continue
			}
			if v := frames[i].ValueTo(w.Address); v.Sign() > 0 {
				paid[ci] = v
			}
		}
	}
	// In block and transaction order, whichever way each was found.
	for i, cd := range cands {
		if paid[i] == nil {
			continue
		}
		b := blocks[cd.block]
		payments[cd.block] = append(payments[cd.block], Payment{
			TxHash:      cd.tx.Hash,
			From:        cd.tx.From,
			To:          w.Address,
			Value:       paid[i],
			BlockNumber: uint64(b.Number),
			BlockHash:   b.Hash,
			Internal:    cd.traced,
		})
	}
	return payments, untraced, nil
}

// receipts fetches the candidates' receipts by transaction hash, in one batch. Where
// the node has none by hash (geth answers "transaction indexing is in progress" for a
// while after it starts, and drops its index of old transactions), it asks for the
// whole block's receipts by block hash instead, which needs no index.
func (w *Watcher) receipts(ctx context.Context, blocks []*Block, cands []candidate) ([]*Receipt, error) {
	receipts := make([]*Receipt, len(cands))
	batch := make([]BatchElem, len(cands))
	for i, cd := range cands {
		batch[i] = BatchElem{Method: "eth_getTransactionReceipt", Args: []any{cd.tx.Hash}, Result: &receipts[i]}
	}
	if err := w.RPC.BatchCall(ctx, batch); err != nil {
		return nil, fmt.Errorf("chain: receipts: %w", err)
	}
	var byBlock []int // indexes into blocks, in order, without repeats
	for i, cd := range cands {
		var re *RPCError
		switch err := batch[i].Error; {
		case err != nil && !errors.As(err, &re) && !errors.Is(err, errNoAnswer):
			return nil, fmt.Errorf("chain: receipt of %s: %w", cd.tx.Hash.Hex(), err)
		case err != nil || receipts[i] == nil:
			if len(byBlock) == 0 || byBlock[len(byBlock)-1] != cd.block {
				byBlock = append(byBlock, cd.block)
			}
		}
	}
	if len(byBlock) == 0 {
		return receipts, nil
	}
	all := make([][]Receipt, len(byBlock))
	batch = make([]BatchElem, len(byBlock))
	for i, bi := range byBlock {
		batch[i] = BatchElem{Method: "eth_getBlockReceipts", Args: []any{blocks[bi].Hash}, Result: &all[i]}
	}
	if err := w.RPC.BatchCall(ctx, batch); err != nil {
		return nil, fmt.Errorf("chain: block receipts: %w", err)
	}
	found := map[common.Hash]*Receipt{}
	for i := range all {
		if batch[i].Error != nil {
			return nil, fmt.Errorf("chain: receipts of block %d: %w", uint64(blocks[byBlock[i]].Number), batch[i].Error)
		}
		for j := range all[i] {
			found[all[i][j].TransactionHash] = &all[i][j]
		}
	}
	for i, cd := range cands {
		if receipts[i] == nil {
			receipts[i] = found[cd.tx.Hash]
		}
		if receipts[i] == nil {
			return nil, fmt.Errorf("%w: no receipt for %s of block %d", ErrInconsistent, cd.tx.Hash.Hex(), uint64(blocks[cd.block].Number))
		}
	}
	return receipts, nil
}

// TraceValueTo traces one transaction with callTracer and returns the wei its
// successful calls moved to addr. It is how a caller retries an UntracedTx, perhaps
// on another node. A node without the debug API answers with an *RPCError for which
// IsMethodNotFound is true.
func TraceValueTo(ctx context.Context, r Caller, tx common.Hash, addr common.Address) (*big.Int, error) {
	var f CallFrame
	if err := r.Call(ctx, &f, "debug_traceTransaction", tx, callTracerArgs); err != nil {
		return nil, err
	}
	return f.ValueTo(addr), nil
}
