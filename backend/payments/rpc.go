package payments

import (
	"context"
	"net/http"
	"net/http/httptest"

	"github.com/aispace/credits/backend/chain"
	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// DevChainRPC is the dev chain's JSON-RPC as the watcher and the price feed read it:
// through the same chain.Client as a remote node (the same decoding, the same
// batches), its requests handed to the chain's handler in this process rather than
// sent over a socket, and new heads delivered by an in-process subscription.
func DevChainRPC(dev *devchain.Chain) (*DevRPC, error) {
	c, err := chain.NewClient([]string{"http://devchain.in-process/dev/rpc"}, chain.ClientOptions{
		HTTPClient: &http.Client{Transport: handlerTransport{dev.Handler()}},
	})
	if err != nil {
		return nil, err
	}
	return &DevRPC{Client: c, dev: dev}, nil
}

// DevRPC is the dev chain's chain.RPC; see DevChainRPC.
type DevRPC struct {
	*chain.Client
	dev *devchain.Chain
}

// SubscribeNewHeads implements chain.RPC with the dev chain's own newHeads
// subscription, so the watcher hears of each block the moment it is sealed.
func (d *DevRPC) SubscribeNewHeads(ctx context.Context) (<-chan uint64, error) {
	headers := make(chan *types.Header, 16)
	sub, err := d.dev.Client().SubscribeNewHead(ctx, headers)
	if err != nil {
		return nil, err
	}
	out := make(chan uint64)
	go func() {
		defer close(out)
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				return
			case h := <-headers:
				select {
				case out <- h.Number.Uint64():
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// handlerTransport answers HTTP requests with a handler in this process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r.RemoteAddr = "127.0.0.1:0"
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Pinger checks that a chain RPC answers, for readiness.
type Pinger struct{ RPC chain.Caller }

// Ping asks the node for its head block number.
func (p Pinger) Ping(ctx context.Context) error {
	var n hexutil.Uint64
	return p.RPC.Call(ctx, &n, "eth_blockNumber")
}
