package ledger

import (
	"math/big"
	"slices"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
)

// Purchase is one buyer's purchase, card or crypto, from its creation to its credit.
type Purchase struct {
	ID         string
	SecretHash keys.Hash // the purchase secret, hashed: it is shown once, never stored
	Method     string
	Cents      shared.Cents
	Credits    int64 // what the quote promised (for a card, exactly cents × 100)
	Status     string
	CreatedAt  time.Time
	Failure    string

	// Account is the account topped up (bought while logged in) or, once credited,
	// the account the purchase opened; NewAccount says which. A new account's key is
	// delivered once, to the holder of the purchase secret (KeyShown).
	Account    string
	NewAccount bool
	KeyShown   bool

	// Crypto.
	Wallet    string // the connected wallet, lower-case hex
	Wei       string // quoted, decimal
	PriceE8   int64  // the locked ETH/USD price
	Source    string // where the price came from
	ExpiresAt time.Time
	TxHash    string // submitted by the page, or matched by the watcher

	// Card.
	SessionID     string
	PaymentIntent string
	RefundedCents int64 // cumulative, as Stripe reports it
	ClawedBack    int64 // credits taken back by refunds and lost disputes
	Disputes      map[string]string

	CreditsGranted int64
	Lot            string
}

// Payment is a transfer to the payment address found on chain.
type Payment struct {
	Tx         string // lower-case 0x hash
	From       string // the wallet (for internal transfers, the transaction's signer)
	Wei        string // what arrived, decimal
	Internal   bool
	Block      uint64
	BlockHash  string
	BlockTime  time.Time
	Purchase   string // "" while unclaimed
	Canonical  bool   // false once a reorg removed its block and until it is seen again
	ReorgedAt  uint64 // the head when a reorg removed it (0: never, or seen again)
	Credited   bool
	Credits    int64
	PriceE8    int64 // the price it was credited at, or the price at its confirmation when unclaimed
	Account    string
	ClawedBack bool
}

// Chain is where the watcher stands, journaled with every step.
type Chain struct {
	Number uint64   // the last processed block
	Recent []string // hashes of the latest blocks up to Number, oldest first
	Head   uint64   // the node's head at the last step
}

// PurchaseOp creates a purchase, or records a buyer's transaction hash for it.
type PurchaseOp struct {
	Purchase *Purchase `json:"purchase,omitempty"`
	Submit   string    `json:"submit,omitempty"` // with ID-less op: purchase id in Ref
	Ref      string    `json:"ref,omitempty"`
	Session  string    `json:"session,omitempty"` // a Checkout Session attached to a card purchase
	Status   string    `json:"status,omitempty"`  // expired, failed
	Reason   string    `json:"reason,omitempty"`
	KeyShown bool      `json:"key_shown,omitempty"` // the new account's key was delivered
}

// PaymentOp is the watcher's news about one transaction, or its credit.
type PaymentOp struct {
	Kind      string    `json:"kind"` // seen, reorged, credit, clawback
	Tx        string    `json:"tx"`
	From      string    `json:"from,omitempty"`
	Wei       string    `json:"wei,omitempty"`
	Internal  bool      `json:"internal,omitempty"`
	Block     uint64    `json:"block,omitempty"`
	BlockHash string    `json:"block_hash,omitempty"`
	BlockTime time.Time `json:"block_time,omitzero"`
	Purchase  string    `json:"purchase,omitempty"`
	Head      uint64    `json:"head,omitempty"`
	Credit    *CreditOp `json:"credit,omitempty"`
	PriceE8   int64     `json:"price_e8,omitempty"`
}

// CreditOp credits a purchase: into its account, or into a new one with a new key.
type CreditOp struct {
	Purchase string         `json:"purchase,omitempty"`
	Account  string         `json:"account"`
	NewKey   *KeyOp         `json:"new_key,omitempty"`
	Lot      string         `json:"lot"`
	Credits  int64          `json:"credits"`
	Source   credits.Source `json:"source"`
	PriceE8  int64          `json:"price_e8,omitempty"`
	Wallet   string         `json:"wallet,omitempty"`
}

// ChainOp moves the watcher's cursor: new blocks, or a rollback to an ancestor.
type ChainOp struct {
	Blocks   []BlockRef `json:"blocks,omitempty"`
	Ancestor *uint64    `json:"ancestor,omitempty"`
	Head     uint64     `json:"head"`
	Keep     int        `json:"keep,omitempty"`
}

// BlockRef is a block as the cursor remembers it.
type BlockRef struct {
	Number uint64 `json:"n"`
	Hash   string `json:"hash"`
}

