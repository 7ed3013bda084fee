package ledger

import (
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
)

// Op is one change of the state machine, as journaled. Every field a replay needs is
// in the op — ids, amounts, times, hashes — so applying the same ops in the same order
// always gives the same state. Type says which payload is set.
type Op struct {
	Type string    `json:"t"`
	At   time.Time `json:"at"`
	// ID names operations that must happen at most once, ever (a payment's credit, a
	// Stripe session's fulfilment, an admin action): a second op with the same ID is
	// refused by the state machine, and the ID is kept in snapshots.
	ID      string `json:"id,omitempty"`
	Account string `json:"acct,omitempty"`

	Open     *OpenOp     `json:"open,omitempty"`
	Key      *KeyOp      `json:"key,omitempty"`
	Lot      *LotOp      `json:"lot,omitempty"`
	Charge   *ChargeOp   `json:"charge,omitempty"`
	Hold     *HoldOp     `json:"hold,omitempty"`
	Capture  *CaptureOp  `json:"capture,omitempty"`
	Cap      *CapOp      `json:"cap,omitempty"`
	Tiers    *TiersOp    `json:"tiers,omitempty"`
	Status   *StatusOp   `json:"status,omitempty"`
	Clawback *ClawbackOp `json:"clawback,omitempty"`
	Admin    *AdminInfo  `json:"admin,omitempty"`

	Purchase *PurchaseOp `json:"purchase,omitempty"`
	Payment  *PaymentOp  `json:"payment,omitempty"`
	Chain    *ChainOp    `json:"chain,omitempty"`
	Card     *CardOp     `json:"card,omitempty"`
}

// The types of operations.
const (
	OpTick     = "tick"      // the lazy daily renewal of one account, made explicit
	OpDay      = "day"       // the daily job: every account advanced to the new day
	OpOpen     = "open"      // a new account with its first key
	OpRotate   = "rotate"    // a new key for an account; the old one stops working
	OpLogout   = "logout"    // every session of the account ends
	OpLot      = "lot"       // credits added (grant, purchase)
	OpCharge   = "charge"    // credits spent by a service
	OpHold     = "hold"      // credits reserved
	OpCapture  = "capture"   // a hold charged (all or part) and closed
	OpRelease  = "release"   // a hold closed with nothing charged
	OpCap      = "cap"       // the holder's daily spending cap set or removed
	OpTiers    = "tiers"     // the daily allowances of the tiers (operator settings)
	OpStatus   = "status"    // a key suspended, restored or revoked
	OpClawback = "clawback"  // credits taken back after a refund or a lost dispute
	OpPurchase = "purchase"  // a purchase created (quote locked or checkout opened)
	OpPayment  = "payment"   // a crypto payment seen, confirmed, credited or reorged out
	OpChain    = "chain"     // the chain watcher's cursor moved (blocks, reorgs)
	OpCard     = "card"      // a card purchase's fulfilment, failure, refund or dispute
	OpKeyShown = "key-shown" // a new account's key was delivered to its buyer
)

// OpenOp creates an account.
type OpenOp struct {
	Key  KeyOp  `json:"key"`
	Tier string `json:"tier,omitempty"`
}

// KeyOp is a key as the state keeps it: its lookup hash, its sealed copy and a hint.
type KeyOp struct {
	Hash   keys.Hash `json:"hash"`
	Sealed []byte    `json:"sealed"`
	Hint   string    `json:"hint"`
}

// LotOp adds credits.
type LotOp struct {
	ID      string         `json:"id"`
	Source  credits.Source `json:"source"`
	Ref     string         `json:"ref,omitempty"`
	Credits int64          `json:"credits"`
}

// ChargeOp spends credits.
type ChargeOp struct {
	ID          string           `json:"id"`
	Idem        string           `json:"idem"`
	Fingerprint string           `json:"fp"`
	Service     string           `json:"svc,omitempty"`
	Units       map[string]int64 `json:"units,omitempty"`
	Credits     int64            `json:"credits"`
}

// HoldOp reserves credits.
type HoldOp struct {
	ID          string    `json:"id"`
	Idem        string    `json:"idem"`
	Fingerprint string    `json:"fp"`
	Credits     int64     `json:"credits"`
	ExpiresAt   time.Time `json:"expires_at"`
	Service     string    `json:"svc,omitempty"`
}

// CaptureOp closes a hold; Credits is what is charged (0 for a release).
type CaptureOp struct {
	Hold    string           `json:"hold"`
	Credits int64            `json:"credits"`
	Service string           `json:"svc,omitempty"`
	Units   map[string]int64 `json:"units,omitempty"`
}

// CapOp sets the daily spending cap; 0 removes it.
type CapOp struct {
	Credits int64 `json:"credits"`
}

// TiersOp sets the daily allowance of every tier.
type TiersOp struct {
	Allowances map[string]int64 `json:"allowances"`
}

// Key statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended" // a dispute is open, or support suspended it
	StatusRevoked   = "revoked"
)

// StatusOp changes the status of an account's key.
type StatusOp struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ClawbackOp takes credits back, first from the lot Lot names.
type ClawbackOp struct {
	Lot     string `json:"lot,omitempty"`
	Credits int64  `json:"credits"`
	Reason  string `json:"reason"`
}

// AdminInfo says who did an admin action and why; such ops are the audit trail.
type AdminInfo struct {
	Who    string `json:"who"`
	Why    string `json:"why"`
	Action string `json:"action"`
}
