package devchain

import (
	"context"
	_ "embed"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/aispace/credits/shared/ethmath"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// The feed contract, contracts/DevPriceFeed.sol, compiled by contracts/build.sh: solcjs
// 0.8.28 from npm, optimizer on with 200 runs, default EVM version (cancun). The build is
// deterministic; run `go generate ./backend/devchain` after editing the source and commit
// the three files together.
//
//go:generate ./contracts/build.sh
var (
	//go:embed contracts/DevPriceFeed.bin
	feedBytecode string
	//go:embed contracts/DevPriceFeed.abi
	feedABIJSON string

	feedABI = must(abi.JSON(strings.NewReader(feedABIJSON)))
)

// priceRefreshInterval is how often the chain re-posts the current price, far inside the
// 1200 s heartbeat of Chainlink's ETH / USD feed on Base, so that a dev session never
// sees a stale price.
const priceRefreshInterval = time.Minute

// feedOwnerKey deploys the feed and posts its answers. It is derived from a public string,
// so it is the same on every dev chain (and worthless anywhere else): the feed's address
// does not depend on the dev wallet or DataDir.
var feedOwnerKey = must(crypto.ToECDSA(crypto.Keccak256([]byte("aispace-credits devchain price feed owner"))))

var feedOwnerAddress = crypto.PubkeyToAddress(feedOwnerKey.PublicKey)

// PriceFeedAddress is where the price feed lives on every dev chain: the feed owner's
// first contract.
var PriceFeedAddress = crypto.CreateAddress(feedOwnerAddress, 0)

// PriceFeed returns the address of the chain's Chainlink-style ETH / USD feed
// (PriceFeedAddress). It answers decimals() (8), description() ("ETH / USD"),
// version(), getRoundData(uint80) and latestRoundData() like an AggregatorV3, whose
// updatedAt is the timestamp of the block that posted the answer.
func (c *Chain) PriceFeed() common.Address { return PriceFeedAddress }

// SetPrice posts usd (ETH / USD, a decimal string with at most 8 places, like
// "3150.12") as the feed's new answer, seals a block with it, and returns once it is on
// the chain. The chain keeps re-posting this price from then on.
func (c *Chain) SetPrice(ctx context.Context, usd string) error {
	answer, err := parseAnswer(usd)
	if err != nil {
		return fmt.Errorf("devchain: set price: %w", err)
	}
	tx, err := c.postAnswer(ctx, answer)
	if err != nil {
		return err
	}
	c.commitPending()
	return c.waitSuccess(ctx, tx)
}

// setUpPriceFeed deploys the feed on a new chain and posts the initial answer, each in
// a block of its own (the post's gas is estimated against the deployed code), before the
// chain seals blocks by itself.
func (c *Chain) setUpPriceFeed(ctx context.Context) error {
	code, err := c.client.CodeAt(ctx, PriceFeedAddress, nil)
	if err != nil {
		return fmt.Errorf("devchain: price feed code: %w", err)
	}
	if len(code) == 0 {
		deploy, err := c.Transact(ctx, c.feedOwner, nil, nil, common.FromHex(feedBytecode))
		if err != nil {
			return fmt.Errorf("devchain: deploy price feed: %w", err)
		}
		if got := crypto.CreateAddress(feedOwnerAddress, deploy.Nonce()); got != PriceFeedAddress {
			return fmt.Errorf("devchain: price feed would be deployed at %s, not %s: the feed owner has sent transactions already", got, PriceFeedAddress)
		}
		c.Commit()
		if err := c.waitSuccess(ctx, deploy); err != nil {
			return fmt.Errorf("devchain: deploy price feed: %w", err)
		}
	}
	post, err := c.postAnswer(ctx, nil)
	if err != nil {
		return err
	}
	c.Commit()
	return c.waitSuccess(ctx, post)
}

// refreshPrice re-posts the current answer, for the next block to seal.
func (c *Chain) refreshPrice(ctx context.Context) {
	if _, err := c.postAnswer(ctx, nil); err != nil && ctx.Err() == nil {
		c.log.Warn("dev chain: refresh the price feed", "err", err)
	}
}

// postAnswer makes answer the current one, unless it is nil, and submits a transaction
// posting the current answer. priceMu is held throughout, so that answers are posted in
// the order they were set.
func (c *Chain) postAnswer(ctx context.Context, answer *big.Int) (*types.Transaction, error) {
	c.priceMu.Lock()
	defer c.priceMu.Unlock()
	if answer != nil {
		c.answer = answer
	}
	data, err := feedABI.Pack("updateAnswer", c.answer)
	if err != nil {
		return nil, fmt.Errorf("devchain: encode updateAnswer: %w", err)
	}
	tx, err := c.Transact(ctx, c.feedOwner, &PriceFeedAddress, nil, data)
	if err != nil {
		return nil, fmt.Errorf("devchain: post price: %w", err)
	}
	return tx, nil
}

// waitSuccess waits for tx's receipt and fails unless the transaction succeeded.
func (c *Chain) waitSuccess(ctx context.Context, tx *types.Transaction) error {
	receipt, err := c.WaitReceipt(ctx, tx.Hash())
	if err != nil {
		return err
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		return fmt.Errorf("devchain: transaction %s failed", tx.Hash())
	}
	return nil
}

// parseAnswer turns an ETH / USD price into the feed's answer, which has the 8 decimals
// of a PriceE8.
func parseAnswer(usd string) (*big.Int, error) {
	price, err := ethmath.ParsePrice(usd)
	if err != nil {
		return nil, err
	}
	return big.NewInt(int64(price)), nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
