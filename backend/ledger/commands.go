package ledger

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/shared"
)

// Errors about keys, as the holder and the services see them.
var (
	ErrUnknownKey = credits.Errorf(shared.CodeUnauthorized, "this Secure Key is not valid")
	ErrSuspended  = credits.Errorf(shared.CodeForbidden, "this Secure Key is suspended; contact support")
	ErrRevoked    = credits.Errorf(shared.CodeUnauthorized, "this Secure Key was revoked")
	ErrNoHold     = credits.Errorf(shared.CodeNotFound, "no such hold")
	ErrNoAccount  = credits.Errorf(shared.CodeNotFound, "no such account")
)

// MaxHoldTTL bounds how long a hold may reserve credits.
const MaxHoldTTL = 24 * time.Hour

// DefaultHoldTTL is a hold's lifetime when the service names none.
const DefaultHoldTTL = 10 * time.Minute

// byKey finds the account of a key hash; suspended and revoked keys are refused.
func (s *State) byKey(h keys.Hash) (*Account, error) {
	id, ok := s.ByKey[h]
	if !ok {
		return nil, ErrUnknownKey
	}
	a := s.Accounts[id]
	if !a.Key.Hash.Equal(h) { // the map found it; compare in constant time all the same
		return nil, ErrUnknownKey
	}
	switch a.Status {
	case StatusSuspended:
		return nil, ErrSuspended
	case StatusRevoked:
		return nil, ErrRevoked
	}
	return a, nil
}

// Fingerprint identifies what a charge or hold request asked for, so a repeated
// idempotency key with a different request is refused instead of answered with the
// first result.
func Fingerprint(key keys.Hash, service string, units map[string]int64, credits int64) string {
	names := make([]string, 0, len(units))
	for u := range units {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%x|%s|%d", key[:8], service, credits)
	for _, u := range names {
		fmt.Fprintf(&b, "|%s=%d", u, units[u])
	}
	return b.String()
}

// ChargeRequest is a service spending a holder's credits. Credits is the price,
// already computed from the pricing table or given explicitly.
type ChargeRequest struct {
	Key     keys.Hash
	Idem    string
	Service string
	Units   map[string]int64
	Credits int64
}

// Charge debits credits once per idempotency key: a repeat of the same request gets
// the first answer, a different request with a used key gets a conflict.
func (l *Ledger) Charge(ctx context.Context, r ChargeRequest) (Usage, error) {
	fp := Fingerprint(r.Key, r.Service, r.Units, r.Credits)
	return submit(ctx, l, func(tx *Tx) (Usage, error) {
		st := tx.State()
		if u, ok := st.Charge(r.Idem); ok {
			if u.FP != fingerprintHash(fp) {
				return Usage{}, credits.Errorf(shared.CodeConflict, "idempotency key %q was used for a different charge", r.Idem)
			}
			return u, nil
		}
		a, err := st.byKey(r.Key)
		if err != nil {
			return Usage{}, err
		}
		tx.Touch(a.ID)
		err = tx.Apply(Op{Type: OpCharge, Account: a.ID, Charge: &ChargeOp{
			ID: keys.NewID("ch_"), Idem: r.Idem, Fingerprint: fp, Service: r.Service, Units: r.Units, Credits: r.Credits,
		}})
		if err != nil {
			return Usage{}, err
		}
		u, _ := st.Charge(r.Idem)
		return u, nil
	})
}

// HoldRequest reserves credits for a job whose cost is known at its end.
type HoldRequest struct {
	Key     keys.Hash
	Idem    string
	Credits int64
	TTL     time.Duration
	Service string
}

// HoldAnswer is a hold as the service is told of it.
type HoldAnswer struct {
	ID        string
	Credits   int64
	ExpiresAt time.Time
}

// Hold reserves credits once per idempotency key.
func (l *Ledger) Hold(ctx context.Context, r HoldRequest) (HoldAnswer, error) {
	if r.TTL == 0 {
		r.TTL = DefaultHoldTTL
	}
	if r.TTL < time.Second || r.TTL > MaxHoldTTL {
		return HoldAnswer{}, credits.Errorf(shared.CodeInvalid, "ttl_seconds must be between 1 and %d", int(MaxHoldTTL.Seconds()))
	}
	fp := Fingerprint(r.Key, r.Service, nil, r.Credits)
	return submit(ctx, l, func(tx *Tx) (HoldAnswer, error) {
		st := tx.State()
		if id, ok := st.HoldIdem[r.Idem]; ok {
			h := st.Holds[id]
			if h.Fingerprint != fp {
				return HoldAnswer{}, credits.Errorf(shared.CodeConflict, "idempotency key %q was used for a different hold", r.Idem)
			}
			return HoldAnswer{h.ID, h.Credits, h.ExpiresAt}, nil
		}
		a, err := st.byKey(r.Key)
		if err != nil {
			return HoldAnswer{}, err
		}
		tx.Touch(a.ID)
		id := keys.NewID("hold_")
		exp := tx.Now().Add(r.TTL)
		if err := tx.Apply(Op{Type: OpHold, Account: a.ID, Hold: &HoldOp{
			ID: id, Idem: r.Idem, Fingerprint: fp, Credits: r.Credits, ExpiresAt: exp, Service: r.Service,
		}}); err != nil {
			return HoldAnswer{}, err
		}
		return HoldAnswer{id, r.Credits, exp}, nil
	})
}

// HoldResult is what a capture or release answers.
type HoldResult struct {
	Charged  int64
	Released int64
	Balance  int64
}

// Capture charges credits (at most the hold) and closes the hold. Repeating a capture
// of the same amount answers the first result; anything else on a closed hold is a
// conflict. Credits < 0 means "all of it".
func (l *Ledger) Capture(ctx context.Context, holdID string, n int64, service string, units map[string]int64) (HoldResult, error) {
	return l.closeHold(ctx, holdID, OpCapture, n, service, units)
}

// Release closes a hold charging nothing. Repeating it answers the first result.
func (l *Ledger) Release(ctx context.Context, holdID string) (HoldResult, error) {
	return l.closeHold(ctx, holdID, OpRelease, 0, "", nil)
}

func (l *Ledger) closeHold(ctx context.Context, holdID, typ string, n int64, service string, units map[string]int64) (HoldResult, error) {
	return submit(ctx, l, func(tx *Tx) (HoldResult, error) {
		st := tx.State()
		h := st.Holds[holdID]
		if h == nil {
			return HoldResult{}, ErrNoHold
		}
		if n < 0 {
			n = h.Credits
		}
		wantState := credits.HoldCaptured
		if typ == OpRelease {
			wantState = credits.HoldReleased
		}
		if h.State == wantState && (typ == OpRelease || h.Captured == n) {
			return HoldResult{Charged: h.Captured, Released: h.Credits - h.Captured, Balance: h.Balance}, nil
		}
		if h.State != credits.HoldOpen {
			return HoldResult{}, credits.ErrHoldClosed
		}
		tx.Touch(h.Account)
		if err := tx.Apply(Op{Type: typ, Account: h.Account, Capture: &CaptureOp{Hold: holdID, Credits: n, Service: service, Units: units}}); err != nil {
			return HoldResult{}, err // an expired hold is closed too
		}
		return HoldResult{Charged: h.Captured, Released: h.Credits - h.Captured, Balance: h.Balance}, nil
	})
}

// OpenAccount creates an account for a new key (support's reissue, grants in tests
// and dev). The key itself is made by the caller so it never enters the ledger except
// as a hash and a sealed copy.
func (l *Ledger) OpenAccount(ctx context.Context, id string, key KeyOp, tier string, admin *AdminInfo) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		return nil, tx.Apply(Op{Type: OpOpen, Account: id, Open: &OpenOp{Key: key, Tier: tier}, Admin: admin})
	})
	return err
}

