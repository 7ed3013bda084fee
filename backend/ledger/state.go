package ledger

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/shared"
)

// State is everything the ledger knows, in memory: a deterministic function of the
// journal. Only Apply changes it.
type State struct {
	Seq      int64     // the last journal entry applied
	LastAt   time.Time // the time of the last op applied: the clock never goes back
	Accounts map[string]*Account
	ByKey    map[keys.Hash]string // key hash → account id
	// charges indexes every charge by its idempotency key. It is not in snapshots
	// (gob skips it): it points at the usage records the accounts hold, and init
	// rebuilds it from them, instead of the snapshot holding each record twice.
	charges  map[string]usageRef
	Holds    map[string]*HoldRec // hold id → hold
	HoldIdem map[string]string   // idempotency key → hold id
	Tiers    map[string]int64    // tier → daily allowance
	Done     map[string]int64    // ids of once-only ops → the entry that holds them
	Audit    []AuditRec          // admin actions and automatic clawbacks
	Day      time.Time           // the last day the daily job closed

	Purchases map[string]*Purchase
	TxOf      map[string]string   // tx hash → the purchase it was submitted for or credited to
	Payments  map[string]*Payment // tx hash → payment seen on chain
	Quotes    map[string][]string // wallet → its crypto purchases, oldest first
	Sessions  map[string]string   // Checkout Session → purchase
	Intents   map[string]string   // payment intent → purchase
	Paid      map[string][]string // wallet → accounts it paid into, for recovery by signature
	Awaiting  map[string]bool     // payments on chain not yet credited nor priced
	Reorged   map[string]bool     // payments a reorg removed, until seen again or clawed back
	Chain     Chain
}

// Account is one key holder: the credits and the key.
type Account struct {
	ID        string
	Credits   credits.Account
	Key       KeyOp
	KeyGen    int64 // bumped at every rotation and log-out: sessions carry it
	Status    string
	Tier      string
	CreatedAt time.Time
	Usage     UsageLog // every debit, in order
	Wallets   []string // wallets that paid into it, for recovery by signature
}

// Usage is one debit of an account: a charge or a hold's capture. Accounts keep
// every one, so it is a value without pointers of its own beyond its strings: a
// state holds millions of them, and every garbage collection and every snapshot
// pays for each object they are made of.
type Usage struct {
	ID      string
	Kind    string // UsageCharge or UsageCapture
	Service string
	Units   string // canonical: "input_tokens=1200 output_tokens=300", sorted by name
	Credits int64
	At      int64 // unix nanoseconds
	Idem    string
	FP      uint64 // hash of the request it answers: a different one with Idem is refused
	Balance int64  // the balance right after: what a retried request is answered
}

// The kinds of usage.
const (
	UsageCharge  = "charge"
	UsageCapture = "capture"
)

// Time is when the debit was made.
func (u Usage) Time() time.Time { return time.Unix(0, u.At).UTC() }

// UnitsMap is Units as the API shows it.
func (u Usage) UnitsMap() map[string]int64 {
	m := map[string]int64{}
	for _, f := range strings.Fields(u.Units) {
		name, n, _ := strings.Cut(f, "=")
		v, _ := strconv.ParseInt(n, 10, 64)
		m[name] = v
	}
	return m
}

// unitsOf writes units canonically.
func unitsOf(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(m[k], 10))
	}
	return b.String()
}

// fingerprintHash keeps 64 bits of a request's fingerprint.
func fingerprintHash(fp string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(fp))
	return h.Sum64()
}

// usageRef finds a usage in its account's log.
type usageRef struct {
	a *Account
	i int
}

// Charge is the charge made with an idempotency key.
func (s *State) Charge(idem string) (Usage, bool) {
	r, ok := s.charges[idem]
	if !ok {
		return Usage{}, false
	}
	return r.a.Usage[r.i], true
}

// HoldRec is a hold as the service API sees it.
type HoldRec struct {
	ID          string
	Account     string
	Idem        string
	Fingerprint string
	Credits     int64
	Service     string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	State       credits.HoldState
	Captured    int64
	Balance     int64 // after the capture or release
	CaptureFP   string
}

// AuditRec is one admin action or automatic clawback.
type AuditRec struct {
	Seq     int64
	At      time.Time
	Type    string
	Account string
	Who     string
	Why     string
	Action  string
	Credits int64
}

// NewState is the state of an empty journal.
func NewState() *State {
	s := &State{}
	s.init()
	return s
}

