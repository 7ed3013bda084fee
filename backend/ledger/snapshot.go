package ledger

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	zdec, _ = zstd.NewReader(nil)
)

// encodeOps writes a journal entry's operations (CodecZstdJSON).
func encodeOps(ops []Op) ([]byte, error) {
	data, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	return zenc.EncodeAll(data, make([]byte, 0, len(data)/4)), nil
}

// DecodeOps reads a journal entry's operations.
func DecodeOps(e Entry) ([]Op, error) {
	if e.Codec != CodecZstdJSON {
		return nil, fmt.Errorf("ledger: journal entry %d: unknown codec %q", e.Seq, e.Codec)
	}
	data, err := zdec.DecodeAll(e.Ops, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: journal entry %d: %w", e.Seq, err)
	}
	var ops []Op
	if err := json.Unmarshal(data, &ops); err != nil {
		return nil, fmt.Errorf("ledger: journal entry %d: %w", e.Seq, err)
	}
	return ops, nil
}

// encodeState writes a snapshot: the state in gob, compressed with zstd.
func encodeState(w io.Writer, st *State) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(zw).Encode(st); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// decodeState reads a snapshot written by encodeState.
func decodeState(b []byte) (*State, error) {
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	st := &State{} // not NewState: init must rebuild the indexes from what was decoded
	if err := gob.NewDecoder(zr).Decode(st); err != nil {
		return nil, fmt.Errorf("ledger: snapshot: %w", err)
	}
	st.init()
	return st, nil
}

// applyEntry replays one journal entry onto st.
func applyEntry(st *State, e Entry) error {
	if e.Seq != st.Seq+1 {
		return fmt.Errorf("ledger: journal entry %d follows %d: the journal has a gap", e.Seq, st.Seq)
	}
	ops, err := DecodeOps(e)
	if err != nil {
		return err
	}
	for i := range ops {
		if err := st.Apply(&ops[i], e.Seq); err != nil {
			return fmt.Errorf("ledger: replay of entry %d, op %d (%s): %w", e.Seq, i, ops[i].Type, err)
		}
	}
	st.Seq = e.Seq
	return nil
}

// Rebuild returns the state the journal describes: from the newest snapshot and the
// entries after it, or, without useSnapshot, from every entry since the first.
func Rebuild(ctx context.Context, j Journal, useSnapshot bool) (*State, error) {
	st, _, err := RebuildMeasured(ctx, j, useSnapshot)
	return st, err
}

// RebuildInfo says where a rebuild's time went.
type RebuildInfo struct {
	SnapshotSeq   int64
	SnapshotBytes int
	SnapshotTook  time.Duration // reading and decoding the snapshot
	TailEntries   int
	TailOps       int
	Took          time.Duration // all of it
}

// RebuildMeasured is Rebuild, saying where the time went (for make bench).
func RebuildMeasured(ctx context.Context, j Journal, useSnapshot bool) (*State, RebuildInfo, error) {
	start := time.Now()
	r, err := rebuild(ctx, j, useSnapshot)
	return r.st, RebuildInfo{SnapshotSeq: r.snapSeq, SnapshotBytes: len(r.snap), SnapshotTook: r.took,
		TailEntries: len(r.tail), TailOps: r.tailOps, Took: time.Since(start)}, err
}

type rebuilt struct {
	st      *State
	snap    []byte
	snapSeq int64
	tail    []Entry
	tailOps int
	took    time.Duration // reading and decoding the snapshot
}

func rebuild(ctx context.Context, j Journal, useSnapshot bool) (rebuilt, error) {
	start := time.Now()
	r := rebuilt{st: NewState()}
	if useSnapshot {
		info, rc, err := j.LatestSnapshot(ctx)
		switch {
		case err == nil:
			r.snap, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return r, fmt.Errorf("ledger: read snapshot: %w", err)
			}
			if r.st, err = decodeState(r.snap); err != nil {
				return r, err
			}
			if r.st.Seq != info.Seq {
				return r, fmt.Errorf("ledger: snapshot %d holds the state after entry %d", info.Seq, r.st.Seq)
			}
			r.snapSeq = info.Seq
		case errors.Is(err, ErrNoSnapshot):
		default:
			return r, fmt.Errorf("ledger: %w", err)
		}
	}
	r.took = time.Since(start)
	err := j.Since(ctx, r.st.Seq, func(e Entry) error {
		r.tail = append(r.tail, e)
		r.tailOps += e.N
		return applyEntry(r.st, e)
	})
	return r, err
}

