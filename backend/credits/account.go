package credits

import (
	"slices"
	"time"
)

// Account is the credit state of one key holder. Its methods are the only way it
// changes; each takes the time of the change and first calls Advance, so a change
// after midnight applies the new day's rules even if nothing else ran.
type Account struct {
	Lots  []*Lot  `json:"lots"`  // in spending order
	Holds []*Hold `json:"holds"` // open holds, oldest first

	// Allowance is the daily allowance of the account's tier (an operator setting
	// journaled like any change, so replays grant exactly what was granted).
	Allowance int64 `json:"allowance,omitempty"`
	// Cap is the holder's optional daily spending cap; 0 means none.
	Cap int64 `json:"cap,omitempty"`

	Debt       int64     `json:"debt,omitempty"` // clawed back beyond what remained
	Used       int64     `json:"used"`           // spent in all, charges and captures
	Day        time.Time `json:"day"`            // the day Advance last saw
	SpentToday int64     `json:"spent_today"`    // spent since Day began
	Granted    time.Time `json:"granted"`        // the day whose allowance was granted
}

// HoldState is where a hold is in its life.
type HoldState string

// The states of a hold.
const (
	HoldOpen     HoldState = "open"
	HoldCaptured HoldState = "captured"
	HoldReleased HoldState = "released"
	HoldExpired  HoldState = "expired"
)

