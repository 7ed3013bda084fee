package chain

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aispace/credits/shared/ethmath"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

var priceNow = time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC)

// roundDataABI encodes latestRoundData's five words.
func roundDataABI(roundID, answer *big.Int, startedAt, updatedAt int64) []byte {
	word := func(v *big.Int) []byte {
		if v.Sign() < 0 {
			v = new(big.Int).Add(v, new(big.Int).Lsh(big.NewInt(1), 256))
		}
		return common.LeftPadBytes(v.Bytes(), 32)
	}
	var out []byte
	for _, v := range []*big.Int{roundID, answer, big.NewInt(startedAt), big.NewInt(updatedAt), roundID} {
		out = append(out, word(v)...)
	}
	return out
}

// aggregatorNode is a JSON-RPC server with a Chainlink aggregator at agg answering
// latestRoundData with data; it records the eth_call it got.
func aggregatorNode(t *testing.T, agg common.Address, data []byte) (*rpcServer, *map[string]any) {
	var got map[string]any
	s := newRPCServer(t, func(method string, params []json.RawMessage) (any, *RPCError) {
		if method != "eth_call" || len(params) != 2 {
			return nil, &RPCError{Code: CodeMethodNotFound, Message: "no"}
		}
		json.Unmarshal(params[0], &got)
		var tx struct {
			To   common.Address `json:"to"`
			Data hexutil.Bytes  `json:"data"`
		}
		json.Unmarshal(params[0], &tx)
		if tx.To != agg || hexutil.Encode(tx.Data) != "0xfeaf968c" {
			return "0x", nil // what a call to an address without that function returns
		}
		return hexutil.Bytes(data), nil
	})
	return s, &got
}

