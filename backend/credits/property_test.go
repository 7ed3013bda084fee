package credits

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// model is a deliberately simple reference for the rules of this package: lots as
// plain records, holds as per-lot reservations, everything recomputed from scratch
// at every step. The property test checks Account against it after every operation.
type model struct {
	lots      []*mLot
	holds     map[string]*mHold
	allowance int64
	granted   map[time.Time]int // days whose allowance was granted, and how often
	spent     int64
}

type mLot struct {
	id              string
	credits, left   int64 // left includes reserved
	added, expires  time.Time
	reserved        map[string]int64 // hold id → credits
	expiredAt, lost int64            // lost: credits that expired unspent
	expired         bool
}

type mHold struct {
	expires time.Time
	total   int64
}

func newModel(allowance int64) *model {
	return &model{holds: map[string]*mHold{}, allowance: allowance, granted: map[time.Time]int{}}
}

func (m *model) sorted() []*mLot {
	s := slices.Clone(m.lots)
	slices.SortFunc(s, func(a, b *mLot) int {
		if c := a.expires.Compare(b.expires); c != 0 {
			return c
		}
		if c := a.added.Compare(b.added); c != 0 {
			return c
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	return s
}

func (m *model) free(l *mLot) int64 {
	f := l.left
	for _, r := range l.reserved {
		f -= r
	}
	return f
}

func (m *model) tick(t time.Time) {
	for id, h := range m.holds {
		if !t.Before(h.expires) {
			m.end(id, 0)
		}
	}
	for _, l := range m.lots {
		if !l.expired && !t.Before(l.expires) {
			l.expired = true
			l.lost += m.free(l)
			l.left -= m.free(l)
		}
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if m.allowance > 0 && m.granted[day] == 0 {
		m.granted[day]++
		m.lots = append(m.lots, &mLot{id: "daily:" + day.Format(time.DateOnly), credits: m.allowance, left: m.allowance,
			added: day, expires: day.Add(24 * time.Hour), reserved: map[string]int64{}})
	}
}

func (m *model) balance() int64 {
	var b int64
	for _, l := range m.lots {
		b += m.free(l)
	}
	return b
}

func (m *model) spend(n int64) bool {
	if n <= 0 || m.balance() < n {
		return false
	}
	m.spent += n
	for _, l := range m.sorted() {
		take := min(m.free(l), n)
		l.left -= take
		n -= take
	}
	return true
}

func (m *model) reserve(id string, n int64, expires time.Time) bool {
	if n <= 0 || m.balance() < n {
		return false
	}
	m.holds[id] = &mHold{expires: expires, total: n}
	for _, l := range m.sorted() {
		if take := min(m.free(l), n); take > 0 {
			l.reserved[id] = take
			n -= take
		}
	}
	return true
}

func (m *model) end(id string, captured int64) {
	for _, l := range m.sorted() {
		r, ok := l.reserved[id]
		if !ok {
			continue
		}
		delete(l.reserved, id)
		use := min(r, captured)
		captured -= use
		l.left -= use
		if l.expired {
			l.left -= r - use
			l.lost += r - use
		}
	}
	delete(m.holds, id)
}

// TestAccountMatchesReferenceModel runs random sequences of add, charge, hold,
// capture, release and clock moves across midnights, and after every step checks the
// account against the model and against the rules: the balance is never negative,
// credits are conserved, the soonest expiry is spent first, expired credits are never
// spent, and the daily allowance is granted exactly once per day.
func TestAccountMatchesReferenceModel(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runProperty(t, seed) })
	}
}

func runProperty(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed*7919))
	allowance := []int64{0, 0, 50, 1000}[r.IntN(4)]
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(86400)) * time.Second)
	a := &Account{Allowance: allowance}
	m := newModel(allowance)
	var added, lotN, holdN int64
	var holds []string

	for step := 0; step < 250; step++ {
		// The clock moves forward by up to two days, often across midnight.
		switch r.IntN(5) {
		case 0:
			now = now.Add(time.Duration(r.IntN(48*3600)) * time.Second)
		case 1:
			now = NextRenewal(now).Add(-time.Duration(r.IntN(3)) * time.Second)
		default:
			now = now.Add(time.Duration(r.IntN(600)) * time.Second)
		}
		before := snapshot(a)
		a.Advance(now)
		m.tick(now)
		checkExpiredUntouched(t, before, a, now)
		before = snapshot(a)

		op := r.IntN(10)
		switch {
		case op < 3: // add a lot, sometimes with the same expiry as another
			lotN++
			n := int64(1 + r.IntN(5000))
			at := now.Add(-time.Duration(r.IntN(40*86400)) * time.Second) // back-dated lots expire at various times
			l := &Lot{ID: fmt.Sprintf("lot%03d", lotN), Source: SourceGrant, Credits: n, AddedAt: at}
			a.AddLot(l)
			m.lots = append(m.lots, &mLot{id: l.ID, credits: n, left: n, added: at, expires: ExpiryFor(at), reserved: map[string]int64{}})
			added += n
			if !l.ExpiresAt.Equal(ExpiryFor(at)) {
				t.Fatalf("step %d: lot expires %v, want %v", step, l.ExpiresAt, ExpiryFor(at))
			}
			// A lot back-dated past its expiry is expired by the next Advance.
			a.Advance(now)
			m.tick(now)
		case op < 6:
			n := int64(1 + r.IntN(3000))
			err := a.Charge(n, now)
			ok := m.spend(n)
			if (err == nil) != ok {
				t.Fatalf("step %d: charge %d: account err=%v, model ok=%v", step, n, err, ok)
			}
			if err != nil && !errors.Is(err, ErrInsufficient) {
				t.Fatalf("step %d: charge: %v", step, err)
			}
			if err == nil {
				checkSoonestFirst(t, before, a)
			}
		case op < 8:
			holdN++
			id := fmt.Sprintf("h%d", holdN)
			n := int64(1 + r.IntN(2000))
			exp := now.Add(time.Duration(1+r.IntN(7200)) * time.Second)
			_, err := a.Reserve(id, n, now, exp)
			ok := m.reserve(id, n, exp)
			if (err == nil) != ok {
				t.Fatalf("step %d: hold %d: account err=%v, model ok=%v", step, n, err, ok)
			}
			if ok {
				holds = append(holds, id)
			}
		default:
			if len(holds) == 0 {
				continue
			}
			i := r.IntN(len(holds))
			id := holds[i]
			holds = slices.Delete(holds, i, i+1)
			mh, open := m.holds[id]
			if r.IntN(2) == 0 {
				var n int64
				if open {
					n = r.Int64N(mh.total + 1)
				}
				_, err := a.Capture(id, n, now)
				if open != (err == nil) {
					t.Fatalf("step %d: capture %s: err=%v, model open=%v", step, id, err, open)
				}
				if open {
					m.end(id, n)
					m.spent += n
				}
			} else {
				_, err := a.Release(id, now)
				if open != (err == nil) {
					t.Fatalf("step %d: release %s: err=%v, model open=%v", step, id, err, open)
				}
				if open {
					m.end(id, 0)
				}
			}
		}

		// The account and the model agree on every lot and on the balance.
		if got, want := a.Balance(), m.balance(); got != want {
			t.Fatalf("step %d: balance %d, model %d", step, got, want)
		}
		if a.Balance() < 0 {
			t.Fatalf("step %d: negative balance %d", step, a.Balance())
		}
		var held int64
		for _, h := range m.holds {
			held += h.total
		}
		if got := a.HeldCredits(); got != held {
			t.Fatalf("step %d: held %d, model %d", step, got, held)
		}
		for _, ml := range m.lots {
			l := a.Lot(ml.id)
			if l == nil || l.Remaining != ml.left || l.Expired != ml.expired || l.ExpiredCredits != ml.lost {
				t.Fatalf("step %d: lot %s = %+v, model left=%d expired=%v lost=%d", step, ml.id, l, ml.left, ml.expired, ml.lost)
			}
		}
		// Conservation: every credit added is remaining, spent or expired.
		var remaining, expired, granted int64
		for _, l := range a.Lots {
			remaining += l.Remaining
			expired += l.ExpiredCredits
			if l.Source == SourceDaily {
				granted += l.Credits
			}
		}
		if remaining+a.Used+expired != added+granted {
			t.Fatalf("step %d: remaining %d + used %d + expired %d != added %d + allowances %d",
				step, remaining, a.Used, expired, added, granted)
		}
		for day, n := range m.granted {
			if n != 1 || (a.Lot("daily:"+day.Format(time.DateOnly)) == nil) {
				t.Fatalf("step %d: allowance of %v granted %d times", step, day, n)
			}
		}
	}
}