// CardOp is Stripe's news about a card purchase.
type CardOp struct {
	Kind          string    `json:"kind"` // credit, refund, dispute
	Purchase      string    `json:"purchase"`
	PaymentIntent string    `json:"intent,omitempty"`
	RefundedCents int64     `json:"refunded_cents,omitempty"`
	Dispute       string    `json:"dispute,omitempty"`
	Outcome       string    `json:"outcome,omitempty"` // opened, won, lost
	AmountCents   int64     `json:"amount_cents,omitempty"`
	EventID       string    `json:"event,omitempty"`
	Credit        *CreditOp `json:"credit,omitempty"`
}

// Dispute outcomes.
const (
	DisputeOpened = "opened"
	DisputeWon    = "won"
	DisputeLost   = "lost"
)

var (
	ErrNoPurchase = credits.Errorf(shared.CodeNotFound, "no such purchase")
	ErrTxTaken    = credits.Errorf(shared.CodeConflict, "this transaction already paid for another purchase")
)

func (s *State) applyPurchase(op *Op) error {
	p := op.Purchase
	switch {
	case p.Purchase != nil:
		np := *p.Purchase
		if s.Purchases[np.ID] != nil {
			return credits.Errorf(shared.CodeConflict, "purchase %s exists", np.ID)
		}
		np.CreatedAt = op.At
		if np.Status == "" {
			np.Status = shared.StatusPending
		}
		s.Purchases[np.ID] = &np
		if np.Wallet != "" {
			s.Quotes[np.Wallet] = append(s.Quotes[np.Wallet], np.ID)
		}
		if np.SessionID != "" {
			s.Sessions[np.SessionID] = np.ID
		}
	case p.Submit != "":
		pu := s.Purchases[p.Ref]
		if pu == nil {
			return ErrNoPurchase
		}
		if other, ok := s.TxOf[p.Submit]; ok && other != pu.ID {
			return ErrTxTaken
		}
		if pu.TxHash != "" && pu.TxHash != p.Submit {
			return credits.Errorf(shared.CodeConflict, "this purchase is already paid by another transaction")
		}
		pu.TxHash = p.Submit
		s.TxOf[p.Submit] = pu.ID
		if pu.Status == shared.StatusPending || pu.Status == shared.StatusExpired {
			pu.Status = shared.StatusSubmitted
		}
		// The watcher may have seen it first, as an unclaimed payment.
		if pay := s.Payments[p.Submit]; pay != nil && pay.Purchase == "" && !pay.Credited {
			pay.Purchase = pu.ID
			pu.Status = shared.StatusSeen
			// It may have been confirmed already as unclaimed, and set aside for a
			// claim by signature: it is this purchase's now, so it waits for its
			// credit again.
			if pay.Canonical {
				s.Awaiting[p.Submit] = true
			}
		}
	case p.Session != "":
		pu := s.Purchases[p.Ref]
		if pu == nil {
			return ErrNoPurchase
		}
		pu.SessionID = p.Session
		s.Sessions[p.Session] = pu.ID
	case p.KeyShown:
		pu := s.Purchases[p.Ref]
		if pu == nil || !pu.NewAccount || pu.KeyShown {
			return credits.Errorf(shared.CodeConflict, "no key to deliver for this purchase")
		}
		pu.KeyShown = true
	case p.Status != "":
		pu := s.Purchases[p.Ref]
		if pu == nil {
			return ErrNoPurchase
		}
		if pu.Status == shared.StatusCredited {
			return credits.Errorf(shared.CodeConflict, "purchase %s is credited", pu.ID)
		}
		pu.Status, pu.Failure = p.Status, p.Reason
	}
	return nil
}