// Grant adds credits to an account as a lot of its own. A non-empty opID makes it
// happen at most once.
func (l *Ledger) Grant(ctx context.Context, account string, n int64, source credits.Source, opID string, admin *AdminInfo) (string, error) {
	if n <= 0 {
		return "", credits.ErrAmount
	}
	return submit(ctx, l, func(tx *Tx) (string, error) {
		if tx.State().Accounts[account] == nil {
			return "", ErrNoAccount
		}
		tx.Touch(account)
		lot := keys.NewID("lot_")
		return lot, tx.Apply(Op{Type: OpLot, ID: opID, Account: account, Lot: &LotOp{ID: lot, Source: source, Credits: n}, Admin: admin})
	})
}

// RotateKey replaces an account's key; the old one stops working at once, and so do
// the sessions opened with it.
func (l *Ledger) RotateKey(ctx context.Context, account string, key KeyOp, admin *AdminInfo) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		a := tx.State().Accounts[account]
		if a == nil {
			return nil, ErrNoAccount
		}
		if a.Status == StatusRevoked && admin == nil {
			return nil, ErrRevoked
		}
		return nil, tx.Apply(Op{Type: OpRotate, Account: account, Key: &key, Admin: admin})
	})
	return err
}

// Logout ends every session of the account.
func (l *Ledger) Logout(ctx context.Context, account string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		return nil, tx.Apply(Op{Type: OpLogout, Account: account})
	})
	return err
}

// SetDailyCap sets the holder's daily spending cap; 0 removes it.
func (l *Ledger) SetDailyCap(ctx context.Context, account string, n int64) error {
	if n < 0 {
		return credits.Errorf(shared.CodeInvalid, "daily_cap must be a positive whole number or null")
	}
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		tx.Touch(account)
		return nil, tx.Apply(Op{Type: OpCap, Account: account, Cap: &CapOp{Credits: n}})
	})
	return err
}

// SetStatus suspends, restores or revokes an account's key.
func (l *Ledger) SetStatus(ctx context.Context, account, status, reason, opID string, admin *AdminInfo) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		if tx.State().Accounts[account] == nil {
			return nil, ErrNoAccount
		}
		return nil, tx.Apply(Op{Type: OpStatus, ID: opID, Account: account, Status: &StatusOp{Status: status, Reason: reason}, Admin: admin})
	})
	return err
}

// Clawback takes credits back from an account, first from lot (if set); what is
// missing becomes debt. A non-empty opID makes it happen at most once.
func (l *Ledger) Clawback(ctx context.Context, account, lot string, n int64, reason, opID string, admin *AdminInfo) error {
	if n <= 0 {
		return credits.ErrAmount
	}
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		if tx.State().Accounts[account] == nil {
			return nil, ErrNoAccount
		}
		tx.Touch(account)
		return nil, tx.Apply(Op{Type: OpClawback, ID: opID, Account: account, Clawback: &ClawbackOp{Lot: lot, Credits: n, Reason: reason}, Admin: admin})
	})
	return err
}
