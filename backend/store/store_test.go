package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/backend/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// backend opens a fresh, empty store for one test.
type backend struct {
	name string
	open func(tb testing.TB) *store.Store
}

// backends are every server the contract runs against: the embedded one always, a
// standalone FerretDB process through its URI always, and MONGODB_URI when set.
func backends(t *testing.T) []backend {
	bs := []backend{
		{"Embedded", func(tb testing.TB) *store.Store { return MustOpenStore(tb, store.Config{DataDir: tb.TempDir()}) }},
		{"External", func(tb testing.TB) *store.Store {
			return MustOpenStore(tb, store.Config{URI: storetest.StartExternal(tb), Database: uniqueDB()})
		}},
	}
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		bs = append(bs, backend{"MONGODB_URI", func(tb testing.TB) *store.Store {
			return MustOpenStore(tb, store.Config{URI: uri, Database: uniqueDB()})
		}})
	}
	return bs
}

var dbN atomic.Int64

func uniqueDB() string { return fmt.Sprintf("contract_%d_%d", time.Now().UnixNano(), dbN.Add(1)) }

func MustOpenStore(tb testing.TB, cfg store.Config) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func entry(seq int64, ops string) ledger.Entry {
	return ledger.Entry{Seq: seq, Epoch: 1, At: time.Now().UTC().Truncate(time.Millisecond), N: 1, Codec: "test", Ops: []byte(ops)}
}

func readAll(t *testing.T, s *store.Store, after int64) []ledger.Entry {
	t.Helper()
	var got []ledger.Entry
	if err := s.Since(context.Background(), after, func(e ledger.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestContract is the store contract: every backend must pass every case.
func TestContract(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range contractCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b.open(t)) })
			}
		})
	}
}

var contractCases = []struct {
	name string
	run  func(t *testing.T, s *store.Store)
}{
	{"AppendThenReadInOrder", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Appended out of order across calls, read back in sequence order.
		if err := s.Append(ctx, []ledger.Entry{entry(1, `["a"]`), entry(2, `["b"]`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, []ledger.Entry{entry(3, `["c"]`)}); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s, 0)
		if len(got) != 3 || string(got[0].Ops) != `["a"]` || string(got[2].Ops) != `["c"]` || got[1].Seq != 2 {
			t.Fatalf("got %+v", got)
		}
		if tail := readAll(t, s, 2); len(tail) != 1 || tail[0].Seq != 3 {
			t.Fatalf("since 2: got %+v", tail)
		}
	}},
	{"DuplicateSequenceIsConflictAndStopsThere", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Append(ctx, []ledger.Entry{entry(1, `["first"]`)}); err != nil {
			t.Fatal(err)
		}
		err := s.Append(ctx, []ledger.Entry{entry(1, `["second"]`), entry(2, `["after"]`)})
		if !errors.Is(err, ledger.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
		got := readAll(t, s, 0)
		if len(got) != 1 || string(got[0].Ops) != `["first"]` {
			t.Fatalf("a conflicting append changed the journal: %+v", got)
		}
	}},
	{"ConcurrentWritersOfOneSequenceExactlyOneWins", func(t *testing.T, s *store.Store) {
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Append(context.Background(), []ledger.Entry{entry(7, fmt.Sprintf(`["w%d"]`, i))})
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ledger.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d writers appended entry 7, want 1", wins.Load())
		}
	}},
	{"SnapshotRoundTripsAcrossChunks", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, _, err := s.LatestSnapshot(ctx); !errors.Is(err, ledger.ErrNoSnapshot) {
			t.Fatalf("empty store: got %v, want ErrNoSnapshot", err)
		}
		data := make([]byte, 9<<20+123) // three chunks
		rand.Read(data)
		if err := s.WriteSnapshot(ctx, 42, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		info, r, err := s.LatestSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, _ := io.ReadAll(r)
		if info.Seq != 42 || info.Size != int64(len(data)) || !bytes.Equal(got, data) {
			t.Fatalf("snapshot seq %d size %d, equal %v", info.Seq, info.Size, bytes.Equal(got, data))
		}
	}},
	{"LatestSnapshotIsTheNewestAndOldOnesAreDropped", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, seq := range []int64{10, 30, 20, 40} {
			if err := s.WriteSnapshot(ctx, seq, bytes.NewReader([]byte(fmt.Sprint(seq)))); err != nil {
				t.Fatal(err)
			}
		}
		info, r, err := s.LatestSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if info.Seq != 40 || string(got) != "40" {
			t.Fatalf("latest = %d %q, want 40", info.Seq, got)
		}
	}},
	{"LeaseEpochIsTakenByExactlyOne", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cur, err := s.Current(ctx)
		if err != nil || cur.Epoch != 0 {
			t.Fatalf("fresh store: lease %+v, %v", cur, err)
		}
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Acquire(ctx, ledger.Lease{Epoch: 1, Holder: fmt.Sprint("i", i), At: time.Now()})
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ledger.ErrLeaseTaken) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d instances took epoch 1, want 1", wins.Load())
		}
	}},
	{"RenewFailsOnceANewerEpochExists", func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mine := ledger.Lease{Epoch: 1, Holder: "a", Addr: "http://a"}
		if err := s.Acquire(ctx, mine); err != nil {
			t.Fatal(err)
		}
		renewed, err := s.Renew(ctx, mine)
		if err != nil || renewed.Beat != 1 {
			t.Fatalf("renew: %+v, %v", renewed, err)
		}
		if err := s.Acquire(ctx, ledger.Lease{Epoch: 2, Holder: "b"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Renew(ctx, renewed); !errors.Is(err, ledger.ErrLeaseTaken) {
			t.Fatalf("renew after takeover: %v, want ErrLeaseTaken", err)
		}
		cur, _ := s.Current(ctx)
		if cur.Holder != "b" || cur.Epoch != 2 {
			t.Fatalf("current = %+v", cur)
		}
	}},
}

func TestEmbeddedDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, []ledger.Entry{entry(1, `["kept"]`)}); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	// Opening again creates the indexes again (a no-op) and finds the entry.
	s = MustOpenStore(t, store.Config{DataDir: dir})
	if got := readAll(t, s, 0); len(got) != 1 || string(got[0].Ops) != `["kept"]` {
		t.Fatalf("after reopen: %+v", got)
	}
}

func TestEmbeddedSocketIsPrivate(t *testing.T) {
	dir := t.TempDir()
	s := MustOpenStore(t, store.Config{DataDir: dir})
	fi, err := os.Stat(dir + "/run")
	if err != nil {
		t.Fatalf("no socket directory in the data dir: %v", err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode %v, want 0700", fi.Mode().Perm())
	}
	if s.URI() == "" || bytes.Contains([]byte(s.URI()), []byte("127.0.0.1")) {
		t.Fatalf("embedded URI %q, want a unix socket", s.URI())
	}
}
