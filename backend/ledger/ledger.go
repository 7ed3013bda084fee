package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/shared"
)

// Config is what a Ledger needs.
type Config struct {
	Journal Journal
	// Leases elects the writer among instances sharing the database. Nil means this
	// process is the only one and always writes.
	Leases   Leases
	Instance string // this process's name in the lease (stable across restarts on one data dir)
	Addr     string // where other instances forward requests to this one
	LeaseTTL time.Duration
	Clock    func() time.Time
	Logger   *slog.Logger
	// SnapshotEvery is how many operations may be journaled before a new snapshot,
	// and SnapshotMinInterval how long at least between two: a snapshot costs CPU in
	// proportion to the state, so under heavy traffic the interval bounds that cost
	// and the operations bound the replay at start-up.
	SnapshotEvery       int
	SnapshotMinInterval time.Duration
	// MaxBatch is the most operations one journal entry holds.
	MaxBatch int
	// Tiers are the operator's daily allowances by tier; journaled when they differ
	// from the state's.
	Tiers map[string]int64
	// OnCommit is called by the writer, in order, with the operations of every entry
	// once it is durable. It must not block (the websocket hub queues).
	OnCommit func(ops []Op)
}

// Errors of the ledger as a whole.
var (
	// ErrNotWriter: this instance does not hold the lease; its caller forwards the
	// request to the writer or answers 503 with Retry-After.
	ErrNotWriter = credits.Errorf(shared.CodeUnavailable, "this instance is not the writer; try again shortly")
	// ErrClosed: the ledger is shutting down.
	ErrClosed = credits.Errorf(shared.CodeUnavailable, "the server is shutting down; try again shortly")
)

// Ledger is the credits state machine: one writer goroutine applies commands to the
// in-memory state and group-commits their operations to the journal; readers read the
// state under a read lock. Only the instance holding the lease writes.
type Ledger struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.RWMutex // guards st
	st   *State
	cmds chan *command

	writing   atomic.Bool
	epoch     atomic.Int64
	committed atomic.Int64
	writerMu  sync.Mutex // guards term
	term      *term      // the current writing term, nil when standby
	leaseMu   sync.Mutex
	lease     Lease // the newest lease seen
	shadow    *shadow
	hooks     atomic.Pointer[[]commitHook] // OnCommit registrations, copy on write
	hooksMu   sync.Mutex                   // serialises registrations
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

type command struct {
	run   func(tx *Tx) (any, error)
	reply chan reply
}

type reply struct {
	v   any
	err error
}

// term is one period of holding the lease and writing.
type term struct {
	epoch    int64
	stop     chan struct{} // closed to end the term
	done     chan struct{} // closed when the writer loop has exited
	stopOnce sync.Once
	lost     atomic.Bool // the lease was lost: commits must not be retried
}

func (t *term) end() { t.stopOnce.Do(func() { close(t.stop) }) }

// batch is one journal entry in the making: its operations and the commands waiting
// for it to be durable.
type batch struct {
	seq     int64
	ops     []Op
	waiters []waiter
}

type waiter struct {
	c *command
	v any
}

// Open starts the ledger: it takes the lease if it can (at once when the last holder
// was this same instance), rebuilds the state from the newest snapshot and the journal
// after it, and starts writing. An instance that cannot take the lease starts as a
// standby and keeps watching the lease.
func Open(ctx context.Context, cfg Config) (*Ledger, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 200_000
	}
	if cfg.SnapshotMinInterval == 0 {
		cfg.SnapshotMinInterval = 30 * time.Second
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.Instance == "" {
		cfg.Instance = "single"
	}
	l := &Ledger{cfg: cfg, log: cfg.Logger, st: NewState(), cmds: make(chan *command, 1024), done: make(chan struct{})}
	bg, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.shadow = newShadow(l)
	if cfg.Leases == nil {
		if err := l.becomeWriter(ctx, 0); err != nil {
			stop()
			return nil, err
		}
		go func() { <-bg.Done(); close(l.done) }()
		return l, nil
	}
	if err := l.tryLease(ctx, &leaseWatch{}); err != nil {
		stop()
		return nil, err
	}
	go l.leaseLoop(bg)
	return l, nil
}

// Close ends writing after every command already accepted is durable, writes a
// snapshot if enough changed since the last, and stops watching the lease.
func (l *Ledger) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.stop()
		wasWriting := l.Writing()
		l.stepDown("shutting down", false)
		<-l.done
		if wasWriting {
			l.releaseLease(ctx)
		}
		l.shadow.close(ctx)
	})
	return nil
}

// Writing reports whether this instance is the writer now.
func (l *Ledger) Writing() bool { return l.writing.Load() }

