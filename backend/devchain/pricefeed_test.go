package devchain_test

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Selectors of the Chainlink AggregatorV3 reads, as production code calls them.
const (
	selectorLatestRoundData = "0xfeaf968c" // latestRoundData()
	selectorDecimals        = "0x313ce567" // decimals()
	selectorDescription     = "0x7284e416" // description()
	selectorVersion         = "0x54fd4d50" // version()
	selectorUpdateAnswer    = "0xa87a20ce" // updateAnswer(int256)
)

// roundData is latestRoundData's answer, decoded by hand from the five 32-byte words,
// so that the test does not trust the contract's ABI file.
type roundData struct {
	RoundID, Answer, StartedAt, UpdatedAt, AnsweredInRound *big.Int
}

// ethCall makes a raw eth_call of data to the contract at the latest block.
func ethCall(rpc *RPC, to common.Address, data string) ([]byte, error) {
	result, err := rpc.Try("eth_call", map[string]any{"to": to, "data": data}, "latest")
	if err != nil {
		return nil, err
	}
	var out hexutil.Bytes
	if err := json.Unmarshal(result, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func latestRoundData(tb testing.TB, rpc *RPC, feed common.Address) roundData {
	tb.Helper()
	out, err := ethCall(rpc, feed, selectorLatestRoundData)
	if err != nil {
		tb.Fatalf("latestRoundData: %v", err)
	}
	if len(out) != 5*32 {
		tb.Fatalf("latestRoundData answered %d bytes, want 160: %x", len(out), out)
	}
	word := func(i int) *big.Int { return new(big.Int).SetBytes(out[i*32 : (i+1)*32]) }
	answer := word(1)
	if answer.Bit(255) == 1 { // int256, two's complement
		answer.Sub(answer, new(big.Int).Lsh(big.NewInt(1), 256))
	}
	return roundData{RoundID: word(0), Answer: answer, StartedAt: word(2), UpdatedAt: word(3), AnsweredInRound: word(4)}
}

// checkFresh fails unless the round is whole and was updated within a few seconds.
func checkFresh(tb testing.TB, round roundData, wantAnswer int64) {
	tb.Helper()
	if round.Answer.Cmp(big.NewInt(wantAnswer)) != 0 {
		tb.Errorf("answer %s, want %d", round.Answer, wantAnswer)
	}
	if round.RoundID.Sign() == 0 || round.AnsweredInRound.Cmp(round.RoundID) != 0 {
		tb.Errorf("round %s answered in round %s, want equal and non-zero", round.RoundID, round.AnsweredInRound)
	}
	if round.StartedAt.Cmp(round.UpdatedAt) != 0 {
		tb.Errorf("startedAt %s, updatedAt %s, want equal", round.StartedAt, round.UpdatedAt)
	}
	if age := time.Since(time.Unix(round.UpdatedAt.Int64(), 0)); age < -5*time.Second || age > 5*time.Second {
		tb.Errorf("updatedAt %s is %v old, want within 5s of now", round.UpdatedAt, age)
	}
}

func TestPriceFeedAnswersLikeChainlink(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	feed := chain.PriceFeed()
	if feed != devchain.PriceFeedAddress {
		t.Errorf("PriceFeed() = %s, want %s", feed, devchain.PriceFeedAddress)
	}

	round := latestRoundData(t, rpc, feed)
	checkFresh(t, round, 315012000000) // 3150.12 with 8 decimals
	head := rpc.Block("latest", false)
	if round.UpdatedAt.Uint64() > uint64(head.Timestamp) {
		t.Errorf("updatedAt %s is after the head's timestamp %d", round.UpdatedAt, head.Timestamp)
	}

	for _, tc := range []struct {
		name     string
		selector string
		want     string // ABI-encoded answer
	}{
		{"Decimals", selectorDecimals, word(8)},
		{"Version", selectorVersion, word(4)},
		{"Description", selectorDescription, word(32) + word(9) + strings.TrimPrefix(hexutil.Encode([]byte("ETH / USD")), "0x") + strings.Repeat("00", 23)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ethCall(rpc, feed, tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimPrefix(hexutil.Encode(out), "0x"); got != tc.want {
				t.Errorf("answered\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// word is a uint256 ABI word in hex, without 0x.
func word(n uint64) string {
	var w [32]byte
	new(big.Int).SetUint64(n).FillBytes(w[:])
	return strings.TrimPrefix(hexutil.Encode(w[:]), "0x")
}

func TestInitialPriceIsPosted(t *testing.T) {
	rpc := MustServe(t, MustStart(t, devchain.Options{InitialPrice: "2500.12345678"}))
	checkFresh(t, latestRoundData(t, rpc, devchain.PriceFeedAddress), 250012345678)
}

func TestSetPriceChangesLatestRoundData(t *testing.T) {
	ctx := Context(t)
	for _, tc := range []struct {
		name      string
		blockTime time.Duration
	}{
		{"SealOnDemand", 0},
		{"SealOnTimer", time.Hour}, // SetPrice must not wait for the next block
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := MustStart(t, devchain.Options{BlockTime: tc.blockTime})
			rpc := MustServe(t, chain)
			before := latestRoundData(t, rpc, chain.PriceFeed())

			if err := chain.SetPrice(ctx, "2999.99"); err != nil {
				t.Fatalf("SetPrice: %v", err)
			}
			after := latestRoundData(t, rpc, chain.PriceFeed())
			checkFresh(t, after, 299999000000)
			if want := new(big.Int).Add(before.RoundID, big.NewInt(1)); after.RoundID.Cmp(want) != 0 {
				t.Errorf("round %s after SetPrice, want %s", after.RoundID, want)
			}
		})
	}
}

func TestSetPriceRejectsMalformedPrices(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	for _, usd := range []string{"", "0", "0.00", "-3000", "3150.123456789", "3,150.12", "1e3", " 3150", "abc"} {
		t.Run(usd, func(t *testing.T) {
			if err := chain.SetPrice(Context(t), usd); err == nil {
				t.Errorf("SetPrice(%q) succeeded", usd)
			}
		})
	}
	if other, err := devchain.Start(Context(t), devchain.Options{InitialPrice: "abc"}); err == nil {
		other.Close()
		t.Errorf("Start with InitialPrice abc succeeded")
	}
}

func TestOnlyTheOwnerUpdatesThePriceFeed(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	_, err := rpc.Try("eth_call", map[string]any{
		"from": chain.Wallet().Address,
		"to":   chain.PriceFeed(),
		"data": selectorUpdateAnswer + word(1),
	}, "latest")
	if err == nil || !strings.Contains(err.Error(), "only owner") {
		t.Errorf("updateAnswer from the dev wallet: %v; want a revert with \"only owner\"", err)
	}
}
