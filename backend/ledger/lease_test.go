package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
)

// partition wraps the lease collection of one instance and can cut it off, as a
// network partition or a stalled process would.
type partition struct {
	ledger.Leases
	cut atomic.Bool
}

var errCut = errors.New("partitioned")

func (p *partition) Renew(ctx context.Context, l ledger.Lease) (ledger.Lease, error) {
	if p.cut.Load() {
		return l, errCut
	}
	return p.Leases.Renew(ctx, l)
}

func (p *partition) Current(ctx context.Context) (ledger.Lease, error) {
	if p.cut.Load() {
		return ledger.Lease{}, errCut
	}
	return p.Leases.Current(ctx)
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestExactlyOneInstanceWrites(t *testing.T) {
	s := MustOpenStore(t, t.TempDir())
	a := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "a", Addr: "http://a", LeaseTTL: time.Second})
	b := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "b", Addr: "http://b", LeaseTTL: time.Second})
	if !a.Writing() || b.Writing() {
		t.Fatalf("writing: a=%v b=%v, want only a", a.Writing(), b.Writing())
	}
	key := MustAccount(t, a, "acct_1", 100)
	if _, err := b.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "x", Credits: 1}); !errors.Is(err, ledger.ErrNotWriter) {
		t.Fatalf("charge on the standby: %v, want ErrNotWriter", err)
	}
	if got := b.WriterAddr(); got != "http://a" {
		t.Fatalf("standby forwards to %q, want http://a", got)
	}
	// For longer than several TTLs, the standby never takes over a beating writer.
	time.Sleep(2500 * time.Millisecond)
	if !a.Writing() || b.Writing() {
		t.Fatalf("after 2.5 TTLs: writing a=%v b=%v", a.Writing(), b.Writing())
	}
}

func TestStandbyTakesOverWithinTheLeasePeriod(t *testing.T) {
	s := MustOpenStore(t, t.TempDir())
	const ttl = time.Second
	pa := &partition{Leases: s}
	a := MustOpenLedger(t, s, ledger.Config{Leases: pa, Instance: "a", LeaseTTL: ttl})
	b := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "b", LeaseTTL: ttl})
	key := MustAccount(t, a, "acct_1", 100)
	if _, err := a.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "before", Credits: 10}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl / 2) // the standby has watched a few beats
	pa.cut.Store(true)  // the writer stops beating
	took := waitFor(t, 3*ttl, "takeover", b.Writing)
	t.Logf("standby took over %v after the writer's beats stopped (TTL %v)", took.Round(time.Millisecond), ttl)
	if took > ttl {
		t.Fatalf("takeover took %v, more than the lease period", took)
	}
	waitFor(t, 3*ttl, "old writer steps down", func() bool { return !a.Writing() })
	// The new writer has everything the old one acknowledged.
	u, err := b.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "before", Credits: 10})
	if err != nil || u.Balance != 90 {
		t.Fatalf("repeat on the new writer: %+v, %v (want the first answer, balance 90)", u, err)
	}
}

// TestStaleWriterIsFencedByTheJournal: a writer that lost the lease without noticing
// (its own TTL is long) keeps trying to write; the journal's unique sequence numbers
// stop it at its first append, so nothing it decides after the takeover is
// acknowledged and nothing is spent twice.
func TestStaleWriterIsFencedByTheJournal(t *testing.T) {
	s := MustOpenStore(t, t.TempDir())
	pa := &partition{Leases: s}
	a := MustOpenLedger(t, s, ledger.Config{Leases: pa, Instance: "a", LeaseTTL: time.Hour})
	key := MustAccount(t, a, "acct_1", 1000)
	pa.cut.Store(true)
	b := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "b", LeaseTTL: 300 * time.Millisecond})
	waitFor(t, 3*time.Second, "takeover", b.Writing)
	if !a.Writing() {
		t.Fatal("the stale writer should still believe it writes")
	}
	// The new writer appends first; the stale one's next append finds its sequence
	// number taken, so it is refused, not acknowledged, and it steps down.
	if _, err := b.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "b-first", Credits: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "a-stale", Credits: 50}); !errors.Is(err, ledger.ErrNotWriter) {
		t.Fatalf("charge on the stale writer: %v, want ErrNotWriter", err)
	}
	waitFor(t, 3*time.Second, "the stale writer steps down", func() bool { return !a.Writing() })
	// Then both take charges for the same balance at once: never more than it holds.
	var okN atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := []*ledger.Ledger{a, b}[i%2]
			_, err := w.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: fmt.Sprint("c", i), Credits: 50})
			switch {
			case err == nil:
				okN.Add(1)
			case errors.Is(err, ledger.ErrNotWriter), credits.ErrorCode(err) == shared.CodeInsufficientCredits:
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	okN.Add(1) // b-first
	st, err := ledger.Rebuild(context.Background(), s, false)
	if err != nil {
		t.Fatal(err)
	}
	acct := st.Accounts["acct_1"]
	acct.Credits.Advance(time.Now())
	if spent := acct.Credits.Used; spent != okN.Load()*50 || acct.Credits.Balance() != 1000-spent {
		t.Fatalf("journal: spent %d, balance %d; acknowledged %d charges of 50", spent, acct.Credits.Balance(), okN.Load())
	}
}

func TestCleanShutdownHandsTheLeaseOverAtOnce(t *testing.T) {
	s := MustOpenStore(t, t.TempDir())
	a := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "a", LeaseTTL: time.Hour})
	b := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "b", LeaseTTL: time.Hour})
	MustAccount(t, a, "acct_1", 10)
	a.Close(context.Background())
	// A check interval is TTL/4 = 15 minutes here; the released lease is taken at the
	// next check, which a test can't wait for — so ask the standby directly by
	// opening a third instance, which looks at the lease at once.
	c := MustOpenLedger(t, s, ledger.Config{Leases: s, Instance: "c", LeaseTTL: time.Hour})
	if !c.Writing() || b.Writing() {
		t.Fatalf("after a clean shutdown: c writing %v (b %v); want c to take the released lease", c.Writing(), b.Writing())
	}
	if balance(t, c, "acct_1") != 10 {
		t.Fatal("the new writer lost the state")
	}
}
