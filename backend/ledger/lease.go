package ledger

import (
	"context"
	"errors"
	"time"
)

// leaseWatch is what a standby remembers of the lease it watches: the holder's last
// beat and when (on this process's monotonic clock) it was first seen. A lease whose
// beat has not moved for three quarters of the TTL is stale, whatever the clocks of
// other machines say: the holder beats every third of it, so that is two missed
// beats, and with the standby's checks every eighth a dead writer's lease is taken
// within one TTL. A writer that is only slow and still believes it holds the lease is
// stopped by the journal's sequence numbers, not by timing.
type leaseWatch struct {
	epoch, beat int64
	since       time.Time
}

// stale reports whether cur has not beaten for a TTL, remembering what it saw.
func (w *leaseWatch) stale(cur Lease, ttl time.Duration) bool {
	if cur.Epoch != w.epoch || cur.Beat != w.beat || w.since.IsZero() {
		w.epoch, w.beat, w.since = cur.Epoch, cur.Beat, time.Now()
		return false
	}
	return time.Since(w.since) >= ttl*3/4
}

// tryLease takes the lease if nobody holds it, if its holder is this very instance (a
// previous run on the same data dir, which the data dir's lock proves dead), or if
// its holder stopped beating; then it starts writing.
func (l *Ledger) tryLease(ctx context.Context, w *leaseWatch) error {
	cur, err := l.cfg.Leases.Current(ctx)
	if err != nil {
		return err
	}
	l.leaseMu.Lock()
	l.lease = cur
	l.leaseMu.Unlock()
	free := cur.Epoch == 0 || cur.Holder == "" // never taken, or released at a clean shutdown
	if !free && cur.Holder != l.cfg.Instance && !w.stale(cur, l.cfg.LeaseTTL) {
		return nil
	}
	next := Lease{Epoch: cur.Epoch + 1, Holder: l.cfg.Instance, Addr: l.cfg.Addr, At: time.Now().UTC()}
	if err := l.cfg.Leases.Acquire(ctx, next); err != nil {
		if errors.Is(err, ErrLeaseTaken) {
			return nil // someone else was faster; keep watching
		}
		return err
	}
	l.leaseMu.Lock()
	l.lease = next
	l.leaseMu.Unlock()
	if err := l.becomeWriter(ctx, next.Epoch); err != nil {
		// Stop beating so another instance takes over after the TTL.
		l.log.Error("took the lease but could not load the state", "err", err)
		return err
	}
	return nil
}

// leaseLoop renews the lease while writing and watches it while standing by.
func (l *Ledger) leaseLoop(ctx context.Context) {
	defer close(l.done)
	w := &leaseWatch{}
	lastRenew := time.Now()
	for {
		wait := l.cfg.LeaseTTL / 8
		if l.Writing() {
			wait = l.cfg.LeaseTTL / 3
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if l.Writing() {
			l.leaseMu.Lock()
			mine := l.lease
			l.leaseMu.Unlock()
			rctx, cancel := context.WithTimeout(ctx, l.cfg.LeaseTTL/3)
			renewed, err := l.cfg.Leases.Renew(rctx, mine)
			cancel()
			switch {
			case errors.Is(err, ErrLeaseTaken):
				l.leaseMu.Lock()
				l.lease = renewed
				l.leaseMu.Unlock()
				l.stepDown("another instance took the lease", true)
			case err != nil:
				if time.Since(lastRenew) > l.cfg.LeaseTTL {
					l.stepDown("the lease could not be renewed for a whole TTL", true)
				}
			default:
				lastRenew = time.Now()
				l.leaseMu.Lock()
				l.lease = renewed
				l.leaseMu.Unlock()
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if err := l.tryLease(ctx, w); err != nil && ctx.Err() == nil {
			l.log.Warn("lease check failed", "err", err)
		}
		if l.Writing() {
			lastRenew = time.Now()
		}
	}
}

// releaseLease hands the lease over at a clean shutdown: a next epoch with no holder,
// which any standby may take at once instead of waiting a TTL.
func (l *Ledger) releaseLease(ctx context.Context) {
	l.leaseMu.Lock()
	mine := l.lease
	l.leaseMu.Unlock()
	if l.cfg.Leases == nil || mine.Holder != l.cfg.Instance {
		return
	}
	cur, err := l.cfg.Leases.Current(ctx)
	if err != nil || cur.Epoch != mine.Epoch {
		return
	}
	l.cfg.Leases.Acquire(ctx, Lease{Epoch: mine.Epoch + 1, At: time.Now().UTC()})
}
