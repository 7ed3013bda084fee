package gethdev

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

func balance(tb testing.TB, n *Node, a common.Address) *big.Int {
	tb.Helper()
	var b hexutil.Big
	n.call(tb, &b, "eth_getBalance", a, "latest")
	return b.ToInt()
}

func TestStartFundsAFreshKey(t *testing.T) {
	n := Start(t)
	if got := balance(t, n, n.Addr); got.Cmp(new(big.Int).Mul(big.NewInt(1000), Ether)) != 0 {
		t.Errorf("balance of the fresh key = %s, want 1000 ETH", got)
	}
	if n.WS == "" {
		t.Error("no websocket URL")
	}
}

func TestMineMakesAtLeastCountBlocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"Subscribing", nil},
		{"Polling", []Option{WithoutWS()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := Start(t, tc.opts...)
			before := n.BlockNumber(t)
			start := time.Now()
			n.Mine(t, 50)
			t.Logf("50 blocks in %s", time.Since(start))
			if got := n.BlockNumber(t); got < before+50 {
				t.Errorf("head after Mine(50) = %d, want at least %d", got, before+50)
			}
		})
	}
}

func TestForwarderForwardsValueAsInternalCalls(t *testing.T) {
	n := Start(t, WithoutWS())
	to := common.HexToAddress("0x00000000000000000000000000000000c0ffee01")
	fwd := n.DeployForwarder(t, to)
	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"Pay", ForwarderPay, 1000},
		{"PayInTwo", ForwarderPayInTwo, 1000},
		{"PayReverted", ForwarderPayReverted, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := balance(t, n, to)
			r := n.WaitReceipt(t, n.Send(t, &fwd, big.NewInt(1000), tc.data))
			if r.Status != 1 {
				t.Fatalf("status %d, want 1", r.Status)
			}
			if got := new(big.Int).Sub(balance(t, n, to), before); got.Int64() != tc.want {
				t.Errorf("the payment address received %s wei, want %d", got, tc.want)
			}
		})
	}
}

func TestPeriodSealsBlocksWithoutTransactions(t *testing.T) {
	n := Start(t, Period(1), WithoutWS())
	before := n.BlockNumber(t)
	deadline := time.Now().Add(10 * time.Second)
	for n.BlockNumber(t) < before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("head still %d after 10 s with a 1 s period", n.BlockNumber(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
