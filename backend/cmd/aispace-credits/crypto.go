package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/devchain"
	"github.com/aispace/credits/backend/keys"
	"github.com/aispace/credits/backend/ledger"
	"github.com/aispace/credits/backend/payments"
	"github.com/aispace/credits/backend/server"
	"github.com/aispace/credits/shared"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Crypto payments: settings, and the parts that run beside the HTTP server (the
// chain watcher, the price source).

// defaultPaymentAddress is the address on the credits page (SPEC §6).
const defaultPaymentAddress = "0xA7f3Ad0E69F61864092FAbBa6Cee00AF6e584689"

// cryptoConfig holds the flags of crypto payments. Empty strings mean "the default",
// which differs in dev mode (the dev chain, its feed, no spot price: offline).
type cryptoConfig struct {
	RPC            string
	ChainID        uint64
	ChainName      string
	PaymentAddress string
	Confirmations  uint64
	QuoteWindow    string
	StartBlock     string
	Poll           string
	ReorgGrace     uint64
	PriceFeed      string
	PriceDecimals  uint
	PriceHeartbeat string
	PriceMargin    string
	PriceRefresh   string
	SpotURL        string
	WalletRPC      string
	Explorer       string
}

// cryptoFlags registers the flags of crypto payments.
func cryptoFlags(fs *flag.FlagSet, c *cryptoConfig) {
	fs.StringVar(&c.RPC, "chain-rpc", "", "Base JSON-RPC URLs, comma-separated: http(s) ones for calls, in failover order, ws(s) ones for new heads; empty: crypto payments off (in dev mode: the dev chain)")
	fs.Uint64Var(&c.ChainID, "chain-id", 8453, "the chain the RPC must serve (eth_chainId) and wallets must pay on")
	fs.StringVar(&c.ChainName, "chain-name", "Base", "the chain's name as buyers see it")
	fs.StringVar(&c.PaymentAddress, "payment-address", defaultPaymentAddress, "the address buyers pay ETH to")
	fs.Uint64Var(&c.Confirmations, "confirmations", 1, "blocks a payment needs before it is credited, its own included")
	fs.StringVar(&c.QuoteWindow, "quote-window", "15m", "how long a crypto quote's price holds")
	fs.StringVar(&c.StartBlock, "chain-start-block", "head", `first block a fresh install scans: a number, or "head" (the head at the first start)`)
	fs.StringVar(&c.Poll, "chain-poll", "1s", "how often the head is polled when the RPC offers no websocket")
	fs.Uint64Var(&c.ReorgGrace, "reorg-grace", 64, "blocks after which a credited payment whose block was reorged out, and that never came back, is clawed back")
	fs.StringVar(&c.PriceFeed, "price-feed", "", `Chainlink ETH/USD aggregator address, or "off" (default: Base mainnet's; in dev mode the dev chain's)`)
	fs.UintVar(&c.PriceDecimals, "price-decimals", 8, "decimals of the aggregator's answer")
	fs.StringVar(&c.PriceHeartbeat, "price-heartbeat", "1200s", "the aggregator's heartbeat: a round older than this plus -price-stale-margin is stale")
	fs.StringVar(&c.PriceMargin, "price-stale-margin", "120s", "tolerance beyond the heartbeat before a price is stale")
	fs.StringVar(&c.PriceRefresh, "price-refresh", "10s", "how often the price is read again")
	fs.StringVar(&c.SpotURL, "price-spot-url", "", `HTTP spot price (Coinbase's shape) used when Chainlink fails, or "off" (default: Coinbase's; in dev mode off)`)
	fs.StringVar(&c.WalletRPC, "wallet-rpc-url", "", "the RPC URL the page offers wallets when it adds the chain (default https://mainnet.base.org; in dev mode the dev chain's)")
	fs.StringVar(&c.Explorer, "explorer-url", "", "block explorer for transaction links (default https://basescan.org; none in dev mode)")
}

// keyMaker makes the keys of the accounts crypto purchases open.
func keyMaker(kr *keys.Keyring) ledger.KeyMaker {
	return func(account string) ledger.KeyOp {
		key := kr.NewKey()
		return ledger.KeyOp{Hash: kr.Hash(key), Sealed: kr.Seal(key, account), Hint: shared.KeyHint(key)}
	}
}

// startCrypto starts what crypto payments need and returns the server's part; stop
// ends what it started. A nil *server.Crypto leaves crypto purchases refused: without
// -chain-rpc outside dev mode there is no chain to watch.
func startCrypto(ctx context.Context, c serveConfig, led *ledger.Ledger, kr *keys.Keyring, dev *devchain.Chain, log *slog.Logger) (crypto *server.Crypto, stop func(), err error) {
	cc := c.Crypto
	dur := func(name, v string) (time.Duration, error) {
		d, err := durationOrSeconds(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("-%s: %q is not a positive duration", name, v)
		}
		return d, nil
	}
	window, err := dur("quote-window", cc.QuoteWindow)
	if err != nil {
		return nil, nil, err
	}
	poll, err := dur("chain-poll", cc.Poll)
	if err != nil {
		return nil, nil, err
	}
	heartbeat, err := dur("price-heartbeat", cc.PriceHeartbeat)
	if err != nil {
		return nil, nil, err
	}
	margin, err := dur("price-stale-margin", cc.PriceMargin)
	if err != nil {
		return nil, nil, err
	}
	refresh, err := dur("price-refresh", cc.PriceRefresh)
	if err != nil {
		return nil, nil, err
	}
	if !common.IsHexAddress(cc.PaymentAddress) {
		return nil, nil, fmt.Errorf("-payment-address %q is not an address", cc.PaymentAddress)
	}
	payTo := common.HexToAddress(cc.PaymentAddress)
	var start *uint64
	if cc.StartBlock != "head" {
		n, err := strconv.ParseUint(cc.StartBlock, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf(`-chain-start-block must be a block number or "head", not %q`, cc.StartBlock)
		}
		start = &n
	}
	if cc.Confirmations == 0 {
		return nil, nil, errors.New("-confirmations must be at least 1")
	}

	var rpc chain.RPC
	chainID := cc.ChainID
	inDev := cc.RPC == "" && dev != nil
	switch {
	case cc.RPC != "":
		if rpc, err = chain.NewClient(splitList(cc.RPC), chain.ClientOptions{}); err != nil {
			return nil, nil, err
		}
	case inDev:
		if rpc, err = payments.DevChainRPC(dev); err != nil {
			return nil, nil, err
		}
		chainID = dev.ChainID()
	default:
		log.Info("crypto payments are off: set -chain-rpc to a Base RPC to take ETH")
		return nil, func() {}, nil
	}
	if err := checkChainID(ctx, rpc, chainID); err != nil {
		return nil, nil, err
	}

	feed := &chain.PriceFeed{RPC: rpc, Aggregator: chain.DefaultAggregator, Decimals: uint8(cc.PriceDecimals),
		Heartbeat: heartbeat, StaleMargin: margin, SpotURL: cc.SpotURL}
	switch {
	case cc.PriceFeed == "off":
		feed.RPC = nil
	case cc.PriceFeed != "":
		if !common.IsHexAddress(cc.PriceFeed) {
			return nil, nil, fmt.Errorf(`-price-feed %q is not an address (or "off")`, cc.PriceFeed)
		}
		feed.Aggregator = common.HexToAddress(cc.PriceFeed)
	case inDev:
		feed.Aggregator = dev.PriceFeed()
	}
	if cc.SpotURL == "off" || (cc.SpotURL == "" && inDev) {
		feed.NoSpot, feed.SpotURL = true, ""
	}
	if feed.RPC == nil && feed.NoSpot {
		return nil, nil, errors.New(`-price-feed and -price-spot-url are both "off": crypto payments need a price`)
	}
	walletRPC, explorer := cc.WalletRPC, cc.Explorer
	if inDev {
		walletRPC = cmp.Or(walletRPC, c.PublicURL+"/dev/rpc")
	} else {
		walletRPC = cmp.Or(walletRPC, "https://mainnet.base.org")
		explorer = cmp.Or(explorer, "https://basescan.org")
	}
	name := cc.ChainName
	if inDev {
		name += " (dev chain)"
	}

	prices := &payments.PriceService{Feed: feed, Refresh: refresh, Logger: log}
	runner := &payments.Runner{
		Ledger: led, RPC: rpc, ChainID: chainID, Address: payTo, Confirmations: cc.Confirmations,
		StartBlock: start, Poll: poll, ReorgGrace: cc.ReorgGrace, Prices: prices, NewKey: keyMaker(kr), Logger: log,
	}
	crypto = &server.Crypto{
		ChainID: chainID, ChainName: name, PaymentAddress: payTo, Confirmations: cc.Confirmations,
		QuoteWindow: window, WalletRPCURL: walletRPC, ExplorerURL: explorer, Prices: prices,
		Chain: payments.Pinger{RPC: rpc},
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); prices.Run(rctx) }()
	go func() { defer wg.Done(); runner.Run(rctx) }()
	log.Info("crypto payments on", "chain_id", chainID, "payment_address", payTo.Hex(), "confirmations", cc.Confirmations,
		"price_feed", priceSources(feed), "dev_chain", inDev)
	return crypto, func() {
		cancel()
		wg.Wait()
		crypto.Close()
	}, nil
}

// checkChainID refuses to start on a node of another chain. A node that does not
// answer now is left to the watcher, which checks again before its first step.
func checkChainID(ctx context.Context, rpc chain.RPC, want uint64) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var id hexutil.Uint64
	if err := rpc.Call(cctx, &id, "eth_chainId"); err != nil {
		return nil
	}
	if uint64(id) != want {
		return fmt.Errorf("the chain RPC serves chain id %d, not %d (-chain-id)", uint64(id), want)
	}
	return nil
}

func priceSources(f *chain.PriceFeed) string {
	var s []string
	if f.RPC != nil {
		s = append(s, "chainlink "+f.Aggregator.Hex())
	}
	if !f.NoSpot {
		s = append(s, "spot "+cmp.Or(f.SpotURL, chain.DefaultSpotURL))
	}
	return strings.Join(s, ", then ")
}
