package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/shared"
)

// KeyMaker makes a new Secure Key for an account and returns it as the ledger keeps
// it (hash, sealed copy, hint). The plain key is not kept: the buyer gets it by
// opening the sealed copy once (TakeKey).
type KeyMaker func(account string) KeyOp

// CreatePurchase journals a new purchase. The caller fills in the id, the hashed
// secret, the method, the amounts and, for crypto, the quote.
func (l *Ledger) CreatePurchase(ctx context.Context, p Purchase) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		if p.Account != "" {
			if tx.State().Accounts[p.Account] == nil {
				return nil, ErrNoAccount
			}
		}
		return nil, tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Purchase: &p}})
	})
	return err
}

// AttachSession records the Checkout Session of a card purchase.
func (l *Ledger) AttachSession(ctx context.Context, purchaseID, session string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		return nil, tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: purchaseID, Session: session}})
	})
	return err
}

// SubmitTx records the transaction a buyer's wallet sent for a crypto purchase. The
// same transaction for another purchase is a conflict (ErrTxTaken); twice for the
// same purchase is fine.
func (l *Ledger) SubmitTx(ctx context.Context, purchaseID, txHash string) error {
	txHash = strings.ToLower(txHash)
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		pu := st.Purchases[purchaseID]
		if pu == nil {
			return nil, ErrNoPurchase
		}
		if pu.Method != shared.MethodCrypto {
			return nil, credits.Errorf(shared.CodeInvalid, "this is not a crypto purchase")
		}
		if other, ok := st.TxOf[txHash]; ok && other != purchaseID {
			return nil, ErrTxTaken
		}
		if pay := st.Payments[txHash]; pay != nil && pay.Credited && pay.Purchase != purchaseID {
			return nil, ErrTxTaken
		}
		if pu.TxHash == txHash {
			return nil, nil
		}
		return nil, tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: purchaseID, Submit: txHash}})
	})
	return err
}

// SetPurchaseStatus marks a purchase expired or failed (never one that is credited).
func (l *Ledger) SetPurchaseStatus(ctx context.Context, purchaseID, status, reason string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		pu := tx.State().Purchases[purchaseID]
		if pu == nil {
			return nil, ErrNoPurchase
		}
		if pu.Status == status || pu.Status == shared.StatusCredited {
			return nil, nil
		}
		return nil, tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: purchaseID, Status: status, Reason: reason}})
	})
	return err
}

// TakeKey hands out, once, the sealed key of the account a purchase opened: the first
// caller gets it, every later one gets ok=false. It is journaled before it returns,
// so "once" holds across restarts and instances.
func (l *Ledger) TakeKey(ctx context.Context, purchaseID string) (sealed []byte, account string, ok bool, err error) {
	type taken struct {
		sealed  []byte
		account string
	}
	v, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		pu := st.Purchases[purchaseID]
		if pu == nil {
			return nil, ErrNoPurchase
		}
		if pu.Status != shared.StatusCredited || !pu.NewAccount || pu.KeyShown {
			return nil, nil
		}
		a := st.Accounts[pu.Account]
		if a == nil || a.Status == StatusRevoked {
			return nil, nil
		}
		if err := tx.Apply(Op{Type: OpPurchase, Purchase: &PurchaseOp{Ref: purchaseID, KeyShown: true}}); err != nil {
			return nil, err
		}
		return taken{a.Key.Sealed, a.ID}, nil
	})
	if err != nil || v == nil {
		return nil, "", false, err
	}
	t := v.(taken)
	return t.sealed, t.account, true, nil
}

// ChainBlock is a new canonical block as the watcher found it.
type ChainBlock struct {
	Number   uint64
	Hash     string
	Time     time.Time
	Payments []ChainPayment
}

// ChainPayment is a transfer to the payment address in a block.
type ChainPayment struct {
	Tx       string // lower-case hex
	From     string // lower-case hex
	Wei      string // decimal
	Internal bool
}

// ChainStep is one step of the watcher: new blocks, or a rollback to an ancestor.
type ChainStep struct {
	Blocks   []ChainBlock
	Ancestor *uint64
	Head     uint64
}

