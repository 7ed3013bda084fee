package card

import (
	"context"
	"sync"
	"time"
)

// flightTimeout bounds one shared piece of work (a Stripe read and a ledger call).
const flightTimeout = 45 * time.Second

// flights runs at most one piece of work per key at a time in this process; callers
// that arrive while it runs wait for it and share its result. It saves Stripe calls
// when Stripe delivers one event many times at once, or when the webhook and the
// return page fulfil one session together. It is not what makes crediting exactly
// once: that is the ledger's key; this only avoids asking it needlessly.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

type flight[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// do runs fn for key unless a run for key is in progress, and returns its result. fn
// gets a context that outlives the caller's cancellation (one caller giving up must
// not fail the others who share the work) but not flightTimeout.
func (f *flights[T]) do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = make(map[string]*flight[T])
	}
	if c, ok := f.m[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.v, c.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	c := &flight[T]{done: make(chan struct{})}
	f.m[key] = c
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(c.done)
	}()
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
	defer cancel()
	c.v, c.err = fn(work)
	return c.v, c.err
}
