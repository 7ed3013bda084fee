package server

import (
	"context"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/shared"
	"github.com/aispace/credits/shared/ethmath"
	"github.com/ethereum/go-ethereum/common"
)

// Crypto payments: quotes, submitted transactions, the price; the websocket is in
// ws.go and recovery by wallet signature in recover.go.

// DefaultQuoteWindow is how long a crypto quote's price holds (SPEC §6).
const DefaultQuoteWindow = 15 * time.Minute

// PriceSource is the live ETH/USD price: fresh or an error (payments.PriceService).
type PriceSource interface {
	// Price returns a price that is not stale, or an error wrapping
	// chain.ErrPriceUnavailable.
	Price(ctx context.Context) (chain.Price, error)
	// Last returns the newest price without reading the source, if it is not stale.
	Last() (chain.Price, bool)
	// Subscribe calls fn with every new price until cancel; fn must not block.
	Subscribe(fn func(chain.Price)) (cancel func())
}

// Crypto is what the server needs for crypto purchases; nil Deps.Crypto refuses them.
// One Crypto serves one Server. Close it when the server is done.
type Crypto struct {
	ChainID        uint64
	ChainName      string // what the PWA calls the chain, and names it to wallets ("Base")
	PaymentAddress common.Address
	Confirmations  uint64        // blocks a payment needs, its own included; 0 means 1
	QuoteWindow    time.Duration // 0 means DefaultQuoteWindow
	WalletRPCURL   string        // the RPC URL the PWA offers wallets (wallet_addEthereumChain)
	ExplorerURL    string        // a block explorer for transaction links; "" for none
	Prices         PriceSource
	// Chain is the chain RPC the watcher reads, for /readyz (serve.go hands it to
	// Deps.Chain).
	Chain Pinger

	mu         sync.Mutex // guards the fields below
	hub        *hub
	challenges *challenges
	closed     bool
}

func (c *Crypto) quoteWindow() time.Duration {
	if c.QuoteWindow > 0 {
		return c.QuoteWindow
	}
	return DefaultQuoteWindow
}

// cryptoParts returns the crypto part's moving pieces, made on first use: the websocket hub
// (which registers with the ledger and the price) and the recovery challenges. The hub
// is nil once Close ran.
func (s *Server) cryptoParts() (*hub, *challenges) {
	c := s.Crypto
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.challenges == nil {
		c.challenges = newChallenges()
	}
	if c.hub == nil && !c.closed {
		c.hub = newHub(s)
	}
	return c.hub, c.challenges
}

// Close closes every purchase websocket (telling pages the server is going away) and
// stops the hub.
func (c *Crypto) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	h := c.hub
	c.hub, c.closed = nil, true
	c.mu.Unlock()
	if h != nil {
		h.close()
	}
}

// OpenSockets is how many purchase websockets are open (Deps.Gauges).
func (c *Crypto) OpenSockets() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	h := c.hub
	c.mu.Unlock()
	if h == nil {
		return 0
	}
	return h.count()
}

// PriceAge is how old the price in use is (Deps.Gauges).
func (c *Crypto) PriceAge() (time.Duration, bool) {
	if c == nil || c.Prices == nil {
		return 0, false
	}
	p, ok := c.Prices.Last()
	if !ok {
		return 0, false
	}
	return time.Since(p.UpdatedAt), true
}

var errNoCrypto = errorf(shared.CodeInvalid, "crypto payments are not set up on this server")

// errNoPrice is what a buyer is told when no fresh price can be had: never a quote
// on an old price.
var errNoPrice = errorf(shared.CodePriceUnavailable, "no up-to-date ETH/USD price right now, so no crypto quote can be given; try again in a minute or pay by card")

// createCryptoPurchase locks the current price for the quote window and records the
// purchase: paying exactly Wei buys exactly Credits (Wei is rounded up, credits are
// rounded down).
func (s *Server) createCryptoPurchase(r *http.Request, req shared.CreatePurchaseRequest, p *ledger.Purchase, secret string) (shared.PurchaseCreated, error) {
	if s.Crypto == nil {
		return shared.PurchaseCreated{}, errNoCrypto
	}
	c := s.Crypto
	if req.Wallet != "" {
		w, err := parseAddress(req.Wallet)
		if err != nil {
			return shared.PurchaseCreated{}, errorf(shared.CodeInvalid, "wallet: %s", err.Error())
		}
		p.Wallet = w
	}
	price, err := c.Prices.Price(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "crypto quote refused: no fresh price", "err", err)
		return shared.PurchaseCreated{}, errNoPrice
	}
	wei := ethmath.WeiForCredits(p.Credits, price.USD)
	p.Wei, p.PriceE8, p.Source = wei.String(), int64(price.USD), price.Source
	// Whole seconds, as block times are: a payment in the block of the last second
	// still counts.
	p.ExpiresAt = s.Ledger.Now().Add(c.quoteWindow()).Truncate(time.Second)
	if err := s.Ledger.CreatePurchase(r.Context(), *p); err != nil {
		return shared.PurchaseCreated{}, err
	}
	q := s.cryptoQuote(*p)
	// The deep link opens this purchase's page in MetaMask's browser, which shares no
	// storage with the buyer's: the secret rides in the fragment, which browsers never
	// send to a server, so it stays out of logs and Referer headers.
	if link, err := chain.MetaMaskDappLink(s.Config.PublicURL, purchasePagePath(p.ID)+"#s="+secret); err == nil {
		q.MetaMaskLink = link
	}
	return shared.PurchaseCreated{Crypto: q}, nil
}