// init makes the maps a state needs; gob leaves empty ones nil when it decodes a
// snapshot, and a snapshot from an older version may lack newer ones.
func (s *State) init() {
	for _, m := range []*map[string]string{&s.HoldIdem, &s.TxOf, &s.Sessions, &s.Intents} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	for _, m := range []*map[string][]string{&s.Quotes, &s.Paid} {
		if *m == nil {
			*m = map[string][]string{}
		}
	}
	for _, m := range []*map[string]bool{&s.Awaiting, &s.Reorged} {
		if *m == nil {
			*m = map[string]bool{}
		}
	}
	if s.Accounts == nil {
		s.Accounts = map[string]*Account{}
	}
	if s.ByKey == nil {
		s.ByKey = map[keys.Hash]string{}
	}
	if s.charges == nil {
		s.charges = map[string]usageRef{}
		for _, a := range s.Accounts {
			for i, u := range a.Usage {
				if u.Kind == UsageCharge {
					s.charges[u.Idem] = usageRef{a, i}
				}
			}
		}
	}
	if s.Holds == nil {
		s.Holds = map[string]*HoldRec{}
	}
	if s.Tiers == nil {
		s.Tiers = map[string]int64{}
	}
	if s.Done == nil {
		s.Done = map[string]int64{}
	}
	if s.Purchases == nil {
		s.Purchases = map[string]*Purchase{}
	}
	if s.Payments == nil {
		s.Payments = map[string]*Payment{}
	}
}

// DefaultTier is the tier of accounts nobody moved to another.
const DefaultTier = "default"

// errNoAccount is what an op about a missing account gets; it never reaches a user
// (commands look accounts up first) but keeps Apply total.
var errNoAccount = credits.Errorf(shared.CodeNotFound, "no such account")

// Apply changes the state by one op, or changes nothing and returns why not. seq is
// the journal entry the op belongs to. The writer applies an op before journaling it
// and keeps it only if Apply accepted it; a replay applies journaled ops, which must
// all be accepted again.
func (s *State) Apply(op *Op, seq int64) error {
	if op.ID != "" {
		if _, done := s.Done[op.ID]; done {
			return credits.Errorf(shared.CodeConflict, "operation %s was already applied", op.ID)
		}
	}
	if err := s.apply(op); err != nil {
		return err
	}
	if op.ID != "" {
		s.Done[op.ID] = seq
	}
	if op.At.After(s.LastAt) {
		s.LastAt = op.At
	}
	if op.Admin != nil || op.Type == OpClawback {
		s.audit(op, seq)
	}
	return nil
}

func (s *State) apply(op *Op) error {
	switch op.Type {
	case OpTick:
		a := s.Accounts[op.Account]
		if a == nil {
			return errNoAccount
		}
		a.Credits.Advance(op.At)
	case OpDay:
		for _, a := range s.Accounts {
			a.Credits.Advance(op.At)
		}
		s.Day = credits.DayStart(op.At)
	case OpOpen:
		return s.open(op)
	case OpRotate:
		a := s.Accounts[op.Account]
		if a == nil || op.Key == nil {
			return errNoAccount
		}
		if _, taken := s.ByKey[op.Key.Hash]; taken {
			return credits.Errorf(shared.CodeConflict, "key in use")
		}
		delete(s.ByKey, a.Key.Hash)
		a.Key = *op.Key
		a.KeyGen++
		s.ByKey[a.Key.Hash] = a.ID
		if op.Admin != nil && a.Status == StatusRevoked {
			a.Status = StatusActive // support reissued a key for a revoked account
		}
	case OpLogout:
		a := s.Accounts[op.Account]
		if a == nil {
			return errNoAccount
		}
		a.KeyGen++
	case OpLot:
		a := s.Accounts[op.Account]
		if a == nil || op.Lot == nil || op.Lot.Credits <= 0 {
			return errNoAccount
		}
		if a.Credits.Lot(op.Lot.ID) != nil {
			return credits.Errorf(shared.CodeConflict, "lot %s exists", op.Lot.ID)
		}
		a.Credits.Advance(op.At)
		a.Credits.AddLot(&credits.Lot{ID: op.Lot.ID, Source: op.Lot.Source, Ref: op.Lot.Ref, Credits: op.Lot.Credits, AddedAt: op.At})
	case OpCharge:
		return s.charge(op)
	case OpPurchase:
		if op.Purchase == nil {
			return errNoAccount
		}
		return s.applyPurchase(op)
	case OpPayment:
		if op.Payment == nil {
			return errNoAccount
		}
		return s.applyPayment(op)
	case OpChain:
		if op.Chain == nil {
			return errNoAccount
		}
		return s.applyChain(op)
	case OpCard:
		if op.Card == nil {
			return errNoAccount
		}
		return s.applyCard(op)
	case OpHold:
		return s.hold(op)
	case OpCapture, OpRelease:
		return s.closeHold(op)
	case OpCap:
		a := s.Accounts[op.Account]
		if a == nil || op.Cap == nil || op.Cap.Credits < 0 {
			return errNoAccount
		}
		a.Credits.Cap = op.Cap.Credits
	case OpTiers:
		s.Tiers = op.Tiers.Allowances
		for _, a := range s.Accounts {
			a.Credits.Allowance = s.Tiers[a.Tier]
		}
	case OpStatus:
		a := s.Accounts[op.Account]
		if a == nil || op.Status == nil {
			return errNoAccount
		}
		switch op.Status.Status {
		case StatusActive, StatusSuspended, StatusRevoked:
		default:
			return credits.Errorf(shared.CodeInvalid, "unknown key status %q", op.Status.Status)
		}
		if a.Status == StatusRevoked {
			return credits.Errorf(shared.CodeConflict, "a revoked key stays revoked; reissue a new one")
		}
		a.Status = op.Status.Status
		a.KeyGen++ // sessions end with the status change
	case OpClawback:
		a := s.Accounts[op.Account]
		if a == nil || op.Clawback == nil || op.Clawback.Credits <= 0 {
			return errNoAccount
		}
		a.Credits.Clawback(op.Clawback.Lot, op.Clawback.Credits, op.At)
	default:
		return fmt.Errorf("ledger: unknown operation %q", op.Type)
	}
	return nil
}

