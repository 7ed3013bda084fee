package chain

import (
	"context"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/ethereum/go-ethereum/common"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/gethdev from a fresh geth --dev")

// tracePayAddr is the payment address of the golden traces.
var tracePayAddr = common.HexToAddress("0x00000000000000000000000000000000c0ffee01")

// goldenTraces are callTracer answers of geth --dev for calls of the forwarder
// (backend/internal/gethdev/forwarder.sol) that forwards to tracePayAddr, and the
// wei that reached it.
var goldenTraces = []struct {
	file string
	call []byte
	sent int64
	want int64
}{
	{"gethdev/trace-pay.json", gethdev.ForwarderPay, 1000, 1000},
	{"gethdev/trace-pay-in-two.json", gethdev.ForwarderPayInTwo, 1001, 1001},
	{"gethdev/trace-pay-reverted.json", gethdev.ForwarderPayReverted, 777, 0},
}

// captureTraces rewrites the golden traces: go test -run TestValueToOnGethTraces -update.
func captureTraces(t *testing.T) {
	n := gethdev.Start(t, gethdev.WithoutWS())
	fwd := n.DeployForwarder(t, tracePayAddr)
	rpc := gethClient(t, n)
	for _, g := range goldenTraces {
		h := n.Send(t, &fwd, big.NewInt(g.sent), g.call)
		n.WaitReceipt(t, h)
		var raw json.RawMessage
		if err := rpc.Call(context.Background(), &raw, "debug_traceTransaction", h, callTracerArgs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", g.file), append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValueToOnGethTraces(t *testing.T) {
	if *update {
		captureTraces(t)
	}
	for _, g := range goldenTraces {
		t.Run(g.file, func(t *testing.T) {
			f := decode[CallFrame](t, fixture(t, g.file))
			eq(t, "top-level type", f.Type, "CALL")
			eq(t, "top-level value", f.Value.ToInt().Int64(), g.sent)
			eq(t, "value that reached the payment address", f.ValueTo(tracePayAddr).Int64(), g.want)
			eq(t, "value to anyone else", f.ValueTo(common.Address{1}).Sign(), 0)
		})
	}
	// The reverted one in detail: the call to the payment address reports no error of
	// its own; only its caller's revert undoes it.
	f := decode[CallFrame](t, fixture(t, "gethdev/trace-pay-reverted.json"))
	inner := f.Calls[0]
	eq(t, "caller frame error", inner.Error, "execution reverted")
	eq(t, "caller frame revert reason", inner.RevertReason, "undone")
	eq(t, "payment frame to", *inner.Calls[0].To, tracePayAddr)
	eq(t, "payment frame error", inner.Calls[0].Error, "")
}

func FuzzDecodeCallFrame(f *testing.F) {
	for _, g := range goldenTraces {
		f.Add(fixture(f, g.file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reencodes[CallFrame](t, data)
		var fr CallFrame
		if json.Unmarshal(data, &fr) == nil {
			if v := fr.ValueTo(tracePayAddr); v.Sign() < 0 {
				t.Fatalf("ValueTo = %s, negative", v)
			}
		}
	})
}