// Hold reserves credits for a job whose cost is known only at its end.
type Hold struct {
	ID        string     `json:"id"`
	Credits   int64      `json:"credits"`
	Parts     []HoldPart `json:"parts"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	State     HoldState  `json:"state"`
	Captured  int64      `json:"captured"`
}

// HoldPart is the share of a hold reserved in one lot.
type HoldPart struct {
	Lot     string `json:"lot"`
	Credits int64  `json:"credits"`
}

// Advance brings the account to time now: records the expiry of lots whose expiry has
// come, expires open holds past their expiry, restarts the daily cap on a new day and
// grants the day's allowance once. Calling it again with the same or an earlier time
// changes nothing.
func (a *Account) Advance(now time.Time) {
	now = now.UTC()
	for _, h := range a.Holds {
		if h.State == HoldOpen && !now.Before(h.ExpiresAt) {
			a.close(h, 0, HoldExpired)
		}
	}
	a.Holds = slices.DeleteFunc(a.Holds, func(h *Hold) bool { return h.State != HoldOpen })
	for _, l := range a.Lots {
		if !l.Expired && !now.Before(l.ExpiresAt) {
			l.Expired = true
			l.ExpiredCredits += l.Free()
			l.Remaining = l.Held
		}
	}
	day := DayStart(now)
	if day.After(a.Day) {
		a.Day = day
		a.SpentToday = 0
	}
	if a.Allowance > 0 && day.After(a.Granted) {
		a.Granted = day
		a.AddLot(&Lot{
			ID:        "daily:" + day.Format(time.DateOnly),
			Source:    SourceDaily,
			Credits:   a.Allowance,
			AddedAt:   day,
			ExpiresAt: NextRenewal(day),
		})
	}
}

// Balance is what the holder can spend now: remaining credits of unexpired lots minus
// what open holds reserve, minus debt. The account must have been advanced to now.
func (a *Account) Balance() int64 {
	var b int64
	for _, l := range a.Lots {
		b += l.Free()
	}
	return b - a.Debt
}

// HeldCredits is what open holds reserve.
func (a *Account) HeldCredits() int64 {
	var h int64
	for _, hold := range a.Holds {
		h += hold.Credits
	}
	return h
}

// AddLot adds credits. Debt from an earlier clawback is repaid from them first. A lot
// with no expiry set gets the standard one for its AddedAt.
func (a *Account) AddLot(l *Lot) {
	if l.ExpiresAt.IsZero() {
		l.ExpiresAt = ExpiryFor(l.AddedAt)
	}
	l.Remaining = l.Credits
	if a.Debt > 0 && l.Credits > 0 {
		repay := min(a.Debt, l.Credits)
		a.Debt -= repay
		l.RepaidDebt = repay
		l.Remaining -= repay
	}
	i, _ := slices.BinarySearchFunc(a.Lots, l, func(x, y *Lot) int {
		if lotBefore(x, y) {
			return -1
		}
		return 1
	})
	a.Lots = slices.Insert(a.Lots, i, l)
}

// Charge spends credits now, soonest-expiring lot first. It fails with ErrInsufficient
// when the balance does not cover them and ErrDailyCap when the holder's cap would be
// passed; then nothing changes.
func (a *Account) Charge(credits int64, now time.Time) error {
	if credits <= 0 {
		return ErrAmount
	}
	a.Advance(now)
	if err := a.check(credits); err != nil {
		return err
	}
	a.take(credits)
	a.Used += credits
	a.SpentToday += credits
	return nil
}

// Reserve opens a hold of credits until expires, taking its share from the lots that
// would be spent first. The same rules as Charge decide whether it is granted.
func (a *Account) Reserve(id string, credits int64, now, expires time.Time) (*Hold, error) {
	if credits <= 0 {
		return nil, ErrAmount
	}
	a.Advance(now)
	if err := a.check(credits); err != nil {
		return nil, err
	}
	h := &Hold{ID: id, Credits: credits, CreatedAt: now.UTC(), ExpiresAt: expires.UTC(), State: HoldOpen}
	left := credits
	for _, l := range a.Lots {
		if left == 0 {
			break
		}
		if part := min(l.Free(), left); part > 0 {
			l.Held += part
			left -= part
			h.Parts = append(h.Parts, HoldPart{Lot: l.ID, Credits: part})
		}
	}
	a.Holds = append(a.Holds, h)
	return h, nil
}

// Capture charges credits (at most what the hold reserved) from an open hold and
// releases the rest. A hold that expired, or was captured or released, cannot be
// captured: ErrHoldClosed.
func (a *Account) Capture(id string, credits int64, now time.Time) (*Hold, error) {
	if credits < 0 {
		return nil, ErrAmount
	}
	a.Advance(now)
	h := a.openHold(id)
	if h == nil {
		return nil, ErrHoldClosed
	}
	if credits > h.Credits {
		return nil, ErrOverCapture
	}
	a.close(h, credits, HoldCaptured)
	a.Holds = slices.DeleteFunc(a.Holds, func(x *Hold) bool { return x == h })
	return h, nil
}

// Release gives back everything an open hold reserved.
func (a *Account) Release(id string, now time.Time) (*Hold, error) {
	a.Advance(now)
	h := a.openHold(id)
	if h == nil {
		return nil, ErrHoldClosed
	}
	a.close(h, 0, HoldReleased)
	a.Holds = slices.DeleteFunc(a.Holds, func(x *Hold) bool { return x == h })
	return h, nil
}

// Clawback takes back credits after a refund or a lost dispute: from what is free in
// the lot that purchase added (SPEC §6), and what that lot no longer has becomes debt
// — a negative balance, the only way to one, shown to the holder and repaid first from
// the next credits added. Without a lot (support's clawback), it takes from the lots
// in spending order before any debt. It returns how much came from lots and how much
// became debt.
func (a *Account) Clawback(lotID string, credits int64, now time.Time) (fromLots, debt int64) {
	if credits <= 0 {
		return 0, 0
	}
	a.Advance(now)
	left := credits
	takeFrom := func(l *Lot) {
		if part := min(l.Free(), left); part > 0 {
			l.Remaining -= part
			l.ClawedBack += part
			left -= part
		}
	}
	for _, l := range a.Lots {
		if lotID == "" || l.ID == lotID {
			takeFrom(l)
		}
	}
	a.Debt += left
	return credits - left, left
}

// Lot returns the lot with the id, or nil.
func (a *Account) Lot(id string) *Lot {
	for _, l := range a.Lots {
		if l.ID == id {
			return l
		}
	}
	return nil
}

func (a *Account) check(credits int64) error {
	if a.Balance() < credits {
		return ErrInsufficient
	}
	if a.Cap > 0 && a.SpentToday+a.HeldCredits()+credits > a.Cap {
		return ErrDailyCap
	}
	return nil
}

// take spends credits that check allowed, soonest-expiring lot first.
func (a *Account) take(credits int64) {
	for _, l := range a.Lots {
		if credits == 0 {
			return
		}
		if part := min(l.Free(), credits); part > 0 {
			l.Remaining -= part
			credits -= part
		}
	}
}

func (a *Account) openHold(id string) *Hold {
	for _, h := range a.Holds {
		if h.ID == id && h.State == HoldOpen {
			return h
		}
	}
	return nil
}

// close ends a hold: captured credits are spent from its parts in order, the rest goes
// back to its lots, and what goes back to a lot that expired meanwhile expires now.
func (a *Account) close(h *Hold, captured int64, state HoldState) {
	left := captured
	for _, p := range h.Parts {
		l := a.Lot(p.Lot)
		if l == nil {
			continue
		}
		spent := min(p.Credits, left)
		left -= spent
		l.Held -= p.Credits
		l.Remaining -= spent
		if back := p.Credits - spent; back > 0 && l.Expired {
			l.Remaining -= back
			l.ExpiredCredits += back
		}
	}
	h.State = state
	h.Captured = captured
	a.Used += captured
	a.SpentToday += captured
}

// Clone returns a deep copy, for answering reads about a later time without changing
// the account (Advance on the copy).
func (a *Account) Clone() *Account {
	c := *a
	c.Lots = make([]*Lot, len(a.Lots))
	for i, l := range a.Lots {
		lc := *l
		c.Lots[i] = &lc
	}
	c.Holds = make([]*Hold, len(a.Holds))
	for i, h := range a.Holds {
		hc := *h
		hc.Parts = slices.Clone(h.Parts)
		c.Holds[i] = &hc
	}
	return &c
}

// Due reports whether Advance(now) would change the account: a hold or a lot past its
// expiry, a new day, or an allowance to grant. The ledger journals an explicit
// advance when it is, so replaying the journal reproduces every lazy renewal.
func (a *Account) Due(now time.Time) bool {
	now = now.UTC()
	day := DayStart(now)
	if day.After(a.Day) || (a.Allowance > 0 && day.After(a.Granted)) {
		return true
	}
	for _, h := range a.Holds {
		if !now.Before(h.ExpiresAt) {
			return true
		}
	}
	for _, l := range a.Lots {
		if !l.Expired && !now.Before(l.ExpiresAt) {
			return true
		}
	}
	return false
}