func (s *State) open(op *Op) error {
	if op.Open == nil || op.Account == "" {
		return errNoAccount
	}
	if s.Accounts[op.Account] != nil {
		return credits.Errorf(shared.CodeConflict, "account %s exists", op.Account)
	}
	if _, taken := s.ByKey[op.Open.Key.Hash]; taken {
		return credits.Errorf(shared.CodeConflict, "key in use")
	}
	tier := op.Open.Tier
	if tier == "" {
		tier = DefaultTier
	}
	a := &Account{ID: op.Account, Key: op.Open.Key, Status: StatusActive, Tier: tier, CreatedAt: op.At}
	a.Credits.Allowance = s.Tiers[tier]
	s.Accounts[a.ID] = a
	s.ByKey[a.Key.Hash] = a.ID
	return nil
}

func (s *State) charge(op *Op) error {
	c := op.Charge
	a := s.Accounts[op.Account]
	if a == nil || c == nil {
		return errNoAccount
	}
	if _, dup := s.charges[c.Idem]; dup {
		return credits.Errorf(shared.CodeConflict, "idempotency key %q was used", c.Idem)
	}
	if err := a.Credits.Charge(c.Credits, op.At); err != nil {
		return err
	}
	a.Usage = append(a.Usage, Usage{ID: c.ID, Kind: UsageCharge, Service: c.Service, Units: unitsOf(c.Units), Credits: c.Credits,
		At: op.At.UnixNano(), Idem: c.Idem, FP: fingerprintHash(c.Fingerprint), Balance: a.Credits.Balance()})
	s.charges[c.Idem] = usageRef{a, len(a.Usage) - 1}
	return nil
}

func (s *State) hold(op *Op) error {
	h := op.Hold
	a := s.Accounts[op.Account]
	if a == nil || h == nil {
		return errNoAccount
	}
	if _, dup := s.HoldIdem[h.Idem]; dup || s.Holds[h.ID] != nil {
		return credits.Errorf(shared.CodeConflict, "idempotency key %q was used", h.Idem)
	}
	if _, err := a.Credits.Reserve(h.ID, h.Credits, op.At, h.ExpiresAt); err != nil {
		return err
	}
	s.Holds[h.ID] = &HoldRec{ID: h.ID, Account: a.ID, Idem: h.Idem, Fingerprint: h.Fingerprint, Credits: h.Credits,
		Service: h.Service, CreatedAt: op.At, ExpiresAt: h.ExpiresAt, State: credits.HoldOpen}
	s.HoldIdem[h.Idem] = h.ID
	return nil
}

func (s *State) closeHold(op *Op) error {
	c := op.Capture
	if c == nil {
		return errNoAccount
	}
	h := s.Holds[c.Hold]
	if h == nil {
		return credits.Errorf(shared.CodeNotFound, "no such hold")
	}
	a := s.Accounts[h.Account]
	var err error
	if op.Type == OpCapture {
		_, err = a.Credits.Capture(h.ID, c.Credits, op.At)
	} else {
		_, err = a.Credits.Release(h.ID, op.At)
	}
	if err != nil {
		return err
	}
	h.State, h.Captured, h.Balance = credits.HoldReleased, 0, a.Credits.Balance()
	if op.Type == OpCapture {
		h.State, h.Captured = credits.HoldCaptured, c.Credits
		h.CaptureFP = fmt.Sprint(c.Credits)
		svc := c.Service
		if svc == "" {
			svc = h.Service
		}
		a.Usage = append(a.Usage, Usage{ID: h.ID, Kind: UsageCapture, Service: svc, Units: unitsOf(c.Units),
			Credits: c.Credits, At: op.At.UnixNano(), Idem: h.Idem, Balance: h.Balance})
	}
	return nil
}

func (s *State) audit(op *Op, seq int64) {
	r := AuditRec{Seq: seq, At: op.At, Type: op.Type, Account: op.Account}
	if op.Admin != nil {
		r.Who, r.Why, r.Action = op.Admin.Who, op.Admin.Why, op.Admin.Action
	} else {
		r.Who, r.Action = "system", op.Type
		if op.Clawback != nil {
			r.Why = op.Clawback.Reason
		}
	}
	if op.Lot != nil {
		r.Credits = op.Lot.Credits
	}
	if op.Clawback != nil {
		r.Credits = op.Clawback.Credits
	}
	s.Audit = append(s.Audit, r)
}
