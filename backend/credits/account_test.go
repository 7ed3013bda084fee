package credits

import (
	"errors"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestExpiryFor(t *testing.T) {
	for _, tc := range []struct{ added, want string }{
		// 23:59:59 on Jan 1 → 0:00 on Feb 1, 31 days after the day it was added.
		{"2026-01-01T23:59:59Z", "2026-02-01T00:00:00Z"},
		{"2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"},
		{"2026-01-01T00:00:01Z", "2026-02-01T00:00:00Z"},
		{"2026-02-27T12:00:00Z", "2026-03-30T00:00:00Z"},
		{"2026-12-15T08:30:00+05:00", "2027-01-15T00:00:00Z"},
	} {
		if got := ExpiryFor(at(tc.added)); !got.Equal(at(tc.want)) {
			t.Errorf("ExpiryFor(%s) = %s, want %s", tc.added, got.Format(time.RFC3339), tc.want)
		}
	}
}

func TestLotAddedJustBeforeMidnightExpiresAtMidnight31DaysLater(t *testing.T) {
	a := &Account{}
	a.AddLot(&Lot{ID: "l", Credits: 100, AddedAt: at("2026-03-10T23:59:59Z")})
	a.Advance(at("2026-04-09T23:59:59Z"))
	if a.Balance() != 100 {
		t.Fatalf("one second before expiry: balance %d, want 100", a.Balance())
	}
	a.Advance(at("2026-04-10T00:00:00Z"))
	if a.Balance() != 0 || !a.Lots[0].Expired || a.Lots[0].ExpiredCredits != 100 {
		t.Fatalf("at expiry: balance %d, lot %+v", a.Balance(), a.Lots[0])
	}
}

func TestAllowanceAppearsAtMidnightWithoutAnyJob(t *testing.T) {
	a := &Account{Allowance: 500}
	a.Advance(at("2026-05-01T23:59:59Z"))
	if a.Balance() != 500 {
		t.Fatalf("day 1: balance %d, want 500", a.Balance())
	}
	if err := a.Charge(200, at("2026-05-01T23:59:59Z")); err != nil {
		t.Fatal(err)
	}
	// A read of a copy at exactly 0:00:00 sees the new day: yesterday's allowance is
	// gone, today's is there, and the original account is untouched.
	view := a.Clone()
	view.Advance(at("2026-05-02T00:00:00Z"))
	if view.Balance() != 500 || view.SpentToday != 0 {
		t.Fatalf("at 0:00: balance %d spent today %d, want 500 and 0", view.Balance(), view.SpentToday)
	}
	if a.Balance() != 300 {
		t.Fatalf("original changed: balance %d", a.Balance())
	}
	// Advancing twice in a day grants once.
	view.Advance(at("2026-05-02T13:00:00Z"))
	if n := len(view.Lots); n != 2 {
		t.Fatalf("lots %d, want 2 (one allowance a day)", n)
	}
}

func TestSpendingTakesTheSoonestExpiryFirst(t *testing.T) {
	a := &Account{Allowance: 100}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "late", Credits: 1000, AddedAt: now})
	a.AddLot(&Lot{ID: "early", Credits: 1000, AddedAt: now.Add(-20 * Day)})
	if err := a.Charge(1050, now); err != nil {
		t.Fatal(err)
	}
	// Daily allowance (expires tonight) first, then the older purchase.
	got := map[string]int64{}
	for _, l := range a.Lots {
		got[l.ID] = l.Remaining
	}
	want := map[string]int64{"daily:2026-06-10": 0, "early": 50, "late": 1000}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("lot %s remaining %d, want %d", id, got[id], w)
		}
	}
}

func TestChargeNeverOverspends(t *testing.T) {
	a := &Account{}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "l", Credits: 100, AddedAt: now})
	if err := a.Charge(101, now); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("got %v, want ErrInsufficient", err)
	}
	if a.Balance() != 100 || a.Used != 0 {
		t.Fatalf("a refused charge changed the account: balance %d used %d", a.Balance(), a.Used)
	}
	for _, bad := range []int64{0, -5} {
		if err := a.Charge(bad, now); !errors.Is(err, ErrAmount) {
			t.Errorf("Charge(%d) = %v, want ErrAmount", bad, err)
		}
	}
}

