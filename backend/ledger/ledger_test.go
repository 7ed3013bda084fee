package ledger_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/store"
	"github.com/aispace/credits/backend/store/storetest"
	"github.com/aispace/credits/shared"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Clock is a settable clock for tests about days.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func NewClock(s string) *Clock {
	t, _ := time.Parse(time.RFC3339, s)
	return &Clock{t: t}
}

func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *Clock) Set(s string)   { c.mu.Lock(); c.t, _ = time.Parse(time.RFC3339, s); c.mu.Unlock() }
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func MustOpenStore(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func MustOpenLedger(tb testing.TB, s *store.Store, cfg ledger.Config) *ledger.Ledger {
	tb.Helper()
	tb.Helper()
	cfg.Journal = s
	l, err := ledger.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// Every test is also a test of determinism: what was journaled replays, to
		// exactly the live state.
		if l.Writing() {
			if err := l.ReplayErr(); err != nil {
				tb.Errorf("the journal does not replay: %v", err)
			}
			var live []byte
			l.Read(func(s *ledger.State) { live = canonical(s) })
			st, err := ledger.Rebuild(context.Background(), s, false)
			if err != nil {
				tb.Errorf("rebuild: %v", err)
			} else if got := canonical(st); !bytes.Equal(got, live) {
				tb.Errorf("the state rebuilt from the journal differs from the live state:\n%s", firstDiff(live, got))
			}
		}
		l.Close(context.Background())
	})
	return l
}

// canonical is a state in a comparable form: through gob (which makes empty maps and
// slices nil on both sides), then JSON (which sorts map keys).
func canonical(s *ledger.State) []byte {
	var g bytes.Buffer
	if err := gob.NewEncoder(&g).Encode(s); err != nil {
		panic(err)
	}
	var c ledger.State
	gob.NewDecoder(&g).Decode(&c)
	c.Seq = 0 // the live state counts applied entries only at load
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		panic(err)
	}
	return b
}

var testKeys = func() *keys.Keyring {
	k, _ := keys.New(keys.Secrets{HMAC: make([]byte, 32), Master: bytes.Repeat([]byte{1}, 32)})
	return k
}()

// MustAccount opens an account with a fresh key and credits, returning the key hash.
func MustAccount(tb testing.TB, l *ledger.Ledger, id string, n int64) keys.Hash {
	tb.Helper()
	key := testKeys.NewKey()
	h := testKeys.Hash(key)
	if err := l.OpenAccount(context.Background(), id, ledger.KeyOp{Hash: h, Sealed: testKeys.Seal(key, id), Hint: shared.KeyHint(key)}, "", nil); err != nil {
		tb.Fatal(err)
	}
	if n > 0 {
		if _, err := l.Grant(context.Background(), id, n, credits.SourceGrant, "", nil); err != nil {
			tb.Fatal(err)
		}
	}
	return h
}

func balance(tb testing.TB, l *ledger.Ledger, id string) int64 {
	tb.Helper()
	v, err := l.AccountView(id, l.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return v.Balance
}

func TestConcurrentChargesNeverOverspend(t *testing.T) {
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{})
	const n = 100
	key := MustAccount(t, l, "acct_a", n*25)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 2*n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: fmt.Sprint("c", i), Credits: 25})
			switch credits.ErrorCode(err) {
			case shared.CodeInternal:
				if err == nil {
					ok.Add(1)
					return
				}
				t.Error(err)
			case shared.CodeInsufficientCredits:
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != n || refused.Load() != n {
		t.Fatalf("%d charges succeeded and %d were refused, want %d and %d", ok.Load(), refused.Load(), n, n)
	}
	if b := balance(t, l, "acct_a"); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
}

func TestOneIdempotencyKeyChargesOnce(t *testing.T) {
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{})
	key := MustAccount(t, l, "acct_a", 1000)
	answers := make([]ledger.Usage, 50)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "same", Service: "chat:small", Credits: 30})
			if err != nil {
				t.Error(err)
			}
			answers[i] = u
		}()
	}
	wg.Wait()
	for _, u := range answers {
		if u.ID == "" || u.ID != answers[0].ID || u.Balance != 970 {
			t.Fatalf("answers differ: %+v vs %+v", u, answers[0])
		}
	}
	if b := balance(t, l, "acct_a"); b != 970 {
		t.Fatalf("balance %d, want 970 (one debit)", b)
	}
	// The same key for a different request is a conflict, not the first answer.
	_, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "same", Service: "chat:small", Credits: 31})
	if credits.ErrorCode(err) != shared.CodeConflict {
		t.Fatalf("reused key for another charge: %v, want conflict", err)
	}
}

