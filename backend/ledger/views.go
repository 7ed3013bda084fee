package ledger

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/shared"
)

// Holder is who a key or a session belongs to, as the server needs to know.
type Holder struct {
	Account string
	KeyGen  int64
	Hint    string
}

// Authenticate finds the account of a key hash. Suspended and revoked keys fail.
func (l *Ledger) Authenticate(h keys.Hash) (Holder, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a, err := l.st.byKey(h)
	if err != nil {
		return Holder{}, err
	}
	return Holder{Account: a.ID, KeyGen: a.KeyGen, Hint: a.Key.Hint}, nil
}

// Session checks a session's account and key generation: a rotation, a log-out or a
// status change since the session began ends it.
func (l *Ledger) Session(account string, gen int64) (Holder, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.st.Accounts[account]
	if a == nil || a.KeyGen != gen {
		return Holder{}, ErrUnknownKey
	}
	if _, err := l.st.byKey(a.Key.Hash); err != nil {
		return Holder{}, err
	}
	return Holder{Account: a.ID, KeyGen: a.KeyGen, Hint: a.Key.Hint}, nil
}

// AccountView is what GET /api/v1/account answers, computed for now: a copy of the
// account advanced to now, so the view shows the new day at 0:00:00 even if nothing
// was written since.
func (l *Ledger) AccountView(account string, now time.Time) (shared.Account, error) {
	l.mu.RLock()
	a := l.st.Accounts[account]
	if a == nil {
		l.mu.RUnlock()
		return shared.Account{}, ErrNoAccount
	}
	c := a.Credits.Clone()
	hint, status := a.Key.Hint, a.Status
	l.mu.RUnlock()

	c.Advance(now)
	v := shared.Account{
		Balance:        c.Balance(),
		Used:           c.Used,
		Held:           c.HeldCredits(),
		Lots:           make([]shared.Lot, 0, len(c.Lots)),
		KeyHint:        hint,
		NextRenewalAt:  credits.NextRenewal(now).Format(time.RFC3339),
		SpentToday:     c.SpentToday,
		DailyAllowance: c.Allowance,
		Suspended:      status == StatusSuspended,
		Debt:           c.Debt,
	}
	if c.Cap > 0 {
		capN := c.Cap
		v.DailyCap = &capN
	}
	for _, lot := range c.Lots {
		v.Lots = append(v.Lots, shared.Lot{
			ID: lot.ID, Source: string(lot.Source), Credits: lot.Credits, Remaining: lot.Remaining,
			AddedAt: lot.AddedAt.Format(time.RFC3339), ExpiresAt: lot.ExpiresAt.Format(time.RFC3339), Expired: lot.Expired,
		})
	}
	return v, nil
}

// SealedKey is the sealed copy of an account's key, for "View your Secure Key".
func (l *Ledger) SealedKey(account string) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.st.Accounts[account]
	if a == nil {
		return nil, ErrNoAccount
	}
	return a.Key.Sealed, nil
}

// UsagePage lists an account's debits, newest first, limit at a time. The cursor is
// the position to continue before; "" starts at the newest. next is "" at the end.
func (l *Ledger) UsagePage(account, cursor string, limit int) (items []shared.UsageItem, next string, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.st.Accounts[account]
	if a == nil {
		return nil, "", ErrNoAccount
	}
	end := len(a.Usage)
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 || n > len(a.Usage) {
			return nil, "", credits.Errorf(shared.CodeInvalid, "cursor is not one this server gave")
		}
		end = n
	}
	start := max(0, end-limit)
	items = make([]shared.UsageItem, 0, end-start)
	for i := end - 1; i >= start; i-- {
		items = append(items, usageItem(a.Usage[i]))
	}
	if start > 0 {
		next = strconv.Itoa(start)
	}
	return items, next, nil
}

func usageItem(u Usage) shared.UsageItem {
	return shared.UsageItem{ID: u.ID, Service: u.Service, Units: u.UnitsMap(), Credits: u.Credits,
		At: u.Time().Format(time.RFC3339Nano), IdempotencyKey: u.Idem, Kind: u.Kind}
}

// PurchaseInfo is a purchase as its buyer's page sees it.
type PurchaseInfo struct {
	Purchase
	Confirmations uint64
	Block         uint64
}

// PurchaseView returns a copy of a purchase if secretHash is its secret's hash
// (compared in constant time); otherwise ErrNoPurchase, the same answer as for an id
// that does not exist, so ids cannot be probed.
func (l *Ledger) PurchaseView(id string, secretHash keys.Hash) (PurchaseInfo, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	pu := l.st.Purchases[id]
	if pu == nil || !pu.SecretHash.Equal(secretHash) {
		return PurchaseInfo{}, ErrNoPurchase
	}
	info := PurchaseInfo{Purchase: *pu}
	info.Disputes = nil
	if pay := l.st.Payments[pu.TxHash]; pay != nil && pay.Canonical && l.st.Chain.Head >= pay.Block {
		info.Block = pay.Block
		info.Confirmations = l.st.Chain.Head - pay.Block + 1
	}
	return info, nil
}

// ChainCursor is where the watcher stands.
func (l *Ledger) ChainCursor() Chain {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c := l.st.Chain
	c.Recent = slices.Clone(c.Recent)
	return c
}

// Wanted reports whether a transaction hash was submitted by a buyer and not yet
// credited: the watcher traces such transactions for internal transfers.
func (l *Ledger) Wanted(txHash string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	id, ok := l.st.TxOf[txHash]
	if !ok {
		return false
	}
	pay := l.st.Payments[txHash]
	return l.st.Purchases[id] != nil && (pay == nil || !pay.Credited)
}

// Unclaimed lists confirmed payments nobody has claimed yet, oldest first.
func (l *Ledger) Unclaimed() []Payment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Payment
	for _, h := range sortedPayments(l.st.Payments) {
		if p := l.st.Payments[h]; p.Purchase == "" && !p.Credited {
			out = append(out, *p)
		}
	}
	return out
}

// WalletAccounts lists the accounts a wallet paid into, oldest first.
func (l *Ledger) WalletAccounts(wallet string) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.st.Paid[strings.ToLower(wallet)])
}
