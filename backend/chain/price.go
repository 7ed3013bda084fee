package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/aispace/credits/shared/ethmath"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Price sources, as API.md's "source" field names them.
const (
	SourceChainlink = "chainlink"
	SourceSpot      = "spot"
)

// DefaultAggregator is Chainlink's ETH/USD feed on Base mainnet (8 decimals,
// heartbeat 1200 s).
var DefaultAggregator = common.HexToAddress("0x71041dddad3595F9CEd3DcCFBe3D1F4b0a16Bb70")

// Defaults of PriceFeed.
const (
	DefaultHeartbeat   = 1200 * time.Second
	DefaultStaleMargin = 120 * time.Second
	DefaultSpotURL     = "https://api.coinbase.com/v2/prices/ETH-USD/spot"
)

// latestRoundDataSelector is the first 4 bytes of keccak256("latestRoundData()").
var latestRoundDataSelector = hexutil.Bytes{0xfe, 0xaf, 0x96, 0x8c}

// ErrPriceUnavailable is wrapped by every error of PriceFeed.Price: no source had a
// fresh price, so no crypto quote may be issued. API.md calls it price_unavailable.
var ErrPriceUnavailable = errors.New("chain: no fresh ETH/USD price")

// Price is the price of one ETH in USD, where it came from and when it was set.
type Price struct {
	USD       ethmath.PriceE8
	Source    string    // SourceChainlink or SourceSpot
	UpdatedAt time.Time // the feed's round time, or when the spot price was read
}

// PriceFeed reads ETH/USD from a Chainlink aggregator on chain and, when that fails or
// is stale, from an HTTP spot price in Coinbase's shape. The zero value of each field
// means its default.
type PriceFeed struct {
	RPC        Caller         // for eth_call; nil skips Chainlink
	Aggregator common.Address // zero means DefaultAggregator
	Decimals   uint8          // of the aggregator's answer; 0 means 8
	// Heartbeat is the longest the feed goes without a new round; a round older than
	// Heartbeat + StaleMargin is stale and never used.
	Heartbeat   time.Duration
	StaleMargin time.Duration
	SpotURL     string // zero means DefaultSpotURL
	NoSpot      bool   // true: Chainlink only
	HTTPClient  *http.Client
	// SourceTimeout bounds each source, so a hanging RPC leaves time for the
	// fallback. Default 10 s.
	SourceTimeout time.Duration
	Now           func() time.Time
}

// Price returns a fresh price: Chainlink's if it is fresh, else the spot price. If
// neither can be had, the error wraps ErrPriceUnavailable and says why for each source.
func (f *PriceFeed) Price(ctx context.Context) (Price, error) {
	var errs []error
	if f.RPC != nil {
		p, err := f.chainlink(ctx)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("chainlink: %w", err))
	}
	if !f.NoSpot {
		p, err := f.spot(ctx)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("spot: %w", err))
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no source configured"))
	}
	return Price{}, fmt.Errorf("%w: %w", ErrPriceUnavailable, errors.Join(errs...))
}

func (f *PriceFeed) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *PriceFeed) timeout() time.Duration {
	if f.SourceTimeout > 0 {
		return f.SourceTimeout
	}
	return 10 * time.Second
}

// roundData is the answer of AggregatorV3Interface.latestRoundData().
type roundData struct {
	RoundID         *big.Int
	Answer          *big.Int // signed
	StartedAt       *big.Int
	UpdatedAt       *big.Int
	AnsweredInRound *big.Int
}

// decodeRoundData decodes the ABI encoding of (uint80, int256, uint256, uint256,
// uint80): five 32-byte words.
func decodeRoundData(b []byte) (roundData, error) {
	if len(b) != 5*32 {
		return roundData{}, fmt.Errorf("latestRoundData returned %d bytes, want 160 (is the aggregator address right?)", len(b))
	}
	word := func(i int) *big.Int { return new(big.Int).SetBytes(b[i*32 : (i+1)*32]) }
	answer := word(1)
	if b[32]&0x80 != 0 { // two's complement: a negative answer
		answer.Sub(answer, new(big.Int).Lsh(big.NewInt(1), 256))
	}
	return roundData{word(0), answer, word(2), word(3), word(4)}, nil
}