func TestConcurrentCapturesOfOneHoldCaptureOnce(t *testing.T) {
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{})
	key := MustAccount(t, l, "acct_a", 1000)
	h, err := l.Hold(context.Background(), ledger.HoldRequest{Key: key, Idem: "h1", Credits: 400, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var okN, conflict atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half of them capture 100, half 200: exactly one capture wins, the repeats
			// of the winning amount get its answer, the others a conflict.
			_, err := l.Capture(context.Background(), h.ID, int64(100*(1+i%2)), "", nil)
			if err == nil {
				okN.Add(1)
			} else if credits.ErrorCode(err) == shared.CodeConflict {
				conflict.Add(1)
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b := balance(t, l, "acct_a")
	if b != 900 && b != 800 {
		t.Fatalf("balance %d: captured more than once", b)
	}
	if okN.Load() != 10 || conflict.Load() != 10 {
		t.Fatalf("%d ok, %d conflicts; want 10 and 10", okN.Load(), conflict.Load())
	}
}

func TestRevokedOrRotatedKeyStopsAtOnce(t *testing.T) {
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{})
	old := MustAccount(t, l, "acct_a", 1000)
	key := testKeys.NewKey()
	if err := l.RotateKey(context.Background(), "acct_a", ledger.KeyOp{Hash: testKeys.Hash(key), Hint: shared.KeyHint(key)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: old, Idem: "x", Credits: 1}); credits.ErrorCode(err) != shared.CodeUnauthorized {
		t.Fatalf("old key after rotation: %v, want unauthorized", err)
	}
	if _, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: testKeys.Hash(key), Idem: "y", Credits: 1}); err != nil {
		t.Fatalf("new key: %v", err)
	}
	l.SetStatus(context.Background(), "acct_a", ledger.StatusSuspended, "dispute", "", nil)
	if _, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: testKeys.Hash(key), Idem: "z", Credits: 1}); credits.ErrorCode(err) != shared.CodeForbidden {
		t.Fatalf("suspended key: %v, want forbidden", err)
	}
}

func TestAllowanceAppearsAtMidnightWithoutAnyWrite(t *testing.T) {
	clock := NewClock("2026-05-01T23:59:59Z")
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{Clock: clock.Now, Tiers: map[string]int64{"default": 500}})
	key := MustAccount(t, l, "acct_a", 0)
	if _, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "a", Credits: 200}); err != nil {
		t.Fatal(err)
	}
	seq := l.Committed()
	clock.Set("2026-05-02T00:00:00Z")
	v, _ := l.AccountView("acct_a", l.Now())
	if v.Balance != 500 || v.SpentToday != 0 || v.NextRenewalAt != "2026-05-03T00:00:00Z" {
		t.Fatalf("at 0:00:00: %+v", v)
	}
	if l.Committed() != seq {
		t.Fatal("reading the account wrote to the journal")
	}
}

// TestJournalReplaysToTheSameState drives a random workload across midnights with an
// injected clock, then rebuilds the state from the journal alone — once with no
// snapshot, once from a snapshot taken midway — and compares them with the live one.
func TestJournalReplaysToTheSameState(t *testing.T) {
	dir := t.TempDir()
	s := MustOpenStore(t, dir)
	clock := NewClock("2026-03-01T22:00:00Z")
	l, err := ledger.Open(context.Background(), ledger.Config{Journal: s, Clock: clock.Now, Tiers: map[string]int64{"default": 100}})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	var ks []keys.Hash
	for i := 0; i < 20; i++ {
		ks = append(ks, MustAccount(t, l, fmt.Sprint("acct_", i), int64(r.IntN(5000))))
	}
	var holds []string
	for step := 0; step < 2000; step++ {
		clock.Add(time.Duration(r.IntN(300)) * time.Second)
		k := ks[r.IntN(len(ks))]
		switch r.IntN(6) {
		case 0, 1, 2:
			l.Charge(ctx, ledger.ChargeRequest{Key: k, Idem: fmt.Sprint("c", step), Credits: int64(1 + r.IntN(300))})
		case 3:
			if h, err := l.Hold(ctx, ledger.HoldRequest{Key: k, Idem: fmt.Sprint("h", step), Credits: int64(1 + r.IntN(300)), TTL: time.Duration(1+r.IntN(900)) * time.Second}); err == nil {
				holds = append(holds, h.ID)
			}
		case 4:
			if len(holds) > 0 {
				l.Capture(ctx, holds[r.IntN(len(holds))], int64(r.IntN(100)), "", nil)
			}
		case 5:
			l.Grant(ctx, fmt.Sprint("acct_", r.IntN(20)), int64(r.IntN(1000)+1), credits.SourceGrant, "", nil)
		}
		if step == 1000 {
			if err := l.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	live := encode(t, l)
	for _, useSnapshot := range []bool{true, false} {
		st, err := ledger.Rebuild(ctx, s, useSnapshot)
		if err != nil {
			t.Fatal(err)
		}
		if st.Seq != l.Committed() || st.Seq < 100 {
			t.Fatalf("rebuilt to entry %d, committed %d", st.Seq, l.Committed())
		}
		if got := encodeState(st); !bytes.Equal(got, live) {
			t.Fatalf("state rebuilt (snapshot %v) differs from the live state:\n%s", useSnapshot, firstDiff(live, got))
		}
	}
	l.Close(ctx)
	// And from the snapshot written at the clean shutdown.
	l2 := MustOpenLedger(t, s, ledger.Config{Clock: clock.Now, Tiers: map[string]int64{"default": 100}})
	if got := encode(t, l2); !bytes.Equal(got, live) {
		t.Fatalf("state after restart differs from the live state:\n%s", firstDiff(live, got))
	}
}

// encode is the state in a canonical form to compare (gob sorts nothing, so the maps
// are compared through their fields).
func encode(t *testing.T, l *ledger.Ledger) []byte {
	t.Helper()
	var b []byte
	l.Read(func(s *ledger.State) { b = encodeState(s) })
	return b
}

func encodeState(s *ledger.State) []byte {
	var out bytes.Buffer
	{
		fmt.Fprintf(&out, "accounts=%d charges=%d holds=%d done=%d day=%v\n", len(s.Accounts), len(s.Accounts), len(s.Holds), len(s.Done), s.Day)
		for i := 0; i < len(s.Accounts); i++ {
			// Through gob first, which makes empty slices and maps nil on both sides.
			var g bytes.Buffer
			gob.NewEncoder(&g).Encode(s.Accounts[fmt.Sprint("acct_", i)])
			var a ledger.Account
			gob.NewDecoder(&g).Decode(&a)
			b, _ := json.MarshalIndent(a, "", " ")
			out.Write(b)
		}
	}
	return out.Bytes()
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			lo := max(0, i-8)
			return fmt.Sprintf("line %d:\nlive:   %s\nreplay: %s\ncontext:\n%s", i, al[i], bl[i], strings.Join(al[lo:i+1], "\n"))
		}
	}
	return fmt.Sprintf("lengths %d vs %d", len(al), len(bl))
}