// ChainParams are the rules a step is applied with.
type ChainParams struct {
	ChainID       uint64
	Confirmations uint64 // blocks needed, including the payment's own (1: the block itself)
	// Price is the ETH/USD price now, used for payments whose quote had expired
	// when they were mined and to record what unclaimed payments were worth. Zero
	// when no fresh price is known: such payments wait.
	PriceE8    int64
	NewKey     KeyMaker
	ReorgGrace uint64 // blocks after which a payment reorged out is clawed back (default 64)
	Keep       int    // block hashes the cursor keeps (default 64)
}

// ChainResult says what a step changed, for the websocket hub and the logs.
type ChainResult struct {
	Purchases  []string // purchases whose status changed
	Credited   []string // purchases credited by this step
	ClawedBack []string // payments clawed back
}

// ApplyChainStep journals one watcher step in one command: the cursor, the payments
// seen in new blocks (matched to a purchase by submitted hash, or by sender and open
// quote), the payments a reorg removed, the credits of payments that reached their
// confirmations, and the clawback of payments a reorg removed for good. Each
// transaction's credit is an operation with an id made of the chain id and its hash,
// so it happens at most once, ever.
func (l *Ledger) ApplyChainStep(ctx context.Context, step ChainStep, p ChainParams) (ChainResult, error) {
	if p.Confirmations == 0 {
		p.Confirmations = 1
	}
	if p.ReorgGrace == 0 {
		p.ReorgGrace = 64
	}
	return submit(ctx, l, func(tx *Tx) (ChainResult, error) {
		st := tx.State()
		var res ChainResult
		touched := map[string]bool{}
		if step.Ancestor != nil {
			for h, pay := range st.Payments {
				if pay.Canonical && pay.Block > *step.Ancestor {
					if err := tx.Apply(Op{Type: OpPayment, Payment: &PaymentOp{Kind: "reorged", Tx: h, Head: step.Head}}); err != nil {
						return ChainResult{}, err
					}
					touched[pay.Purchase] = true
				}
			}
			anc := *step.Ancestor
			if err := tx.Apply(Op{Type: OpChain, Chain: &ChainOp{Ancestor: &anc, Head: step.Head, Keep: p.Keep}}); err != nil {
				return ChainResult{}, err
			}
		}
		if len(step.Blocks) > 0 {
			refs := make([]BlockRef, len(step.Blocks))
			for i, b := range step.Blocks {
				refs[i] = BlockRef{Number: b.Number, Hash: b.Hash}
			}
			if err := tx.Apply(Op{Type: OpChain, Chain: &ChainOp{Blocks: refs, Head: step.Head, Keep: p.Keep}}); err != nil {
				return ChainResult{}, err
			}
			for _, b := range step.Blocks {
				for _, cp := range b.Payments {
					purchase := st.matchPayment(cp, b.Time)
					if err := tx.Apply(Op{Type: OpPayment, Payment: &PaymentOp{Kind: "seen", Tx: cp.Tx, From: cp.From, Wei: cp.Wei,
						Internal: cp.Internal, Block: b.Number, BlockHash: b.Hash, BlockTime: b.Time, Purchase: purchase}}); err != nil {
						return ChainResult{}, err
					}
					touched[purchase] = true
				}
			}
		} else if step.Ancestor == nil && step.Head > st.Chain.Head {
			if err := tx.Apply(Op{Type: OpChain, Chain: &ChainOp{Head: step.Head, Keep: p.Keep}}); err != nil {
				return ChainResult{}, err
			}
		}
		head := st.Chain.Head
		// Payments that reached their confirmations.
		for _, h := range sortedKeys(st.Awaiting) {
			pay := st.Payments[h]
			if !pay.Canonical || pay.Block+p.Confirmations-1 > head {
				continue
			}
			pu := st.Purchases[pay.Purchase]
			if pu == nil {
				if p.PriceE8 > 0 {
					tx.Apply(Op{Type: OpPayment, Payment: &PaymentOp{Kind: "confirmed", Tx: h, PriceE8: p.PriceE8}})
				}
				continue
			}
			price := pu.PriceE8
			if pay.BlockTime.After(pu.ExpiresAt) {
				price = p.PriceE8 // paid after the quote expired: the price at confirmation
			}
			n := creditsFor(pay.Wei, price)
			if n <= 0 {
				continue // no fresh price yet, or dust: it waits
			}
			c := &CreditOp{Purchase: pu.ID, Lot: keys.NewID("lot_"), Credits: n, Source: credits.SourceCrypto, PriceE8: price, Wallet: pay.From}
			switch {
			case pu.Account != "":
				c.Account = pu.Account
			case p.NewKey == nil:
				return ChainResult{}, fmt.Errorf("ledger: a new account needs a key maker")
			default:
				c.Account = keys.NewID("acct_")
				k := p.NewKey(c.Account)
				c.NewKey = &k
			}
			if err := tx.Apply(Op{Type: OpPayment, ID: TxOpID(p.ChainID, h), Payment: &PaymentOp{Kind: "credit", Tx: h, From: pay.From, Credit: c}}); err != nil {
				return ChainResult{}, err
			}
			touched[pu.ID] = true
			res.Credited = append(res.Credited, pu.ID)
		}
		// Payments a reorg removed that never came back.
		for _, h := range sortedKeys(st.Reorged) {
			pay := st.Payments[h]
			if pay.Canonical || head < pay.ReorgedAt+p.ReorgGrace {
				continue
			}
			if pay.Credited && !pay.ClawedBack {
				if err := tx.Apply(Op{Type: OpPayment, ID: "reorg-clawback:" + TxOpID(p.ChainID, h), Payment: &PaymentOp{Kind: "clawback", Tx: h}}); err != nil {
					return ChainResult{}, err
				}
				res.ClawedBack = append(res.ClawedBack, h)
				touched[pay.Purchase] = true
			}
		}
		for id := range touched {
			if id != "" {
				res.Purchases = append(res.Purchases, id)
			}
		}
		slices.Sort(res.Purchases)
		return res, nil
	})
}

