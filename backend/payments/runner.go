package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/ledger"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Defaults of Runner.
const (
	DefaultPoll       = time.Second      // Base makes a block every 2 s
	DefaultMaxBackoff = 10 * time.Second // the longest wait after a failed step
	expireEvery       = 30 * time.Second // how often pending quotes are checked for their end
	lateQueueMax      = 4096             // submitted hashes waiting for their late check
)

// Pricer is what the runner needs of the price: a fresh one, or an error.
type Pricer interface {
	Price(ctx context.Context) (chain.Price, error)
}

// Runner watches the chain for payments and journals what it finds, on the ledger's
// writer instance. Create it with its fields set and call Run.
type Runner struct {
	Ledger        *ledger.Ledger
	RPC           chain.RPC
	ChainID       uint64         // what the RPC must report (eth_chainId), and the credits' op ids use
	Address       common.Address // the payment address
	Confirmations uint64         // blocks a payment needs, its own included; 0 means 1
	// StartBlock is the first block a fresh install scans; nil means the head at the
	// first start, so that a new install does not scan the chain from genesis.
	StartBlock *uint64
	Poll       time.Duration // how often the head is polled without a subscription; 0 means DefaultPoll
	BatchSize  int           // blocks per step; 0 means chain.DefaultBatchSize
	ReorgGrace uint64        // blocks after which a payment reorged out is clawed back; 0 means the ledger's default
	MaxBackoff time.Duration // 0 means DefaultMaxBackoff
	Prices     Pricer        // the price of late payments; nil: they wait
	NewKey     ledger.KeyMaker
	Logger     *slog.Logger

	lateMu     sync.Mutex
	late       map[string]bool // submitted hashes to check once
	lateSignal chan struct{}
	lastTime   time.Time // the time of the newest block processed
	lastExpire time.Time
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Run watches until ctx ends. It steps only while the ledger is the writer; when the
// node fails it backs off and tries again from the journaled cursor, so no block is
// skipped however long the node is away.
func (r *Runner) Run(ctx context.Context) error {
	poll := r.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	maxBackoff := r.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	r.late = map[string]bool{}
	r.lateSignal = make(chan struct{}, 1)
	remove := r.Ledger.OnCommit(r.noteSubmits)
	defer remove()
	heads := chain.Heads(ctx, r.RPC, poll)
	safety := time.NewTicker(10 * poll) // a subscription can stall without breaking
	defer safety.Stop()

	var backoff time.Duration
	var lastErr string
	var lastErrAt time.Time
	writing := false
	for ctx.Err() == nil {
		if !r.Ledger.Writing() {
			writing = false
			sleep(ctx, poll)
			continue
		}
		err := func() error {
			if !writing {
				// Newly the writer (or just started): make sure the node is on the
				// right chain, and check the hashes submitted while nobody watched.
				if err := r.checkChainID(ctx); err != nil {
					return err
				}
				for _, h := range r.Ledger.Unpaid() {
					r.queueLate(h)
				}
				writing = true
			}
			for {
				caughtUp, err := r.step(ctx)
				if err != nil {
					return err
				}
				if err := r.checkLate(ctx); err != nil {
					return err
				}
				r.expireQuotes(ctx)
				if caughtUp {
					return nil
				}
			}
		}()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			// The same error every backoff is logged once a minute, not each time.
			if msg := err.Error(); msg != lastErr || time.Since(lastErrAt) > time.Minute {
				r.log().Warn("chain watcher: step failed; retrying", "err", err, "retry_in", max(backoff, 500*time.Millisecond))
				lastErr, lastErrAt = msg, time.Now()
			}
			backoff = min(max(2*backoff, 500*time.Millisecond), maxBackoff)
			sleep(ctx, backoff)
			continue
		}
		if lastErr != "" {
			r.log().Info("chain watcher: stepping again")
			lastErr = ""
		}
		backoff = 0
		select {
		case <-ctx.Done():
		case <-heads:
		case <-r.lateSignal:
		case <-safety.C:
		}
	}
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// checkChainID refuses a node on another chain: its blocks would be journaled as this
// chain's, and payments on it credited.
func (r *Runner) checkChainID(ctx context.Context) error {
	var id hexutil.Uint64
	if err := r.RPC.Call(ctx, &id, "eth_chainId"); err != nil {
		return fmt.Errorf("eth_chainId: %w", err)
	}
	if uint64(id) != r.ChainID {
		return fmt.Errorf("the chain RPC serves chain id %d, not the configured %d: not watching it", uint64(id), r.ChainID)
	}
	return nil
}

// cursor is the ledger's cursor as package chain takes it, or the start of a fresh
// install.
func (r *Runner) cursor(ctx context.Context) (chain.Cursor, error) {
	cur := r.Ledger.ChainCursor()
	if cur.Number == 0 && len(cur.Recent) == 0 {
		if r.StartBlock != nil {
			return chain.StartAt(*r.StartBlock), nil
		}
		var head hexutil.Uint64
		if err := r.RPC.Call(ctx, &head, "eth_blockNumber"); err != nil {
			return chain.Cursor{}, fmt.Errorf("head: %w", err)
		}
		r.log().Info("chain watcher: a fresh install starts at the head", "block", uint64(head))
		return chain.StartAt(uint64(head)), nil
	}
	c := chain.Cursor{Number: cur.Number, Recent: make([]common.Hash, len(cur.Recent))}
	for i, h := range cur.Recent {
		c.Recent[i] = common.HexToHash(h)
	}
	return c, nil
}

func (r *Runner) params(ctx context.Context) ledger.ChainParams {
	p := ledger.ChainParams{ChainID: r.ChainID, Confirmations: max(r.Confirmations, 1), NewKey: r.NewKey,
		ReorgGrace: r.ReorgGrace, Keep: chain.DefaultKeep}
	if r.Prices != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		// No fresh price: PriceE8 stays 0, and what needs it (a payment after its
		// quote ended, an unclaimed one) waits for a later step.
		if pr, err := r.Prices.Price(pctx); err == nil {
			p.PriceE8 = int64(pr.USD)
		}
	}
	return p
}

