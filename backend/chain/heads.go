package chain

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// resubscribeAfter is how long Heads polls after a subscription broke before it
// tries to subscribe again.
const resubscribeAfter = 30 * time.Second

// Heads reports the chain's head block number on the returned channel whenever it
// changes, until ctx ends; then the channel is closed. It uses a newHeads
// subscription where r offers one and polls eth_blockNumber every poll otherwise, or
// while a broken subscription waits to be renewed. While subscribed it still polls,
// ten times less often, because a subscription can stall without breaking.
//
// The channel holds only the latest head: a slow reader skips numbers instead of
// falling behind, which suits a watcher that catches up from its cursor anyway.
// Errors are not reported; the head simply stops changing while the node is down.
func Heads(ctx context.Context, r RPC, poll time.Duration) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		defer close(out)
		h := headSender{out: out}
		h.poll(ctx, r)
		subscriptions := true
		for ctx.Err() == nil {
			if subscriptions {
				sub, err := r.SubscribeNewHeads(ctx)
				if errors.Is(err, ErrNoSubscriptions) {
					subscriptions = false
				} else if err == nil {
					h.follow(ctx, r, sub, 10*poll)
				}
			}
			// Poll until it is time to try subscribing again (or forever, without
			// subscriptions).
			until := time.Now().Add(resubscribeAfter)
			t := time.NewTicker(poll)
			for ctx.Err() == nil && (!subscriptions || time.Now().Before(until)) {
				select {
				case <-ctx.Done():
				case <-t.C:
					h.poll(ctx, r)
				}
			}
			t.Stop()
		}
	}()
	return out
}

type headSender struct {
	out  chan uint64
	last uint64
	sent bool
}

// send replaces any unread head with n, so the reader always gets the latest.
func (h *headSender) send(n uint64) {
	if h.sent && n == h.last {
		return
	}
	h.last, h.sent = n, true
	select {
	case <-h.out:
	default:
	}
	h.out <- n // cannot block: this goroutine is the only sender and just emptied it
}

func (h *headSender) poll(ctx context.Context, r RPC) {
	var n hexutil.Uint64
	if err := r.Call(ctx, &n, "eth_blockNumber"); err == nil {
		h.send(uint64(n))
	}
}

// follow forwards a subscription until it ends, polling every safety interval too.
func (h *headSender) follow(ctx context.Context, r RPC, sub <-chan uint64, safety time.Duration) {
	t := time.NewTicker(safety)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-sub:
			if !ok {
				return
			}
			h.send(n)
		case <-t.C:
			h.poll(ctx, r)
		}
	}
}