func spotServer(t *testing.T, status int, body string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

const coinbaseBody = `{"data":{"amount":"3150.12","base":"ETH","currency":"USD"}}`

func TestPriceFeedPrefersAFreshChainlinkRound(t *testing.T) {
	updated := priceNow.Add(-10 * time.Minute)
	node, got := aggregatorNode(t, DefaultAggregator, roundDataABI(big.NewInt(0x12), big.NewInt(315_012_345_678), updated.Unix()-1, updated.Unix()))
	rpc := mustClient(t, []string{node.URL}, ClientOptions{})
	spot := spotServer(t, 200, `{"data":{"amount":"9999.99","base":"ETH","currency":"USD"}}`)
	f := &PriceFeed{RPC: rpc, SpotURL: spot.URL, Now: func() time.Time { return priceNow }}

	p, err := f.Price(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Price{USD: 315_012_345_678, Source: SourceChainlink, UpdatedAt: updated}
	if p != want {
		t.Errorf("Price = %+v, want %+v", p, want)
	}
	if (*got)["to"] != strings.ToLower(DefaultAggregator.Hex()) && (*got)["to"] != DefaultAggregator.Hex() {
		t.Errorf("eth_call went to %v, want the default aggregator", (*got)["to"])
	}
}

func TestPriceFeedNeverReturnsAStalePrice(t *testing.T) {
	fresh := priceNow.Add(-(DefaultHeartbeat + DefaultStaleMargin - time.Second))
	stale := priceNow.Add(-(DefaultHeartbeat + DefaultStaleMargin + time.Second))
	answer := big.NewInt(315_012_000_000)
	for _, tc := range []struct {
		name       string
		chainlink  []byte // nil: the node is down
		spotStatus int
		spotBody   string
		want       Price // zero: ErrPriceUnavailable
		why        string
	}{
		{"ChainlinkJustFresh", roundDataABI(big.NewInt(1), answer, 0, fresh.Unix()), 500, "", Price{ethmath.PriceE8(answer.Int64()), SourceChainlink, fresh}, ""},
		{"StaleChainlinkFallsBackToSpot", roundDataABI(big.NewInt(1), answer, 0, stale.Unix()), 200, coinbaseBody, Price{315_012_000_000, SourceSpot, priceNow}, ""},
		{"NodeDownFallsBackToSpot", nil, 200, coinbaseBody, Price{315_012_000_000, SourceSpot, priceNow}, ""},
		{"StaleAndSpotDown", roundDataABI(big.NewInt(1), answer, 0, stale.Unix()), 503, "", Price{}, "stale"},
		{"StaleAndSpotForAnotherPair", roundDataABI(big.NewInt(1), answer, 0, stale.Unix()), 200, `{"data":{"amount":"3150.12","base":"BTC","currency":"USD"}}`, Price{}, "not ETH/USD"},
		{"StaleAndSpotMalformed", roundDataABI(big.NewInt(1), answer, 0, stale.Unix()), 200, `{"data":{"amount":"3,150.12","base":"ETH","currency":"USD"}}`, Price{}, "price must be"},
		{"NegativeAnswer", roundDataABI(big.NewInt(1), big.NewInt(-5), 0, fresh.Unix()), 503, "", Price{}, "not a usable price"},
		{"ZeroAnswer", roundDataABI(big.NewInt(1), big.NewInt(0), 0, fresh.Unix()), 503, "", Price{}, "not a usable price"},
		{"FromTheFuture", roundDataABI(big.NewInt(1), answer, 0, priceNow.Add(time.Hour).Unix()), 503, "", Price{}, "future"},
		{"NoUpdateTime", roundDataABI(big.NewInt(1), answer, 0, 0), 503, "", Price{}, "no valid update time"},
		{"WrongAggregatorAddress", []byte{}, 503, "", Price{}, "want 160"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, _ := aggregatorNode(t, DefaultAggregator, tc.chainlink)
			if tc.chainlink == nil {
				node.Close()
			}
			rpc := mustClient(t, []string{node.URL}, ClientOptions{})
			spot := spotServer(t, tc.spotStatus, tc.spotBody)
			f := &PriceFeed{RPC: rpc, SpotURL: spot.URL, Now: func() time.Time { return priceNow }}
			p, err := f.Price(context.Background())
			if tc.want == (Price{}) {
				if !errors.Is(err, ErrPriceUnavailable) || !strings.Contains(err.Error(), tc.why) {
					t.Errorf("Price = %+v, %v; want ErrPriceUnavailable because %q", p, err, tc.why)
				}
				if p != (Price{}) {
					t.Errorf("Price = %+v with an error, want no price at all", p)
				}
				return
			}
			if err != nil || p != tc.want {
				t.Errorf("Price = %+v, %v; want %+v", p, err, tc.want)
			}
		})
	}
}

func TestPriceFeedReadsAConfiguredAggregatorAndDecimals(t *testing.T) {
	agg := common.HexToAddress("0x00000000000000000000000000000000000a66e6")
	updated := priceNow.Add(-time.Minute)
	// 18 decimals: 3150.123456789012345678 USD; the digits past 8 are cut.
	answer, _ := new(big.Int).SetString("3150123456789012345678", 10)
	node, _ := aggregatorNode(t, agg, roundDataABI(big.NewInt(7), answer, 0, updated.Unix()))
	rpc := mustClient(t, []string{node.URL}, ClientOptions{})
	f := &PriceFeed{RPC: rpc, Aggregator: agg, Decimals: 18, NoSpot: true, Heartbeat: time.Hour, Now: func() time.Time { return priceNow }}
	p, err := f.Price(context.Background())
	if err != nil || p.USD != 315_012_345_678 {
		t.Errorf("Price = %+v, %v; want 3150.12345678", p, err)
	}
	// A heartbeat of an hour makes a 50-minute-old round fresh; the default would not.
	updated = priceNow.Add(-50 * time.Minute)
	node2, _ := aggregatorNode(t, agg, roundDataABI(big.NewInt(7), big.NewInt(1), 0, updated.Unix()))
	f.RPC, f.Decimals = mustClient(t, []string{node2.URL}, ClientOptions{}), 0
	if _, err := f.Price(context.Background()); err != nil {
		t.Errorf("a round within a configured heartbeat of an hour: %v", err)
	}
	f.Heartbeat = 0
	if _, err := f.Price(context.Background()); !errors.Is(err, ErrPriceUnavailable) {
		t.Errorf("the same round with the default heartbeat: %v, want ErrPriceUnavailable", err)
	}
}

func TestPriceFeedWithNoSourceIsUnavailable(t *testing.T) {
	f := &PriceFeed{NoSpot: true}
	if _, err := f.Price(context.Background()); !errors.Is(err, ErrPriceUnavailable) {
		t.Errorf("error = %v, want ErrPriceUnavailable", err)
	}
}

func FuzzDecodeRoundData(f *testing.F) {
	f.Add(roundDataABI(big.NewInt(1), big.NewInt(315_012_000_000), 1, 2))
	f.Add(roundDataABI(big.NewInt(1), big.NewInt(-1), 1, 2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := decodeRoundData(data)
		if err != nil {
			return
		}
		if back := roundDataABI(rd.RoundID, rd.Answer, rd.StartedAt.Int64(), rd.UpdatedAt.Int64()); rd.StartedAt.IsInt64() && rd.UpdatedAt.IsInt64() &&
			rd.RoundID.Cmp(rd.AnsweredInRound) == 0 && string(back) != string(data) {
			t.Fatalf("round data does not re-encode to its input")
		}
		if p, err := scaleAnswer(rd.Answer, 8); err == nil && p <= 0 {
			t.Fatalf("scaleAnswer accepted %s as %d", rd.Answer, p)
		}
	})
}

func FuzzParseSpot(f *testing.F) {
	f.Add([]byte(coinbaseBody))
	f.Add([]byte(`{"data":{"amount":"1e3","base":"ETH","currency":"USD"}}`))
	f.Add([]byte(`{"data":{"amount":"-1","base":"ETH","currency":"USD"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseSpot(body)
		if err == nil && p <= 0 {
			t.Fatalf("parseSpot(%q) = %d", body, p)
		}
	})
}
