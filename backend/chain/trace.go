package chain

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// CallFrame is one frame of go-ethereum's callTracer output
// (debug_traceTransaction with {"tracer": "callTracer"}): the call, its value, whether
// it failed, and the calls it made.
type CallFrame struct {
	Type         string          `json:"type"` // CALL, STATICCALL, DELEGATECALL, CALLCODE, CREATE, CREATE2, SELFDESTRUCT
	From         common.Address  `json:"from"`
	To           *common.Address `json:"to,omitempty"`
	Value        *hexutil.Big    `json:"value,omitempty"`
	Gas          hexutil.Uint64  `json:"gas"`
	GasUsed      hexutil.Uint64  `json:"gasUsed"`
	Input        hexutil.Bytes   `json:"input"`
	Output       hexutil.Bytes   `json:"output,omitempty"`
	Error        string          `json:"error,omitempty"`
	RevertReason string          `json:"revertReason,omitempty"`
	Calls        []CallFrame     `json:"calls,omitempty"`
}

// callTracerArgs asks debug_traceTransaction for the call tree, without logs.
var callTracerArgs = map[string]any{"tracer": "callTracer"}

// ValueTo is the wei that the frame and its sub-calls moved to addr and that stayed
// there: the sum of the values of CALL, CREATE, CREATE2 and SELFDESTRUCT frames to addr
// that did not fail and whose callers did not fail either (a revert undoes everything
// below it, even the frames that report no error themselves). DELEGATECALL and
// STATICCALL move no value, and CALLCODE sends it back to the caller itself, so they
// never count.
func (f *CallFrame) ValueTo(addr common.Address) *big.Int {
	sum := new(big.Int)
	f.addValueTo(addr, sum)
	return sum
}

func (f *CallFrame) addValueTo(addr common.Address, sum *big.Int) {
	if f.Error != "" {
		return // reverted: nothing in this subtree happened
	}
	switch f.Type {
	case "CALL", "CREATE", "CREATE2", "SELFDESTRUCT":
		if f.To != nil && *f.To == addr && f.Value != nil && f.Value.ToInt().Sign() > 0 {
			sum.Add(sum, f.Value.ToInt())
		}
	}
	for i := range f.Calls {
		f.Calls[i].addValueTo(addr, sum)
	}
}
