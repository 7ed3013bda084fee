package credits

import "time"

// Validity is how long purchased and granted credits count, before rounding up to the
// daily boundary.
const Validity = 30 * 24 * time.Hour

// Day is the period of the renewal.
const Day = 24 * time.Hour

// Source says where a lot's credits came from.
type Source string

// The sources of lots.
const (
	SourceCard   Source = "card"
	SourceCrypto Source = "crypto"
	SourceDaily  Source = "daily"
	SourceGrant  Source = "grant"
)

// Lot is one addition of credits to an account.
type Lot struct {
	ID        string    `json:"id"`
	Source    Source    `json:"source"`
	Ref       string    `json:"ref,omitempty"` // the purchase or operation that added it
	Credits   int64     `json:"credits"`
	Remaining int64     `json:"remaining"` // not yet spent; includes Held
	Held      int64     `json:"held"`      // reserved by open holds
	AddedAt   time.Time `json:"added_at"`
	ExpiresAt time.Time `json:"expires_at"`

	// Expired is set when the lot's expiry was recorded; ExpiredCredits is what it
	// still had then (plus held credits released after it).
	Expired        bool  `json:"expired,omitempty"`
	ExpiredCredits int64 `json:"expired_credits,omitempty"`
	// RepaidDebt is what this lot paid of the account's debt when it was added.
	RepaidDebt int64 `json:"repaid_debt,omitempty"`
	// ClawedBack is what refunds or lost disputes took back from this lot.
	ClawedBack int64 `json:"clawed_back,omitempty"`
}

// Free is what can still be spent or held from the lot.
func (l *Lot) Free() int64 { return l.Remaining - l.Held }

// DayStart is 0:00:00 UTC of t's day.
func DayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// NextRenewal is the next 0:00:00 UTC strictly after t: when the day turns over.
func NextRenewal(t time.Time) time.Time { return DayStart(t).Add(Day) }

// ExpiryFor is when a lot added at t expires: 30 days later, rounded up to the next
// 0:00:00 UTC (a lot added exactly at midnight expires exactly 30 days later).
func ExpiryFor(t time.Time) time.Time {
	end := t.UTC().Add(Validity)
	if start := DayStart(end); start.Equal(end) {
		return end
	}
	return NextRenewal(end)
}

// lotBefore is the spending order: soonest expiry first, then added first, then id.
func lotBefore(a, b *Lot) bool {
	if !a.ExpiresAt.Equal(b.ExpiresAt) {
		return a.ExpiresAt.Before(b.ExpiresAt)
	}
	if !a.AddedAt.Equal(b.AddedAt) {
		return a.AddedAt.Before(b.AddedAt)
	}
	return a.ID < b.ID
}
