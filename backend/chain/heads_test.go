package chain

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// headsNode serves eth_blockNumber from a number the test sets and hands out
// subscriptions the test feeds.
type headsNode struct {
	mu     sync.Mutex
	number uint64
	subs   chan chan uint64 // each SubscribeNewHeads takes the next channel; none left: ErrNoSubscriptions
}

func (h *headsNode) set(n uint64) {
	h.mu.Lock()
	h.number = n
	h.mu.Unlock()
}

func (h *headsNode) Call(_ context.Context, result any, method string, _ ...any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*result.(*hexutil.Uint64) = hexutil.Uint64(h.number)
	return nil
}

func (h *headsNode) BatchCall(context.Context, []BatchElem) error { panic("not used") }

func (h *headsNode) SubscribeNewHeads(context.Context) (<-chan uint64, error) {
	select {
	case c := <-h.subs:
		return c, nil
	default:
		return nil, ErrNoSubscriptions
	}
}

func next(t *testing.T, heads <-chan uint64) uint64 {
	t.Helper()
	select {
	case h := <-heads:
		return h
	case <-time.After(5 * time.Second):
		t.Fatal("no head within 5 s")
		return 0
	}
}

func TestHeadsFallsBackToPollingWhenTheSubscriptionBreaks(t *testing.T) {
	sub := make(chan uint64)
	node := &headsNode{number: 5, subs: make(chan chan uint64, 1)}
	node.subs <- sub
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads := Heads(ctx, node, 5*time.Millisecond)

	eq(t, "the head at start, polled once", next(t, heads), 5)
	node.set(6) // as a consistent node would: the safety polls see 6 too
	sub <- 6
	eq(t, "from the subscription", next(t, heads), 6)
	close(sub) // the websocket broke
	node.set(9)
	eq(t, "polled after the subscription broke", next(t, heads), 9)

	cancel()
	for range heads { // closed when ctx ends
	}
}

func TestHeadsKeepsOnlyTheLatestForASlowReader(t *testing.T) {
	sub := make(chan uint64)
	node := &headsNode{number: 1, subs: make(chan chan uint64, 1)}
	node.subs <- sub
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads := Heads(ctx, node, time.Hour)
	// Each send is taken although nobody reads heads. The repeated 12 is taken only
	// once the first 12 is in the channel, and is itself not passed on again.
	for _, n := range []uint64{10, 11, 12, 12} {
		sub <- n
	}
	eq(t, "a slow reader gets the latest head", next(t, heads), 12)
	select {
	case h := <-heads:
		t.Errorf("another head %d after the latest", h)
	default:
	}
}

func TestHeadsPollsWithoutSubscriptions(t *testing.T) {
	node := &headsNode{number: 3, subs: make(chan chan uint64)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads := Heads(ctx, node, 5*time.Millisecond)
	eq(t, "first", next(t, heads), 3)
	node.set(4)
	eq(t, "polled", next(t, heads), 4)
	node.set(4)
	node.set(7)
	eq(t, "unchanged heads are not repeated", next(t, heads), 7)
}