// step runs one watcher step and journals it. caughtUp is true when the cursor is at
// the node's head.
func (r *Runner) step(ctx context.Context) (caughtUp bool, err error) {
	c, err := r.cursor(ctx)
	if err != nil {
		return false, err
	}
	w := &chain.Watcher{RPC: r.RPC, Address: r.Address, BatchSize: r.BatchSize,
		Wanted: func(h common.Hash) bool { return r.Ledger.Wanted(lower(h)) }}
	res, err := w.Step(ctx, c)
	if errors.Is(err, chain.ErrReorgTooDeep) {
		r.log().Error("chain watcher: the node's chain shares none of the last blocks the watcher kept; is the RPC on another chain?", "cursor", c.Number, "err", err)
	}
	if err != nil {
		return false, err
	}
	step := ledger.ChainStep{Head: res.Head}
	if res.Reorg != nil {
		anc := res.Reorg.Ancestor
		step.Ancestor = &anc
		r.log().Warn("chain watcher: reorg; payments in the blocks above the ancestor go back to pending", "ancestor", anc, "cursor", c.Number, "head", res.Head)
	}
	for _, b := range res.Blocks {
		cb := ledger.ChainBlock{Number: b.Number, Hash: lower(b.Hash), Time: time.Unix(int64(b.Time), 0).UTC()}
		for _, p := range b.Payments {
			cb.Payments = append(cb.Payments, chainPayment(p))
		}
		for _, u := range b.Untraced {
			r.log().Warn("chain watcher: the node would not trace a submitted transaction; an internal transfer in it cannot be found here",
				"tx", lower(u.TxHash), "block", b.Number, "reason", u.Reason)
		}
		step.Blocks = append(step.Blocks, cb)
	}
	out, err := r.Ledger.ApplyChainStep(ctx, step, r.params(ctx))
	if err != nil {
		return false, fmt.Errorf("journal the step: %w", err)
	}
	if n := len(res.Blocks); n > 0 {
		r.lastTime = step.Blocks[n-1].Time
	}
	for _, id := range out.Credited {
		r.log().Info("crypto payment credited", "purchase", id)
	}
	for _, h := range out.ClawedBack {
		r.log().Warn("crypto payment reorged out and never re-included: its credits were clawed back (audited)", "tx", h, "purchase", r.Ledger.PurchaseOfTx(h))
	}
	if res.Reorg != nil {
		return false, nil
	}
	return len(res.Blocks) == 0 || res.Blocks[len(res.Blocks)-1].Number >= res.Head, nil
}

func chainPayment(p chain.Payment) ledger.ChainPayment {
	return ledger.ChainPayment{Tx: lower(p.TxHash), From: strings.ToLower(p.From.Hex()), Wei: p.Value.String(), Internal: p.Internal}
}

func lower(h common.Hash) string { return strings.ToLower(h.Hex()) }

// noteSubmits is the ledger's OnCommit hook: it queues every transaction hash a buyer
// submitted for its late check. It runs on the ledger's writer goroutine and never
// blocks.
func (r *Runner) noteSubmits(ops []ledger.Op) {
	for _, op := range ops {
		if op.Type == ledger.OpPurchase && op.Purchase != nil && op.Purchase.Submit != "" {
			r.queueLate(op.Purchase.Submit)
		}
	}
}

