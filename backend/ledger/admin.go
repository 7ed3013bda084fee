package ledger

import (
	"slices"
	"strings"
	"time"
)

// Support's views: what an operator needs to answer "I paid and got nothing" in a
// minute. They read the state only; every action support takes goes through the
// commands, with who and why, into the journal.

// AccountReport is everything about one account, for support.
type AccountReport struct {
	ID        string
	Status    string
	Tier      string
	KeyHint   string
	CreatedAt time.Time
	Balance   int64
	Held      int64
	Used      int64
	Debt      int64
	Lots      []LotReport
	Usage     []UsageReport
	Purchases []Purchase
	Wallets   []string
}

// UsageReport is a debit as support sees it.
type UsageReport struct {
	ID, Kind, Service, Units string
	Credits                  int64
	At                       time.Time
	Idem                     string
	Balance                  int64
}

// LotReport is a lot as support sees it.
type LotReport struct {
	ID, Source, Ref                         string
	Credits, Remaining, Expired, ClawedBack int64
	AddedAt, ExpiresAt                      time.Time
}

// Lookup is what support searches by; the first non-empty field is used.
type Lookup struct {
	Account, Purchase, Tx, Session, Hint, Wallet string
}

// LookupResult is what a lookup found.
type LookupResult struct {
	Accounts  []AccountReport
	Purchases []Purchase
	Payments  []Payment
}

// Find answers a support lookup at time now.
func (l *Ledger) Find(q Lookup, now time.Time) LookupResult {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := l.st
	var res LookupResult
	accounts := map[string]bool{}
	addPurchase := func(id string) {
		if p := st.Purchases[id]; p != nil {
			c := *p
			c.Disputes = nil
			res.Purchases = append(res.Purchases, c)
			if p.Account != "" {
				accounts[p.Account] = true
			}
			if pay := st.Payments[p.TxHash]; pay != nil {
				res.Payments = append(res.Payments, *pay)
			}
		}
	}
	switch {
	case q.Account != "":
		accounts[q.Account] = true
	case q.Purchase != "":
		addPurchase(q.Purchase)
	case q.Tx != "":
		tx := strings.ToLower(q.Tx)
		if pay := st.Payments[tx]; pay != nil {
			res.Payments = append(res.Payments, *pay)
			if pay.Account != "" {
				accounts[pay.Account] = true
			}
		}
		if id, ok := st.TxOf[tx]; ok {
			addPurchase(id)
		}
	case q.Session != "":
		addPurchase(st.Sessions[q.Session])
	case q.Hint != "":
		for id, a := range st.Accounts {
			if a.Key.Hint == q.Hint || strings.HasSuffix(a.Key.Hint, strings.TrimPrefix(q.Hint, "aisk_…")) {
				accounts[id] = true
			}
		}
	case q.Wallet != "":
		w := strings.ToLower(q.Wallet)
		for _, id := range st.Paid[w] {
			accounts[id] = true
		}
		for _, id := range st.Quotes[w] {
			addPurchase(id)
		}
		for _, h := range sortedPayments(st.Payments) {
			if p := st.Payments[h]; p.From == w && p.Purchase == "" {
				res.Payments = append(res.Payments, *p)
			}
		}
	}
	ids := make([]string, 0, len(accounts))
	for id := range accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if a := st.Accounts[id]; a != nil {
			res.Accounts = append(res.Accounts, st.report(a, now))
		}
	}
	return res
}

func (s *State) report(a *Account, now time.Time) AccountReport {
	c := a.Credits.Clone()
	c.Advance(now)
	r := AccountReport{ID: a.ID, Status: a.Status, Tier: a.Tier, KeyHint: a.Key.Hint, CreatedAt: a.CreatedAt,
		Balance: c.Balance(), Held: c.HeldCredits(), Used: c.Used, Debt: c.Debt}
	for _, lot := range c.Lots {
		r.Lots = append(r.Lots, LotReport{ID: lot.ID, Source: string(lot.Source), Ref: lot.Ref, Credits: lot.Credits,
			Remaining: lot.Remaining, Expired: lot.ExpiredCredits, ClawedBack: lot.ClawedBack, AddedAt: lot.AddedAt, ExpiresAt: lot.ExpiresAt})
	}
	for _, u := range a.Usage {
		r.Usage = append(r.Usage, UsageReport{ID: u.ID, Kind: u.Kind, Service: u.Service, Units: u.Units,
			Credits: u.Credits, At: u.Time(), Idem: u.Idem, Balance: u.Balance})
	}
	for _, p := range s.Purchases {
		if p.Account == a.ID {
			c := *p
			c.Disputes = nil
			r.Purchases = append(r.Purchases, c)
		}
	}
	slices.SortFunc(r.Purchases, func(x, y Purchase) int { return x.CreatedAt.Compare(y.CreatedAt) })
	for w, ids := range s.Paid {
		if slices.Contains(ids, a.ID) {
			r.Wallets = append(r.Wallets, w)
		}
	}
	slices.Sort(r.Wallets)
	return r
}

// AuditTrail lists admin actions and automatic clawbacks, oldest first; account ""
// lists all.
func (l *Ledger) AuditTrail(account string) []AuditRec {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []AuditRec
	for _, a := range l.st.Audit {
		if account == "" || a.Account == account {
			out = append(out, a)
		}
	}
	return out
}