// load rebuilds the state from the newest snapshot and the journal after it.
func (l *Ledger) load(ctx context.Context) error {
	start := time.Now()
	r, err := rebuild(ctx, l.cfg.Journal, true)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.st = r.st
	l.mu.Unlock()
	l.committed.Store(r.st.Seq)
	l.log.Info("state loaded", "seq", r.st.Seq, "snapshot", r.snapSeq, "snapshot_bytes", len(r.snap),
		"snapshot_ms", r.took.Milliseconds(), "tail_entries", len(r.tail), "tail_ops", r.tailOps,
		"accounts", len(r.st.Accounts), "ms", time.Since(start).Milliseconds())
	l.shadow.reset(r.snap, r.tail, r.tailOps)
	return nil
}

// shadow is a second copy of the state that follows the journal only — it applies
// each entry once it is durable, decoded from its JSON like a replay would — and
// writes snapshots of itself, so snapshots never pause the writer. It also checks,
// all the time, that the journal replays.
type shadow struct {
	l       *Ledger
	applyMu sync.Mutex // one catch-up at a time
	mu      sync.Mutex
	queue   []Entry
	force   bool
	last    time.Time // when the last snapshot was written
	wake    chan struct{}
	gen     int // bumped by reset: a new base
	base    []byte
	since   int // ops applied since the last snapshot
	st      *State
	stopped chan struct{}
	stop    chan struct{}
	started bool
	err     error
}

func newShadow(l *Ledger) *shadow {
	return &shadow{l: l, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// reset restarts the shadow from a snapshot (nil: empty state) and the entries after it.
func (s *shadow) reset(snap []byte, tail []Entry, tailOps int) {
	s.mu.Lock()
	s.gen++
	s.base = snap
	s.st = nil
	s.queue = append([]Entry(nil), tail...)
	s.since = 0
	// A long tail is snapshotted as soon as the shadow caught up, so the next start
	// is fast; a short one counts towards the next periodic snapshot.
	s.force = tailOps >= s.l.cfg.SnapshotEvery/4
	if !s.started {
		s.started = true
		go s.run()
	}
	s.mu.Unlock()
	s.signal()
}

func (s *shadow) add(e Entry) {
	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	s.signal()
}

func (s *shadow) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *shadow) run() {
	defer close(s.stopped)
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
		s.catchUp()
	}
}

// catchUp applies what is queued and snapshots when enough has changed.
func (s *shadow) catchUp() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	if s.st == nil {
		st := NewState()
		if s.base != nil {
			var err error
			if st, err = decodeState(s.base); err != nil {
				s.fail(err)
				s.mu.Unlock()
				return
			}
		}
		s.st, s.base = st, nil
	}
	queue := s.queue
	s.queue = nil
	st, gen := s.st, s.gen
	s.mu.Unlock()

	n := 0
	for _, e := range queue {
		if e.Seq <= st.Seq {
			continue
		}
		if err := applyEntry(st, e); err != nil {
			s.fail(err)
			return
		}
		n += e.N
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return
	}
	s.since += n
	due := s.since >= s.l.cfg.SnapshotEvery && time.Since(s.last) >= s.l.cfg.SnapshotMinInterval
	if due || (s.force && len(s.queue) == 0) {
		if err := s.write(st); err == nil {
			s.since, s.force = 0, false
		}
	}
}

func (s *shadow) fail(err error) {
	s.err = err
	s.l.log.Error("the journal does not replay; snapshots stopped", "err", err)
}

// write stores a snapshot of st (called with s.mu held: the shadow does not move).
func (s *shadow) write(st *State) error {
	start := time.Now()
	var buf bytes.Buffer
	if err := encodeState(&buf, st); err != nil {
		s.l.log.Error("snapshot encode failed", "err", err)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.l.cfg.Journal.WriteSnapshot(ctx, st.Seq, &buf); err != nil {
		s.l.log.Error("snapshot write failed", "seq", st.Seq, "err", err)
		return err
	}
	s.l.log.Info("snapshot written", "seq", st.Seq, "ms", time.Since(start).Milliseconds())
	s.last = time.Now()
	return nil
}

// close catches up with everything durable, writes a last snapshot if anything
// changed since the previous one, and stops.
func (s *shadow) close(ctx context.Context) {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	close(s.stop)
	<-s.stopped
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil && s.since > 0 && s.err == nil {
		s.write(s.st)
	}
}

// Snapshot writes a snapshot of everything durable now (for tests and the admin CLI).
func (l *Ledger) Snapshot(ctx context.Context) error {
	s := l.shadow
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.st == nil {
		return errors.New("ledger: no state yet")
	}
	if err := s.write(s.st); err != nil {
		return err
	}
	s.since, s.force = 0, false
	return nil
}

// ReplayErr catches the shadow up with everything durable and returns the error that
// stopped it, if the journal failed to replay: tests call it to prove determinism.
func (l *Ledger) ReplayErr() error {
	l.shadow.catchUp()
	l.shadow.mu.Lock()
	defer l.shadow.mu.Unlock()
	return l.shadow.err
}