func (s *State) applyPayment(op *Op) error {
	p := op.Payment
	switch p.Kind {
	case "seen":
		pay := s.Payments[p.Tx]
		if pay == nil {
			pay = &Payment{Tx: p.Tx, From: p.From, Wei: p.Wei, Internal: p.Internal}
			s.Payments[p.Tx] = pay
		}
		pay.Block, pay.BlockHash, pay.BlockTime, pay.Canonical, pay.ReorgedAt = p.Block, p.BlockHash, p.BlockTime, true, 0
		delete(s.Reorged, p.Tx)
		if !pay.Credited {
			s.Awaiting[p.Tx] = true
		}
		if pay.Purchase == "" && p.Purchase != "" {
			pay.Purchase = p.Purchase
			s.TxOf[p.Tx] = p.Purchase
		}
		if pu := s.Purchases[pay.Purchase]; pu != nil && (pu.TxHash == "" || pu.TxHash == p.Tx) {
			pu.TxHash = p.Tx
			if pay.Credited {
				pu.Status = shared.StatusCredited
			} else {
				pu.Status = shared.StatusSeen
			}
		}
	case "reorged":
		pay := s.Payments[p.Tx]
		if pay == nil {
			return credits.Errorf(shared.CodeNotFound, "no payment %s", p.Tx)
		}
		pay.Canonical, pay.ReorgedAt = false, max(p.Head, 1)
		s.Reorged[p.Tx] = true
		if pu := s.Purchases[pay.Purchase]; pu != nil && pu.TxHash == p.Tx {
			pu.Status = shared.StatusSubmitted
		}
	case "confirmed": // an unclaimed payment confirmed: remember the price of the moment
		pay := s.Payments[p.Tx]
		if pay == nil {
			return credits.Errorf(shared.CodeNotFound, "no payment %s", p.Tx)
		}
		pay.PriceE8 = p.PriceE8
		delete(s.Awaiting, p.Tx) // unclaimed: it waits for its sender's claim now
	case "credit":
		if p.Credit == nil {
			return credits.Errorf(shared.CodeInvalid, "a credit needs its amounts")
		}
		pay := s.Payments[p.Tx]
		if pay == nil {
			return credits.Errorf(shared.CodeNotFound, "no payment %s", p.Tx)
		}
		if pay.Credited {
			return credits.Errorf(shared.CodeConflict, "payment %s is credited", p.Tx)
		}
		a, err := s.credit(op.At, p.Credit)
		if err != nil {
			return err
		}
		pay.Credited, pay.Credits, pay.Account, pay.PriceE8 = true, p.Credit.Credits, a.ID, p.Credit.PriceE8
		if pay.Purchase == "" {
			pay.Purchase = p.Credit.Purchase
		}
		if pu := s.Purchases[pay.Purchase]; pu != nil {
			if pu.TxHash == "" {
				pu.TxHash = p.Tx
			}
			s.TxOf[p.Tx] = pu.ID
		}
		delete(s.Awaiting, p.Tx)
	case "clawback":
		pay := s.Payments[p.Tx]
		if pay == nil || !pay.Credited || pay.ClawedBack {
			return credits.Errorf(shared.CodeConflict, "payment %s has nothing to claw back", p.Tx)
		}
		a := s.Accounts[pay.Account]
		if a == nil {
			return errNoAccount
		}
		lot := ""
		if pu := s.Purchases[pay.Purchase]; pu != nil {
			lot = pu.Lot
			pu.Status, pu.Failure = shared.StatusFailed, "the payment's block left the chain and the transaction never came back"
		}
		a.Credits.Clawback(lot, pay.Credits, op.At)
		pay.ClawedBack = true
		delete(s.Reorged, p.Tx)
		s.Audit = append(s.Audit, AuditRec{At: op.At, Type: OpClawback, Account: a.ID, Who: "system",
			Why: "payment " + pay.Tx + " reorged out and never re-included", Action: "clawback", Credits: pay.Credits})
	default:
		return credits.Errorf(shared.CodeInvalid, "unknown payment op %q", p.Kind)
	}
	return nil
}

// credit adds a purchase's (or an unclaimed payment's) credits to its account,
// opening the account first when the buyer had none.
func (s *State) credit(at time.Time, c *CreditOp) (*Account, error) {
	if c.Credits <= 0 || c.Account == "" || c.Lot == "" {
		return nil, credits.Errorf(shared.CodeInvalid, "a credit needs an account, a lot and credits")
	}
	a := s.Accounts[c.Account]
	if a == nil {
		if c.NewKey == nil {
			return nil, errNoAccount
		}
		if _, taken := s.ByKey[c.NewKey.Hash]; taken {
			return nil, credits.Errorf(shared.CodeConflict, "key in use")
		}
		a = &Account{ID: c.Account, Key: *c.NewKey, Status: StatusActive, Tier: DefaultTier, CreatedAt: at}
		a.Credits.Allowance = s.Tiers[DefaultTier]
		s.Accounts[a.ID] = a
		s.ByKey[a.Key.Hash] = a.ID
	} else if c.NewKey != nil {
		return nil, credits.Errorf(shared.CodeConflict, "account %s exists", c.Account)
	}
	if a.Credits.Lot(c.Lot) != nil {
		return nil, credits.Errorf(shared.CodeConflict, "lot %s exists", c.Lot)
	}
	a.Credits.Advance(at)
	a.Credits.AddLot(&credits.Lot{ID: c.Lot, Source: c.Source, Ref: c.Purchase, Credits: c.Credits, AddedAt: at})
	if pu := s.Purchases[c.Purchase]; pu != nil {
		pu.Status, pu.Account, pu.NewAccount = shared.StatusCredited, a.ID, c.NewKey != nil
		pu.CreditsGranted, pu.Lot = c.Credits, c.Lot
	}
	if c.Wallet != "" && !slices.Contains(s.Paid[c.Wallet], a.ID) {
		s.Paid[c.Wallet] = append(s.Paid[c.Wallet], a.ID)
	}
	return a, nil
}