// TxOpID is the id of the operation that credits a transaction: one per chain and hash.
func TxOpID(chainID uint64, txHash string) string {
	return fmt.Sprintf("tx:%d:%s", chainID, strings.ToLower(txHash))
}

// matchPayment finds the purchase a payment pays for: the one its hash was submitted
// for, or else the sender's oldest crypto purchase still waiting whose quote was open
// when the block was mined. "" leaves it unclaimed.
func (s *State) matchPayment(cp ChainPayment, at time.Time) string {
	if id, ok := s.TxOf[cp.Tx]; ok {
		return id
	}
	if pay := s.Payments[cp.Tx]; pay != nil && pay.Purchase != "" {
		return pay.Purchase
	}
	for _, id := range s.Quotes[cp.From] {
		pu := s.Purchases[id]
		if pu.TxHash == "" && pu.Status == shared.StatusPending && !at.After(pu.ExpiresAt) {
			return id
		}
	}
	return ""
}

// ClaimResult is what a wallet's claim by signature did.
type ClaimResult struct {
	Account    string
	NewAccount bool
	Credited   int64
	Payments   []string
}

// ClaimPayments credits a wallet's unclaimed confirmed payments, each at the price
// recorded at its confirmation: into the account the wallet last paid into, or a new
// one. The caller has verified the wallet's signature.
func (l *Ledger) ClaimPayments(ctx context.Context, chainID uint64, wallet string, newKey KeyMaker) (ClaimResult, error) {
	wallet = strings.ToLower(wallet)
	return submit(ctx, l, func(tx *Tx) (ClaimResult, error) {
		st := tx.State()
		var res ClaimResult
		if paid := st.Paid[wallet]; len(paid) > 0 {
			res.Account = paid[len(paid)-1]
		}
		for _, h := range sortedPayments(st.Payments) {
			pay := st.Payments[h]
			if pay.From != wallet || pay.Purchase != "" || pay.Credited || !pay.Canonical || pay.PriceE8 == 0 {
				continue
			}
			n := creditsFor(pay.Wei, pay.PriceE8)
			if n <= 0 {
				continue
			}
			c := &CreditOp{Account: res.Account, Lot: keys.NewID("lot_"), Credits: n, Source: credits.SourceCrypto, PriceE8: pay.PriceE8, Wallet: wallet}
			if c.Account == "" {
				c.Account = keys.NewID("acct_")
				k := newKey(c.Account)
				c.NewKey = &k
				res.NewAccount = true
			}
			if err := tx.Apply(Op{Type: OpPayment, ID: TxOpID(chainID, h), Payment: &PaymentOp{Kind: "credit", Tx: h, From: wallet, Credit: c}}); err != nil {
				return ClaimResult{}, err
			}
			res.Account = c.Account
			res.Credited += n
			res.Payments = append(res.Payments, h)
		}
		return res, nil
	})
}