// purchasePagePath is the PWA's page of a purchase (app.PurchasePath).
func purchasePagePath(id string) string { return "/purchase/" + id }

// cryptoQuote is a crypto purchase's locked quote as API.md shows it. Its MetaMask
// link has no secret: only the answer that created the purchase knows it.
func (s *Server) cryptoQuote(p ledger.Purchase) *shared.CryptoQuote {
	if s.Crypto == nil || p.Wei == "" {
		return nil
	}
	c := s.Crypto
	wei, _ := new(big.Int).SetString(p.Wei, 10)
	q := &shared.CryptoQuote{
		To:        c.PaymentAddress.Hex(),
		ChainID:   c.ChainID,
		Wei:       p.Wei,
		ETH:       ethmath.FormatETH(wei),
		EthUSD:    ethmath.PriceE8(p.PriceE8).String(),
		ExpiresAt: p.ExpiresAt.UTC().Format(time.RFC3339),
		EIP681:    chain.EIP681(c.PaymentAddress, c.ChainID, wei),
	}
	if link, err := chain.MetaMaskDappLink(s.Config.PublicURL, purchasePagePath(p.ID)); err == nil {
		q.MetaMaskLink = link
	}
	return q
}

// cryptoConfig fills in what the PWA needs to know of the chain.
func (s *Server) cryptoConfig(cfg *shared.Config) {
	c := s.Crypto
	if c == nil {
		return
	}
	cfg.ChainID = c.ChainID
	cfg.ChainName = c.ChainName
	cfg.RPCURL = c.WalletRPCURL
	cfg.ExplorerURL = c.ExplorerURL
	cfg.PaymentAddress = c.PaymentAddress.Hex()
	cfg.Confirmations = int64(max(c.Confirmations, 1))
	cfg.QuoteWindowSeconds = int64(c.quoteWindow() / time.Second)
}

var txHashPattern = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)

// submitTx: POST /api/v1/purchases/{id}/tx {"tx_hash"} → 202 with the purchase's
// status. The same transaction for another purchase is a 409 conflict: one
// transaction pays one purchase, ever.
func (s *Server) submitTx() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Crypto == nil {
			return errNoCrypto
		}
		id := r.PathValue("id")
		if _, _, err := s.purchaseFor(r, id); err != nil {
			return err
		}
		var req shared.SubmitTxRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if !txHashPattern.MatchString(req.TxHash) {
			return errorf(shared.CodeInvalid, "tx_hash must be a transaction hash: 0x and 64 hex digits")
		}
		if err := s.Ledger.SubmitTx(r.Context(), id, strings.ToLower(req.TxHash)); err != nil {
			return err
		}
		p, _, err := s.purchaseFor(r, id)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusAccepted, s.purchaseStatus(p))
		return nil
	}
}

// price: GET /api/v1/price, the live ETH/USD price; 503 price_unavailable when stale.
func (s *Server) price() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Crypto == nil || s.Crypto.Prices == nil {
			return errorf(shared.CodePriceUnavailable, "no price source is set up on this server")
		}
		p, err := s.Crypto.Prices.Price(r.Context())
		if err != nil {
			return errNoPrice
		}
		w.Header().Set("Cache-Control", "public, max-age=5")
		writeJSON(w, http.StatusOK, priceBody(p))
		return nil
	}
}

func priceBody(p chain.Price) shared.Price {
	return shared.Price{EthUSD: p.USD.String(), Source: p.Source, UpdatedAt: p.UpdatedAt.UTC().Format(time.RFC3339)}
}

// parseAddress checks a wallet address (0x and 40 hex digits; when mixed case, with a
// right EIP-55 checksum, which catches typos) and returns it in lower case, as the
// ledger keeps addresses.
func parseAddress(s string) (string, error) {
	if len(s) != 42 || !strings.HasPrefix(s, "0x") || !common.IsHexAddress(s) {
		return "", errorf(shared.CodeInvalid, "an address is 0x and 40 hex digits")
	}
	if hex := s[2:]; hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) && common.HexToAddress(s).Hex() != s {
		return "", errorf(shared.CodeInvalid, "the address's checksum (its mixed case, EIP-55) is wrong: is there a typo?")
	}
	return strings.ToLower(s), nil
}