func (r *Runner) queueLate(h string) {
	r.lateMu.Lock()
	if len(r.late) < lateQueueMax {
		r.late[h] = true
	}
	r.lateMu.Unlock()
	select {
	case r.lateSignal <- struct{}{}:
	default:
	}
}

// lateReceipt is the part of a receipt the late check reads.
type lateReceipt struct {
	Status      hexutil.Uint64  `json:"status"`
	BlockNumber hexutil.Uint64  `json:"blockNumber"`
	BlockHash   common.Hash     `json:"blockHash"`
	From        common.Address  `json:"from"`
	To          *common.Address `json:"to"`
}

// checkLate looks once at each submitted hash queued since the last look. The watcher
// traces a transaction for internal transfers only if its hash was submitted before
// its block was scanned; if the block is already behind the cursor, the transaction
// is traced here and what it paid is journaled as a late payment. It runs between
// steps, on the runner's goroutine, so a step that was scanning while the hash
// arrived has journaled its cursor before the check reads it.
func (r *Runner) checkLate(ctx context.Context) error {
	r.lateMu.Lock()
	hashes := make([]string, 0, len(r.late))
	for h := range r.late {
		hashes = append(hashes, h)
	}
	r.lateMu.Unlock()
	for _, h := range hashes {
		done, err := r.checkOneLate(ctx, h)
		if err != nil {
			return fmt.Errorf("late check of %s: %w", h, err)
		}
		if done {
			r.lateMu.Lock()
			delete(r.late, h)
			r.lateMu.Unlock()
		}
	}
	return nil
}

// checkOneLate checks one hash; done is false when it must be looked at again (the
// node failed).
func (r *Runner) checkOneLate(ctx context.Context, h string) (done bool, err error) {
	if r.Ledger.HasPayment(h) {
		return true, nil
	}
	var rc *lateReceipt
	if err := r.RPC.Call(ctx, &rc, "eth_getTransactionReceipt", h); err != nil {
		var re *chain.RPCError
		if errors.As(err, &re) {
			return true, nil // the node has no such transaction (or will not say): a step finds it if it is mined
		}
		return false, err
	}
	cur := r.Ledger.ChainCursor()
	switch {
	case rc == nil, uint64(rc.BlockNumber) > cur.Number:
		return true, nil // not mined yet, or not scanned yet: the step traces it, it is wanted now
	case rc.Status != 1:
		return true, nil // failed: it paid nothing
	case rc.To != nil && *rc.To == r.Address:
		return true, nil // a top-level payment: the steps find those whoever submits them
	}
	v, err := chain.TraceValueTo(ctx, r.RPC, common.HexToHash(h), r.Address)
	if chain.IsMethodNotFound(err) {
		r.log().Warn("chain watcher: the node cannot trace a transaction submitted after its block was scanned", "tx", h)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if v.Sign() <= 0 {
		return true, nil
	}
	var hdr *chain.BlockHeader
	if err := r.RPC.Call(ctx, &hdr, "eth_getBlockByNumber", hexutil.EncodeUint64(uint64(rc.BlockNumber)), false); err != nil {
		return false, err
	}
	if hdr == nil || hdr.Hash != rc.BlockHash {
		return false, fmt.Errorf("block %d changed while it was read", uint64(rc.BlockNumber))
	}
	b := ledger.ChainBlock{Number: uint64(rc.BlockNumber), Hash: lower(rc.BlockHash), Time: time.Unix(int64(hdr.Timestamp), 0).UTC(),
		Payments: []ledger.ChainPayment{{Tx: h, From: strings.ToLower(rc.From.Hex()), Wei: v.String(), Internal: true}}}
	if err := r.Ledger.RecordLatePayments(ctx, b); err != nil {
		// A reorg moved the block since: the steps will see the transaction again
		// where it lands, and it is wanted now.
		r.log().Warn("chain watcher: late payment not recorded", "tx", h, "err", err)
		return true, nil
	}
	r.log().Info("chain watcher: found an internal transfer submitted after its block was scanned", "tx", h, "block", b.Number, "wei", v.String())
	return true, nil
}

// expireQuotes marks the quotes that ended before the newest block as expired, every
// expireEvery at most (it reads every purchase).
func (r *Runner) expireQuotes(ctx context.Context) {
	if r.lastTime.IsZero() || time.Since(r.lastExpire) < expireEvery {
		return
	}
	r.lastExpire = time.Now()
	if _, err := r.Ledger.ExpireQuotes(ctx, r.lastTime); err != nil && ctx.Err() == nil {
		r.log().Warn("chain watcher: expiring quotes", "err", err)
	}
}