func TestDailyCapCountsChargesAndHolds(t *testing.T) {
	a := &Account{Cap: 1000}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "l", Credits: 10000, AddedAt: now})
	if err := a.Charge(600, now); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve("h", 300, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Charge(101, now); !errors.Is(err, ErrDailyCap) {
		t.Fatalf("over the cap: got %v, want ErrDailyCap", err)
	}
	if err := a.Charge(100, now); err != nil {
		t.Fatalf("up to the cap: %v", err)
	}
	// The cap starts again at 0:00 UTC.
	if err := a.Charge(500, at("2026-06-11T00:00:00Z")); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestCaptureChargesAtMostTheHoldAndReleasesTheRest(t *testing.T) {
	a := &Account{}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "l", Credits: 1000, AddedAt: now})
	if _, err := a.Reserve("h", 400, now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a.Balance() != 600 || a.HeldCredits() != 400 {
		t.Fatalf("held: balance %d held %d", a.Balance(), a.HeldCredits())
	}
	if _, err := a.Capture("h", 401, now); !errors.Is(err, ErrOverCapture) {
		t.Fatalf("over capture: %v", err)
	}
	if _, err := a.Capture("h", 150, now); err != nil {
		t.Fatal(err)
	}
	if a.Balance() != 850 || a.HeldCredits() != 0 || a.Used != 150 {
		t.Fatalf("after capture: balance %d held %d used %d", a.Balance(), a.HeldCredits(), a.Used)
	}
	if _, err := a.Capture("h", 1, now); !errors.Is(err, ErrHoldClosed) {
		t.Fatalf("second capture: %v, want ErrHoldClosed", err)
	}
}

func TestHoldsExpireByThemselves(t *testing.T) {
	a := &Account{}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "l", Credits: 1000, AddedAt: now})
	a.Reserve("h", 1000, now, now.Add(30*time.Second))
	a.Advance(now.Add(30 * time.Second))
	if a.Balance() != 1000 || len(a.Holds) != 0 {
		t.Fatalf("expired hold still counts: balance %d holds %d", a.Balance(), len(a.Holds))
	}
	if _, err := a.Capture("h", 10, now.Add(31*time.Second)); !errors.Is(err, ErrHoldClosed) {
		t.Fatalf("capture of expired hold: %v", err)
	}
}

func TestHeldCreditsSurviveTheirLotsExpiry(t *testing.T) {
	a := &Account{}
	added := at("2026-06-01T10:00:00Z")
	a.AddLot(&Lot{ID: "l", Credits: 1000, AddedAt: added})
	expiry := a.Lots[0].ExpiresAt
	before := expiry.Add(-time.Minute)
	a.Reserve("h1", 300, before, before.Add(time.Hour))
	a.Reserve("h2", 200, before, before.Add(time.Hour))
	a.Advance(expiry)
	if a.Balance() != 0 || a.Lots[0].ExpiredCredits != 500 {
		t.Fatalf("at expiry: balance %d lot %+v", a.Balance(), a.Lots[0])
	}
	// The hold granted before the expiry is honoured; what it gives back expires.
	if _, err := a.Capture("h1", 100, expiry.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a.Release("h2", expiry.Add(time.Minute))
	l := a.Lots[0]
	if l.Remaining != 0 || l.Held != 0 || l.ExpiredCredits != 900 || a.Used != 100 {
		t.Fatalf("after capture and release: lot %+v used %d", l, a.Used)
	}
}

func TestClawbackTakesFromThePurchasesLotThenBecomesDebt(t *testing.T) {
	a := &Account{}
	now := at("2026-06-10T12:00:00Z")
	a.AddLot(&Lot{ID: "bought", Credits: 1000, AddedAt: now})
	a.AddLot(&Lot{ID: "other", Credits: 300, AddedAt: now.Add(time.Hour)})
	if err := a.Charge(900, now); err != nil { // from "bought", added first
		t.Fatal(err)
	}
	fromLots, debt := a.Clawback("bought", 1000, now)
	if fromLots != 100 || debt != 900 || a.Lot("other").Remaining != 300 {
		t.Fatalf("clawback: %d from lots, %d debt, other lot %d; want 100, 900 and untouched", fromLots, debt, a.Lot("other").Remaining)
	}
	if a.Balance() != 300-900 {
		t.Fatalf("balance %d, want %d (negative: shown as debt)", a.Balance(), 300-900)
	}
	// The debt is repaid first from the next credits added.
	a.AddLot(&Lot{ID: "next", Credits: 1000, AddedAt: now})
	if a.Debt != 0 || a.Balance() != 400 || a.Lot("next").RepaidDebt != 900 {
		t.Fatalf("after top-up: debt %d balance %d lot %+v", a.Debt, a.Balance(), a.Lot("next"))
	}
	// Support's clawback without a lot takes from the lots in spending order.
	b := &Account{}
	b.AddLot(&Lot{ID: "x", Credits: 100, AddedAt: now})
	if from, d := b.Clawback("", 150, now); from != 100 || d != 50 {
		t.Fatalf("support clawback: %d from lots, %d debt", from, d)
	}
}