// WriterAddr is where the writer takes forwarded requests ("" if unknown or if this
// instance is the writer).
func (l *Ledger) WriterAddr() string {
	if l.Writing() {
		return ""
	}
	l.leaseMu.Lock()
	defer l.leaseMu.Unlock()
	return l.lease.Addr
}

// Committed is the sequence number of the last durable journal entry.
func (l *Ledger) Committed() int64 { return l.committed.Load() }

// Read calls fn with the state under the read lock. fn must not keep references to
// mutable parts of the state after it returns, nor change anything.
func (l *Ledger) Read(fn func(s *State)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.st)
}

// Now is the ledger's clock: the injected clock, never earlier than the last op.
func (l *Ledger) Now() time.Time { return l.cfg.Clock().UTC() }

// Submit runs a command in the writer and returns its result once every operation it
// applied (and every operation it observed) is durable. Commands that fail return at
// once and change nothing.
func (l *Ledger) Submit(ctx context.Context, run func(tx *Tx) (any, error)) (any, error) {
	if !l.Writing() {
		return nil, ErrNotWriter
	}
	c := &command{run: run, reply: make(chan reply, 1)}
	select {
	case l.cmds <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Tx is a command's view of the state inside the writer.
type Tx struct {
	st  *State
	now time.Time
	seq int64
	ops []Op
}

// State is the state, to read. Changes go through Apply.
func (tx *Tx) State() *State { return tx.st }

// Now is the time of every op of this command.
func (tx *Tx) Now() time.Time { return tx.now }

// Apply applies op (stamped with the command's time) and queues it for the journal,
// or returns why it cannot be applied, changing nothing.
func (tx *Tx) Apply(op Op) error {
	op.At = tx.now
	if err := tx.st.Apply(&op, tx.seq); err != nil {
		return err
	}
	tx.ops = append(tx.ops, op)
	return nil
}

// Touch makes the lazy daily renewal of an account explicit: if advancing it to now
// would change anything, a tick op does so. Commands call it before anything else on
// the account, so what they decide, and what a replay decides, start from one state.
func (tx *Tx) Touch(account string) {
	if a := tx.st.Accounts[account]; a != nil && a.Credits.Due(tx.now) {
		tx.Apply(Op{Type: OpTick, Account: account})
	}
}

// writer is the single goroutine that changes the state while this instance holds
// the lease. One entry is being written at a time; the commands arriving meanwhile are
// applied and gathered into the next entry (group commit).
func (l *Ledger) writer(t *term) {
	defer close(t.done)
	pending := &batch{seq: l.committed.Load() + 1}
	var inflight *batch
	commitDone := make(chan error, 1)
	daily := time.NewTicker(time.Minute)
	defer daily.Stop()
	stopping := false
	for {
		in := l.cmds
		if stopping || len(pending.ops) >= l.cfg.MaxBatch {
			in = nil
		}
		select {
		case c := <-in:
			l.exec(c, pending, inflight)
		case err := <-commitDone:
			if err != nil {
				l.failAll(inflight, pending)
				t.lost.Store(true)
				go l.stepDown(fmt.Sprintf("journal append failed: %v", err), true)
				l.drainUntil(t)
				return
			}
			l.committed.Store(inflight.seq)
			for _, w := range inflight.waiters {
				w.c.reply <- reply{v: w.v}
			}
			l.notifyCommit(inflight.ops)
			inflight = nil
		case <-daily.C:
			if d := credits.DayStart(l.Now()); d.After(l.lastDay()) {
				go l.CloseDay(context.Background())
			}
		case <-t.stop:
			stopping = true
		}
		if inflight == nil && len(pending.ops) > 0 {
			inflight, pending = pending, &batch{seq: pending.seq + 1}
			go l.commit(t, inflight, commitDone)
		}
		if stopping && inflight == nil {
			// Everything accepted is durable (a command without ops of its own waits
			// in a batch only while that batch has ops); refuse what is still queued.
			l.drainQueue(ErrClosed)
			return
		}
	}
}

// exec runs one command under the write lock.
func (l *Ledger) exec(c *command, pending, inflight *batch) {
	l.mu.Lock()
	now := l.cfg.Clock().UTC()
	if now.Before(l.st.LastAt) {
		now = l.st.LastAt
	}
	tx := &Tx{st: l.st, now: now, seq: pending.seq}
	v, err := c.run(tx)
	l.mu.Unlock()
	pending.ops = append(pending.ops, tx.ops...)
	switch {
	case err != nil:
		c.reply <- reply{err: err}
	case len(pending.ops) > 0:
		pending.waiters = append(pending.waiters, waiter{c, v})
	case inflight != nil:
		inflight.waiters = append(inflight.waiters, waiter{c, v})
	default:
		c.reply <- reply{v: v}
	}
}

// commit appends one entry. A failure that may be transient (the database did not
// answer) is retried with the same entry for as long as this term lasts: it either
// lands once or a conflict shows it already did.
func (l *Ledger) commit(t *term, b *batch, done chan<- error) {
	data, err := encodeOps(b.ops)
	if err != nil {
		done <- err
		return
	}
	e := Entry{Seq: b.seq, Epoch: t.epoch, At: l.Now(), N: len(b.ops), Codec: CodecZstdJSON, Ops: data}
	backoff := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := l.cfg.Journal.Append(ctx, []Entry{e})
		cancel()
		if err == nil {
			l.shadow.add(e)
			done <- nil
			return
		}
		if errors.Is(err, ErrConflict) {
			if attempt > 0 && l.isOurs(e) {
				l.shadow.add(e)
				done <- nil
				return
			}
			done <- fmt.Errorf("entry %d was written by another writer: %w", e.Seq, err)
			return
		}
		if t.lost.Load() {
			done <- fmt.Errorf("lease lost while appending entry %d: %w", e.Seq, err)
			return
		}
		l.log.Warn("journal append failed; retrying", "seq", e.Seq, "attempt", attempt+1, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// isOurs reports whether the journal's entry e.Seq is e (an earlier attempt landed).
func (l *Ledger) isOurs(e Entry) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := false
	stopErr := errors.New("stop")
	l.cfg.Journal.Since(ctx, e.Seq-1, func(got Entry) error {
		found = got.Seq == e.Seq && got.Epoch == e.Epoch && bytes.Equal(got.Ops, e.Ops)
		return stopErr
	})
	return found
}

func (l *Ledger) failAll(batches ...*batch) {
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, w := range b.waiters {
			w.c.reply <- reply{err: ErrNotWriter}
		}
	}
}

// drainQueue answers every command still queued.
func (l *Ledger) drainQueue(err error) {
	for {
		select {
		case c := <-l.cmds:
			c.reply <- reply{err: err}
		default:
			return
		}
	}
}

// drainUntil answers queued commands until the term is over.
func (l *Ledger) drainUntil(t *term) {
	for {
		select {
		case c := <-l.cmds:
			c.reply <- reply{err: ErrNotWriter}
		case <-t.stop:
			l.drainQueue(ErrNotWriter)
			return
		}
	}
}

// becomeWriter loads the state and starts a writing term with the given epoch.
func (l *Ledger) becomeWriter(ctx context.Context, epoch int64) error {
	if err := l.load(ctx); err != nil {
		return err
	}
	t := &term{epoch: epoch, stop: make(chan struct{}), done: make(chan struct{})}
	l.writerMu.Lock()
	l.term = t
	l.writerMu.Unlock()
	l.epoch.Store(epoch)
	l.writing.Store(true)
	go l.writer(t)
	if err := l.syncTiers(ctx); err != nil {
		l.log.Warn("could not journal the tiers", "err", err)
	}
	l.log.Info("writing", "epoch", epoch, "seq", l.committed.Load(), "instance", l.cfg.Instance)
	return nil
}

// stepDown ends the writing term, if any: nothing more is appended by this process.
func (l *Ledger) stepDown(why string, lost bool) {
	l.writerMu.Lock()
	t := l.term
	l.term = nil
	l.writerMu.Unlock()
	if t == nil {
		return
	}
	l.writing.Store(false)
	if lost {
		t.lost.Store(true)
	}
	t.end()
	<-t.done
	l.log.Warn("stopped writing", "why", why, "epoch", t.epoch)
}

func (l *Ledger) lastDay() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.st.Day
}

// CloseDay runs the daily job for the current day if it has not run: every account is
// advanced to the day, so expiries and allowances are recorded explicitly in the
// journal even for accounts nobody touched. The writer runs it after each midnight.
func (l *Ledger) CloseDay(ctx context.Context) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		day := credits.DayStart(tx.Now())
		if !day.After(tx.State().Day) {
			return nil, nil
		}
		return nil, tx.Apply(Op{Type: OpDay, ID: "day:" + day.Format(time.DateOnly)})
	})
	return err
}

// syncTiers journals the operator's tier settings when they differ from the state's.
func (l *Ledger) syncTiers(ctx context.Context) error {
	if l.cfg.Tiers == nil {
		return nil
	}
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		cur := tx.State().Tiers
		same := len(cur) == len(l.cfg.Tiers)
		for k, v := range l.cfg.Tiers {
			if cur[k] != v {
				same = false
			}
		}
		if same {
			return nil, nil
		}
		return nil, tx.Apply(Op{Type: OpTiers, Tiers: &TiersOp{Allowances: l.cfg.Tiers}})
	})
	return err
}

// submit is Submit for commands whose result has a type: the answer comes back typed.
func submit[T any](ctx context.Context, l *Ledger, run func(tx *Tx) (T, error)) (T, error) {
	v, err := l.Submit(ctx, func(tx *Tx) (any, error) { return run(tx) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
