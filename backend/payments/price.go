package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aispace/credits/backend/chain"
)

// DefaultPriceRefresh is how often PriceService reads the price again. Chainlink's
// ETH/USD feed on Base moves on a 0.15% deviation or its 1200 s heartbeat, so 10 s
// follows it closely for one eth_call every 10 s.
const DefaultPriceRefresh = 10 * time.Second

// PriceService is the live ETH/USD price: a chain.PriceFeed read at most once per
// Refresh, and by Run every Refresh, telling subscribers of each new price. Its
// methods are safe for concurrent use.
type PriceService struct {
	Feed    *chain.PriceFeed
	Refresh time.Duration // 0 means DefaultPriceRefresh
	Logger  *slog.Logger
	Now     func() time.Time

	fetchMu sync.Mutex // one read of the feed at a time

	mu      sync.Mutex // guards the fields below
	cur     chain.Price
	fetched time.Time // when cur was read; zero: never
	down    bool      // the last read failed (for logging transitions only)
	subs    map[int]func(chain.Price)
	nextSub int
}

func (p *PriceService) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *PriceService) refreshEvery() time.Duration {
	if p.Refresh > 0 {
		return p.Refresh
	}
	return DefaultPriceRefresh
}

// maxAge is how old a price's own time may be: the feed's heartbeat plus its margin,
// the same rule chain.PriceFeed applies when it reads.
func (p *PriceService) maxAge() time.Duration {
	hb, margin := p.Feed.Heartbeat, p.Feed.StaleMargin
	if hb <= 0 {
		hb = chain.DefaultHeartbeat
	}
	if margin <= 0 {
		margin = chain.DefaultStaleMargin
	}
	return hb + margin
}

// usable reports whether a price read at fetched is still one to give out: read
// within the refresh period (withinRefresh) and not stale by the feed's rule.
func (p *PriceService) usable(pr chain.Price, fetched time.Time, withinRefresh bool) bool {
	now := p.now()
	if fetched.IsZero() || now.Sub(pr.UpdatedAt) > p.maxAge() {
		return false
	}
	return !withinRefresh || now.Sub(fetched) < p.refreshEvery()
}

// Price returns a fresh price: the one read within the last Refresh, or a new read.
// The error wraps chain.ErrPriceUnavailable when no source has a fresh price.
func (p *PriceService) Price(ctx context.Context) (chain.Price, error) {
	p.mu.Lock()
	pr, fetched := p.cur, p.fetched
	p.mu.Unlock()
	if p.usable(pr, fetched, true) {
		return pr, nil
	}
	return p.read(ctx, false)
}

// Last returns the newest price read if it is not stale, without reading the feed.
func (p *PriceService) Last() (chain.Price, bool) {
	p.mu.Lock()
	pr, fetched := p.cur, p.fetched
	p.mu.Unlock()
	return pr, p.usable(pr, fetched, false)
}

// RefreshNow reads the feed now, tells the subscribers if the price changed, and
// returns it.
func (p *PriceService) RefreshNow(ctx context.Context) (chain.Price, error) {
	return p.read(ctx, true)
}

// read reads the feed, unless force is false and another caller read it while this
// one waited for its turn.
func (p *PriceService) read(ctx context.Context, force bool) (chain.Price, error) {
	p.fetchMu.Lock()
	defer p.fetchMu.Unlock()
	if !force {
		p.mu.Lock()
		pr, fetched := p.cur, p.fetched
		p.mu.Unlock()
		if p.usable(pr, fetched, true) {
			return pr, nil
		}
	}
	pr, err := p.Feed.Price(ctx)
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	if err != nil {
		p.mu.Lock()
		wasUp := !p.down
		p.down = true
		p.mu.Unlock()
		if wasUp && ctx.Err() == nil {
			log.Warn("ETH/USD price unavailable: crypto quotes are refused until it is back", "err", err)
		}
		if !errors.Is(err, chain.ErrPriceUnavailable) {
			err = fmt.Errorf("%w: %w", chain.ErrPriceUnavailable, err)
		}
		return chain.Price{}, err
	}
	p.mu.Lock()
	changed := pr != p.cur
	wasDown := p.down
	p.cur, p.fetched, p.down = pr, p.now(), false
	subs := make([]func(chain.Price), 0, len(p.subs))
	for _, fn := range p.subs {
		subs = append(subs, fn)
	}
	p.mu.Unlock()
	if wasDown {
		log.Info("ETH/USD price available again", "source", pr.Source)
	}
	if changed {
		for _, fn := range subs {
			fn(pr)
		}
	}
	return pr, nil
}

// Subscribe calls fn with every new price (a new value, source or round time) from
// now on, until cancel. fn must not block: it runs on the reading goroutine.
func (p *PriceService) Subscribe(fn func(chain.Price)) (cancel func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs == nil {
		p.subs = map[int]func(chain.Price){}
	}
	id := p.nextSub
	p.nextSub++
	p.subs[id] = fn
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.subs, id)
	}
}

// Run reads the price every Refresh until ctx ends, so that subscribers hear of new
// prices and quotes rarely wait for a read.
func (p *PriceService) Run(ctx context.Context) {
	t := time.NewTicker(p.refreshEvery())
	defer t.Stop()
	for {
		p.read(ctx, true)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
