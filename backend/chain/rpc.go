package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// RPC is all that package chain needs from a Base node. *Client implements it over
// HTTP and websockets with failover between several URLs; tests implement it with
// fakes.
type RPC interface {
	// Call invokes method with args and decodes the result into result (a pointer; a
	// null result leaves it unchanged, so ask for a **T to tell null apart). It returns
	// an *RPCError when the node answered with an error, and another error when no
	// node could be reached or the answer could not be decoded.
	Call(ctx context.Context, result any, method string, args ...any) error

	// BatchCall sends all elements as JSON-RPC batches and fills in each element's
	// Result or Error. Its own error means the exchange as a whole failed; per-element
	// failures (an *RPCError, a decoding error) are only in the elements.
	BatchCall(ctx context.Context, batch []BatchElem) error

	// SubscribeNewHeads delivers the number of each new head block until ctx ends or
	// the subscription breaks; then the channel is closed. It returns
	// ErrNoSubscriptions when the node offers no subscriptions (plain HTTP).
	SubscribeNewHeads(ctx context.Context) (<-chan uint64, error)
}

// Caller is the part of RPC that reads: what the price feed needs.
type Caller interface {
	Call(ctx context.Context, result any, method string, args ...any) error
}

// BatchElem is one call of a batch.
type BatchElem struct {
	Method string
	Args   []any
	Result any   // a pointer to decode the result into
	Error  error // set by BatchCall: an *RPCError, or a decoding or missing-answer error
}

// ErrNoSubscriptions is returned by SubscribeNewHeads when no websocket URL is set.
var ErrNoSubscriptions = errors.New("chain: the RPC offers no subscriptions")

// CodeMethodNotFound is the JSON-RPC error code of a method the node does not offer,
// such as debug_traceTransaction on a node without the debug API.
const CodeMethodNotFound = -32601

// RPCError is an error answer from the node: the JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

// IsMethodNotFound reports whether err is a node's answer that it lacks the method.
func IsMethodNotFound(err error) bool {
	var re *RPCError
	return errors.As(err, &re) && re.Code == CodeMethodNotFound
}