func (s *State) applyChain(op *Op) error {
	c := op.Chain
	if c.Ancestor != nil {
		anc := *c.Ancestor
		if anc > s.Chain.Number {
			return credits.Errorf(shared.CodeInvalid, "rollback above the cursor")
		}
		drop := int(min(s.Chain.Number-anc, uint64(len(s.Chain.Recent))))
		s.Chain.Recent = slices.Clone(s.Chain.Recent[:len(s.Chain.Recent)-drop])
		s.Chain.Number = anc
	}
	for _, b := range c.Blocks {
		if b.Number != s.Chain.Number+1 && !(s.Chain.Number == 0 && len(s.Chain.Recent) == 0) {
			return credits.Errorf(shared.CodeInvalid, "block %d does not follow %d", b.Number, s.Chain.Number)
		}
		s.Chain.Recent = append(s.Chain.Recent, b.Hash)
		s.Chain.Number = b.Number
	}
	keep := c.Keep
	if keep <= 0 {
		keep = 64
	}
	if len(s.Chain.Recent) > keep {
		s.Chain.Recent = slices.Clone(s.Chain.Recent[len(s.Chain.Recent)-keep:])
	}
	s.Chain.Head = max(c.Head, s.Chain.Number)
	return nil
}

func (s *State) applyCard(op *Op) error {
	c := op.Card
	pu := s.Purchases[c.Purchase]
	if pu == nil {
		return ErrNoPurchase
	}
	if c.PaymentIntent != "" && pu.PaymentIntent == "" {
		pu.PaymentIntent = c.PaymentIntent
		s.Intents[c.PaymentIntent] = pu.ID
	}
	a := s.Accounts[pu.Account]
	switch c.Kind {
	case "credit":
		if c.Credit == nil || pu.Status == shared.StatusCredited {
			return credits.Errorf(shared.CodeConflict, "purchase %s is credited", pu.ID)
		}
		if _, err := s.credit(op.At, c.Credit); err != nil {
			return err
		}
	case "refund":
		if c.RefundedCents <= pu.RefundedCents {
			return nil // an older or repeated report: nothing more to take back
		}
		delta := (c.RefundedCents - pu.RefundedCents) * shared.CreditsPerCent
		pu.RefundedCents = c.RefundedCents
		delta = min(delta, pu.CreditsGranted-pu.ClawedBack)
		if a != nil && delta > 0 {
			a.Credits.Clawback(pu.Lot, delta, op.At)
			pu.ClawedBack += delta
			s.Audit = append(s.Audit, AuditRec{At: op.At, Type: OpClawback, Account: a.ID, Who: "system",
				Why: "card refund on purchase " + pu.ID, Action: "clawback", Credits: delta})
		}
	case "dispute":
		if pu.Disputes == nil {
			pu.Disputes = map[string]string{}
		}
		prev := pu.Disputes[c.Dispute]
		if prev == DisputeWon || prev == DisputeLost || prev == c.Outcome {
			return nil // closed disputes are final; repeats change nothing
		}
		pu.Disputes[c.Dispute] = c.Outcome
		if a == nil {
			return nil
		}
		switch c.Outcome {
		case DisputeOpened:
			if a.Status == StatusActive {
				a.Status = StatusSuspended
				a.KeyGen++
			}
		case DisputeWon, DisputeLost:
			if a.Status == StatusSuspended && !s.openDispute(a.ID) {
				a.Status = StatusActive
				a.KeyGen++
			}
			if c.Outcome == DisputeLost {
				n := min(c.AmountCents*shared.CreditsPerCent, pu.CreditsGranted-pu.ClawedBack)
				if n > 0 {
					a.Credits.Clawback(pu.Lot, n, op.At)
					pu.ClawedBack += n
					s.Audit = append(s.Audit, AuditRec{At: op.At, Type: OpClawback, Account: a.ID, Who: "system",
						Why: "lost card dispute " + c.Dispute + " on purchase " + pu.ID, Action: "clawback", Credits: n})
				}
			}
		}
	default:
		return credits.Errorf(shared.CodeInvalid, "unknown card op %q", c.Kind)
	}
	return nil
}

// openDispute reports whether any purchase of the account has a dispute still open.
func (s *State) openDispute(account string) bool {
	for _, pu := range s.Purchases {
		if pu.Account != account {
			continue
		}
		for _, o := range pu.Disputes {
			if o == DisputeOpened {
				return true
			}
		}
	}
	return false
}

// creditsFor is what a payment buys at a price: exactly what arrived, at that price.
func creditsFor(wei string, priceE8 int64) int64 {
	w, ok := new(big.Int).SetString(wei, 10)
	if !ok || priceE8 <= 0 {
		return 0
	}
	return ethmath.CreditsForWei(w, ethmath.PriceE8(priceE8))
}