// CardCredit is a paid Checkout Session, as the card package reports it.
type CardCredit struct {
	Purchase      string
	Session       string
	PaymentIntent string
	Cents         shared.Cents
}

// CreditCard credits a paid card purchase exactly once per Checkout Session: into the
// logged-in buyer's account, or a new one. A repeat changes nothing and returns nil.
func (l *Ledger) CreditCard(ctx context.Context, c CardCredit, newKey KeyMaker) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		if _, done := st.Done[CardOpID(c.Session)]; done {
			return nil, nil
		}
		pu := st.Purchases[c.Purchase]
		if pu == nil || pu.Method != shared.MethodCard {
			return nil, ErrNoPurchase
		}
		if pu.SessionID != "" && pu.SessionID != c.Session {
			return nil, credits.Errorf(shared.CodeConflict, "this session belongs to another purchase")
		}
		cr := &CreditOp{Purchase: pu.ID, Account: pu.Account, Lot: keys.NewID("lot_"), Credits: c.Cents.Credits(), Source: credits.SourceCard}
		if cr.Account == "" {
			cr.Account = keys.NewID("acct_")
			k := newKey(cr.Account)
			cr.NewKey = &k
		}
		return nil, tx.Apply(Op{Type: OpCard, ID: CardOpID(c.Session), Card: &CardOp{Kind: "credit", Purchase: pu.ID, PaymentIntent: c.PaymentIntent, Credit: cr}})
	})
	return err
}

// CardOpID is the id of the operation that credits a Checkout Session.
func CardOpID(session string) string { return "card:" + session }

// RefundCard claws back what a refund took, given Stripe's cumulative refunded amount
// of the payment intent: reporting the same or a smaller total changes nothing.
func (l *Ledger) RefundCard(ctx context.Context, paymentIntent string, refundedCents int64, eventID string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		id, ok := st.Intents[paymentIntent]
		if !ok {
			return nil, ErrNoPurchase
		}
		if refundedCents <= st.Purchases[id].RefundedCents {
			return nil, nil
		}
		if a := st.Purchases[id].Account; a != "" {
			tx.Touch(a)
		}
		return nil, tx.Apply(Op{Type: OpCard, Card: &CardOp{Kind: "refund", Purchase: id, PaymentIntent: paymentIntent, RefundedCents: refundedCents, EventID: eventID}})
	})
	return err
}

// DisputeCard records a dispute's news: opened suspends the key, won restores it, lost
// restores it and claws back the disputed amount; each outcome counts once.
func (l *Ledger) DisputeCard(ctx context.Context, paymentIntent, dispute, outcome string, amountCents int64, eventID string) error {
	_, err := l.Submit(ctx, func(tx *Tx) (any, error) {
		st := tx.State()
		id, ok := st.Intents[paymentIntent]
		if !ok {
			return nil, ErrNoPurchase
		}
		prev := st.Purchases[id].Disputes[dispute]
		if prev == outcome || prev == DisputeWon || prev == DisputeLost {
			return nil, nil
		}
		if a := st.Purchases[id].Account; a != "" {
			tx.Touch(a)
		}
		return nil, tx.Apply(Op{Type: OpCard, Card: &CardOp{Kind: "dispute", Purchase: id, PaymentIntent: paymentIntent,
			Dispute: dispute, Outcome: outcome, AmountCents: amountCents, EventID: eventID}})
	})
	return err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedPayments(m map[string]*Payment) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if m[a].Block != m[b].Block {
			return int(m[a].Block) - int(m[b].Block)
		}
		return strings.Compare(a, b)
	})
	return out
}