type lotState struct {
	remaining, held int64
	expires         time.Time
	expired         bool
}

func snapshot(a *Account) map[string]lotState {
	s := map[string]lotState{}
	for _, l := range a.Lots {
		s[l.ID] = lotState{l.Remaining, l.Held, l.ExpiresAt, l.Expired}
	}
	return s
}

// checkSoonestFirst: after a charge, any lot that lost credits comes after every lot
// that still has free credits in the spending order.
func checkSoonestFirst(t *testing.T, before map[string]lotState, a *Account) {
	t.Helper()
	for i, l := range a.Lots {
		if before[l.ID].remaining == l.Remaining {
			continue
		}
		if before[l.ID].expired {
			t.Fatalf("expired lot %s was spent: %d → %d", l.ID, before[l.ID].remaining, l.Remaining)
		}
		for _, earlier := range a.Lots[:i] {
			if earlier.Free() > 0 {
				t.Fatalf("lot %s (expires %v) spent while %s (expires %v) still had %d free",
					l.ID, l.ExpiresAt, earlier.ID, earlier.ExpiresAt, earlier.Free())
			}
		}
	}
}

// checkExpiredUntouched: moving the clock never spends; it only expires what was free.
func checkExpiredUntouched(t *testing.T, before map[string]lotState, a *Account, now time.Time) {
	t.Helper()
	for _, l := range a.Lots {
		b, ok := before[l.ID]
		if !ok {
			continue
		}
		if !now.Before(l.ExpiresAt) && l.Remaining != l.Held {
			t.Fatalf("lot %s past expiry still counts %d free credits", l.ID, l.Free())
		}
		if b.expired && b.remaining < l.Remaining {
			t.Fatalf("expired lot %s grew", l.ID)
		}
	}
}