func TestErrNotWriterWhenClosed(t *testing.T) {
	l := MustOpenLedger(t, MustOpenStore(t, t.TempDir()), ledger.Config{})
	key := MustAccount(t, l, "acct_a", 10)
	l.Close(context.Background())
	_, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "late", Credits: 1})
	if !errors.Is(err, ledger.ErrNotWriter) {
		t.Fatalf("charge after close: %v, want ErrNotWriter", err)
	}
}

// TestChargeRepeatedAfterRestartGetsTheFirstAnswer: the idempotency index is not in
// snapshots (it would double their size); it must be rebuilt when one is loaded.
func TestChargeRepeatedAfterRestartGetsTheFirstAnswer(t *testing.T) {
	s := MustOpenStore(t, t.TempDir())
	l, err := ledger.Open(context.Background(), ledger.Config{Journal: s})
	if err != nil {
		t.Fatal(err)
	}
	key := MustAccount(t, l, "acct_a", 1000)
	first, err := l.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "once", Credits: 300})
	if err != nil {
		t.Fatal(err)
	}
	l.Close(context.Background()) // writes a snapshot: the restart loads from it
	l2 := MustOpenLedger(t, s, ledger.Config{})
	again, err := l2.Charge(context.Background(), ledger.ChargeRequest{Key: key, Idem: "once", Credits: 300})
	if err != nil || again.ID != first.ID || again.Balance != 700 || balance(t, l2, "acct_a") != 700 {
		t.Fatalf("repeat after restart: %+v, %v; balance %d; want the first answer and one debit", again, err, balance(t, l2, "acct_a"))
	}
}

func TestUsageLogRoundTripsThroughItsEncoding(t *testing.T) {
	in := ledger.UsageLog{
		{ID: "ch_1", Kind: ledger.UsageCharge, Service: "chat:small", Units: "input_tokens=1200 output_tokens=3", Credits: 54, At: 1_700_000_000_123_456_789, Idem: "a", FP: 1 << 63, Balance: 946},
		{ID: "hold_2", Kind: ledger.UsageCapture, Service: "chat:small", Credits: 1, At: 1, Idem: "b", Balance: -5},
		{ID: "ch_3", Kind: ledger.UsageCharge, Service: "", Units: "input_tokens=1200 output_tokens=3", Credits: 0, Idem: ""},
	}
	b, err := in.GobEncode()
	if err != nil {
		t.Fatal(err)
	}
	var out ledger.UsageLog
	if err := out.GobDecode(b); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	for cut := 0; cut < len(b); cut++ { // a damaged snapshot is an error, never a panic
		var damaged ledger.UsageLog
		if err := damaged.GobDecode(b[:cut]); err == nil && cut > 0 {
			t.Fatalf("a log cut at %d of %d bytes decoded", cut, len(b))
		}
	}
}