func (f *PriceFeed) chainlink(ctx context.Context) (Price, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	agg := f.Aggregator
	if agg == (common.Address{}) {
		agg = DefaultAggregator
	}
	var out hexutil.Bytes
	call := map[string]any{"to": agg, "data": latestRoundDataSelector}
	if err := f.RPC.Call(ctx, &out, "eth_call", call, "latest"); err != nil {
		return Price{}, err
	}
	rd, err := decodeRoundData(out)
	if err != nil {
		return Price{}, err
	}
	usd, err := scaleAnswer(rd.Answer, f.Decimals)
	if err != nil {
		return Price{}, err
	}
	if !rd.UpdatedAt.IsInt64() || rd.UpdatedAt.Sign() <= 0 {
		return Price{}, fmt.Errorf("round %s has no valid update time", rd.RoundID)
	}
	p := Price{USD: usd, Source: SourceChainlink, UpdatedAt: time.Unix(rd.UpdatedAt.Int64(), 0).UTC()}
	return p, f.fresh(p)
}

// scaleAnswer turns an answer with decimals places (0 means 8) into a PriceE8,
// exactly or not at all.
func scaleAnswer(answer *big.Int, decimals uint8) (ethmath.PriceE8, error) {
	if decimals == 0 {
		decimals = ethmath.PriceDecimals
	}
	v := new(big.Int).Set(answer)
	if d := int64(decimals) - ethmath.PriceDecimals; d < 0 {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(-d), nil))
	} else if d > 0 {
		// More precision than a PriceE8 holds: the extra digits are cut, which moves
		// the price by less than 10^-8 USD.
		v.Quo(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(d), nil))
	}
	if v.Sign() <= 0 || !v.IsInt64() {
		return 0, fmt.Errorf("answer %s (%d decimals) is not a usable price", answer, decimals)
	}
	return ethmath.PriceE8(v.Int64()), nil
}

// fresh refuses a price older than the heartbeat plus the margin, or one from the
// future beyond the margin (a clock or a feed gone wrong).
func (f *PriceFeed) fresh(p Price) error {
	hb, margin := f.Heartbeat, f.StaleMargin
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	if margin <= 0 {
		margin = DefaultStaleMargin
	}
	age := f.now().Sub(p.UpdatedAt)
	switch {
	case age > hb+margin:
		return fmt.Errorf("stale: updated %s ago, at %s; the limit is %s", age.Round(time.Second), p.UpdatedAt.Format(time.RFC3339), hb+margin)
	case age < -margin:
		return fmt.Errorf("updated in the future, at %s", p.UpdatedAt.Format(time.RFC3339))
	}
	return nil
}

// spotAnswer is Coinbase's shape: {"data":{"amount":"3150.12","base":"ETH","currency":"USD"}}.
type spotAnswer struct {
	Data struct {
		Amount   string `json:"amount"`
		Base     string `json:"base"`
		Currency string `json:"currency"`
	} `json:"data"`
}

// parseSpot reads a spot answer and refuses any pair but ETH/USD.
func parseSpot(body []byte) (ethmath.PriceE8, error) {
	var a spotAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("malformed answer: %w", err)
	}
	if a.Data.Base != "ETH" || a.Data.Currency != "USD" {
		return 0, fmt.Errorf("answer is for %q/%q, not ETH/USD", a.Data.Base, a.Data.Currency)
	}
	return ethmath.ParsePrice(a.Data.Amount)
}

func (f *PriceFeed) spot(ctx context.Context) (Price, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	u := f.SpotURL
	if u == "" {
		u = DefaultSpotURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Price{}, err
	}
	req.Header.Set("Accept", "application/json")
	hc := f.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Price{}, redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Price{}, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Price{}, redact(err)
	}
	usd, err := parseSpot(body)
	if err != nil {
		return Price{}, err
	}
	// The spot answer has no time of its own: it is as fresh as the request.
	return Price{USD: usd, Source: SourceSpot, UpdatedAt: f.now().UTC()}, nil
}
