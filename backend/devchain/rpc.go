package devchain

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/version"

	// Registers the native tracers, callTracer among them, for debug_traceTransaction.
	_ "github.com/ethereum/go-ethereum/eth/tracers/native"
)

// servedNamespaces are the namespaces of the Ethereum service served over JSON-RPC:
// what a wallet and an indexer need. The service's other namespaces (admin, miner,
// txpool, and its debug methods that rewind or dump the chain) are left out; the
// debug namespace served is debugAPI.
var servedNamespaces = map[string]bool{"eth": true, "net": true}

// newRPCServer returns a JSON-RPC server with the eth, net and web3 namespaces, log
// filters and subscriptions, and debugAPI's tracing, with go-ethereum's own limits for
// batches and bodies.
func newRPCServer(backend *eth.Ethereum) (*rpc.Server, error) {
	srv := rpc.NewServer()
	srv.SetBatchLimits(node.DefaultConfig.BatchRequestLimit, node.DefaultConfig.BatchResponseMaxSize)
	srv.SetHTTPBodyLimit(node.DefaultConfig.HTTPBodyLimit)

	logFilters := filters.NewFilterSystem(backend.APIBackend, filters.Config{
		LogCacheSize:  ethconfig.Defaults.FilterLogCacheSize,
		LogQueryLimit: ethconfig.Defaults.LogQueryLimit,
		RangeLimit:    ethconfig.Defaults.RangeLimit,
	})
	apis := []rpc.API{
		{Namespace: "eth", Service: filters.NewFilterAPI(logFilters)},
		{Namespace: "web3", Service: web3API{}},
		{Namespace: "debug", Service: debugAPI{tracers.NewAPI(backend.APIBackend)}},
	}
	for _, api := range backend.APIs() {
		if servedNamespaces[api.Namespace] {
			apis = append(apis, api)
		}
	}
	for _, api := range apis {
		if err := srv.RegisterName(api.Namespace, api.Service); err != nil {
			srv.Stop()
			return nil, fmt.Errorf("devchain: register %s API: %w", api.Namespace, err)
		}
	}
	return srv, nil
}

// web3API is the web3 namespace, which go-ethereum's node keeps to itself.
type web3API struct{}

// ClientVersion answers web3_clientVersion.
func (web3API) ClientVersion() string {
	return fmt.Sprintf("aispace-devchain/go-ethereum-v%d.%d.%d", version.Major, version.Minor, version.Patch)
}

// Sha3 answers web3_sha3: the Keccak-256 hash of the input.
func (web3API) Sha3(input hexutil.Bytes) hexutil.Bytes { return crypto.Keccak256(input) }

// debugAPI serves the tracers' methods that read the chain: debug_traceTransaction
// (with the callTracer, for internal transfers), debug_traceBlockByNumber and
// debug_traceBlockByHash. The tracers' other methods read or write files on the
// server's disk, which a page from any origin must not reach.
type debugAPI struct{ tracers *tracers.API }

// TraceTransaction answers debug_traceTransaction.
func (d debugAPI) TraceTransaction(ctx context.Context, hash common.Hash, config *tracers.TraceConfig) (any, error) {
	return d.tracers.TraceTransaction(ctx, hash, config)
}

// TraceBlockByNumber answers debug_traceBlockByNumber.
func (d debugAPI) TraceBlockByNumber(ctx context.Context, number rpc.BlockNumber, config *tracers.TraceConfig) (any, error) {
	return d.tracers.TraceBlockByNumber(ctx, number, config)
}

// TraceBlockByHash answers debug_traceBlockByHash.
func (d debugAPI) TraceBlockByHash(ctx context.Context, hash common.Hash, config *tracers.TraceConfig) (any, error) {
	return d.tracers.TraceBlockByHash(ctx, hash, config)
}

// withCORS serves srv's JSON-RPC over HTTP POST and websocket, answering CORS preflight
// requests itself and allowing every origin: a page or a browser wallet posts to it.
func withCORS(srv *rpc.Server) http.Handler {
	ws := srv.WebsocketHandler([]string{"*"})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
			headers := r.Header.Get("Access-Control-Request-Headers")
			if headers == "" {
				headers = "Content-Type"
			}
			h.Set("Access-Control-Allow-Headers", headers)
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				h.Set("Access-Control-Allow-Private-Network", "true") // a public page calling localhost
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}
