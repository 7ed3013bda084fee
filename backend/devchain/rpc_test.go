package devchain_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aispace/credits/backend/devchain"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

func TestRPCAnswersBatchRequests(t *testing.T) {
	rpc := MustServe(t, MustStart(t, devchain.Options{}))
	var responses []rpcResponse
	body := rpc.Post([]rpcRequest{
		request(7, "eth_chainId"),
		request(8, "net_version"),
		request(9, "eth_blockNumber"),
		request(10, "no_such_method"),
	})
	if err := json.Unmarshal(body, &responses); err != nil {
		t.Fatalf("batch response %s: %v", body, err)
	}
	byID := map[int]rpcResponse{}
	for _, r := range responses {
		byID[r.ID] = r
	}
	if len(byID) != 4 {
		t.Fatalf("got %d responses, want 4: %s", len(byID), body)
	}
	if got := string(byID[7].Result); got != `"0x2105"` {
		t.Errorf("eth_chainId = %s, want \"0x2105\"", got)
	}
	if got := string(byID[8].Result); got != `"8453"` {
		t.Errorf("net_version = %s, want \"8453\"", got)
	}
	if byID[9].Error != nil || len(byID[9].Result) == 0 {
		t.Errorf("eth_blockNumber: %s", body)
	}
	if byID[10].Error == nil {
		t.Errorf("no_such_method answered %s, want an error", byID[10].Result)
	}
}

func TestRPCAllowsCrossOriginCalls(t *testing.T) {
	rpc := MustServe(t, MustStart(t, devchain.Options{}))

	t.Run("Preflight", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, rpc.URL, nil)
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status %d, want %d", resp.StatusCode, http.StatusNoContent)
		}
		for header, want := range map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Headers": "content-type",
		} {
			if got := resp.Header.Get(header); got != want {
				t.Errorf("%s = %q, want %q", header, got, want)
			}
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("Access-Control-Allow-Methods = %q, want POST in it", got)
		}
	})
	t.Run("Post", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, rpc.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`))
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"0x2105"`) {
			t.Errorf("status %d, body %s; want 200 with 0x2105", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
		}
	})
}

func TestRPCServesWalletAndIndexerMethods(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	wallet := common.HexToAddress(chain.Wallet().Address)
	head := chain.Commit()
	for _, method := range []struct {
		name   string
		params []any
	}{
		{"eth_blockNumber", nil},
		{"eth_gasPrice", nil},
		{"eth_maxPriorityFeePerGas", nil},
		{"eth_feeHistory", []any{"0x4", "latest", []float64{25, 75}}},
		{"eth_getBlockByNumber", []any{"latest", true}},
		{"eth_getBlockByNumber", []any{"safe", false}},
		{"eth_getBlockByHash", []any{head, true}},
		{"eth_getBlockByHash", []any{head, false}},
		{"eth_getBalance", []any{wallet, "latest"}},
		{"eth_getTransactionCount", []any{wallet, "pending"}},
		{"eth_getCode", []any{chain.PriceFeed(), "latest"}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": chain.PriceFeed()}}},
		{"eth_syncing", nil},
		{"net_listening", nil},
		{"web3_clientVersion", nil},
		{"debug_traceBlockByNumber", []any{"latest", map[string]any{"tracer": "callTracer"}}},
	} {
		t.Run(method.name, func(t *testing.T) {
			result, err := rpc.Try(method.name, method.params...)
			if err != nil {
				t.Fatalf("%s: %v", method.name, err)
			}
			if len(result) == 0 || string(result) == "null" {
				t.Errorf("%s answered %s", method.name, result)
			}
		})
	}
}

// A page from any origin can post to the endpoint, so nothing that drives the chain or
// touches the server's files is served.
func TestRPCRefusesAdminMethods(t *testing.T) {
	rpc := MustServe(t, MustStart(t, devchain.Options{}))
	for _, method := range []string{
		"admin_nodeInfo",
		"miner_setGasPrice",
		"txpool_content",
		"debug_setHead",
		"debug_traceBlockFromFile",
		"debug_standardTraceBlockToFile",
		"dev_addWithdrawal",
	} {
		t.Run(method, func(t *testing.T) {
			_, err := rpc.Try(method, "0x1")
			if rpcErr, ok := err.(*rpcError); !ok || rpcErr.Code != -32601 {
				t.Errorf("%s: %v; want method not found (-32601)", method, err)
			}
		})
	}
}

// The watcher reads internal transfers of smart-contract wallets with callTracer.
func TestTraceTransactionWithCallTracer(t *testing.T) {
	ctx := Context(t)
	chain := MustStart(t, devchain.Options{})
	rpc := MustServe(t, chain)
	to := newAddress(t)
	key := chain.WalletKey()

	deploy, err := chain.Transact(ctx, key, nil, nil, forwarderInitCode(to))
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := chain.WaitReceipt(ctx, deploy.Hash())
	if err != nil || deployed.Status != 1 {
		t.Fatalf("deploy the forwarder: %v, %+v", err, deployed)
	}
	forwarder := deployed.ContractAddress

	wallet := common.HexToAddress(chain.Wallet().Address)
	for _, tc := range []struct {
		name     string
		sendTo   common.Address
		wantTop  common.Address   // the top call's recipient
		wantSubs []common.Address // the inner calls' recipients
	}{
		{"PlainTransfer", to, to, nil},
		{"ContractWalletForwards", forwarder, forwarder, []common.Address{to}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			amount := ether(1)
			hash, err := chain.SendETH(ctx, key, tc.sendTo, amount)
			if err != nil {
				t.Fatal(err)
			}
			rpc.WaitReceipt(hash)

			var trace callFrame
			rpc.Call(&trace, "debug_traceTransaction", hash, map[string]any{"tracer": "callTracer"})
			if trace.Type != "CALL" || trace.From != wallet || trace.To != tc.wantTop || trace.Value.ToInt().Cmp(amount) != 0 {
				t.Errorf("top call %s %s→%s value %s, want CALL %s→%s value %s",
					trace.Type, trace.From, trace.To, trace.Value.ToInt(), wallet, tc.wantTop, amount)
			}
			if len(trace.Calls) != len(tc.wantSubs) {
				t.Fatalf("%d inner calls, want %d", len(trace.Calls), len(tc.wantSubs))
			}
			for i, want := range tc.wantSubs {
				sub := trace.Calls[i]
				if sub.Type != "CALL" || sub.From != forwarder || sub.To != want || sub.Value.ToInt().Cmp(amount) != 0 {
					t.Errorf("inner call %s %s→%s value %s, want CALL %s→%s value %s",
						sub.Type, sub.From, sub.To, sub.Value.ToInt(), forwarder, want, amount)
				}
			}
		})
	}
	if got := rpc.Big("eth_getBalance", to, "latest"); got.Cmp(ether(2)) != 0 {
		t.Errorf("recipient balance %s, want 2 ETH", got)
	}
}

// callFrame is the part of callTracer's answer the watcher reads.
type callFrame struct {
	Type  string         `json:"type"`
	From  common.Address `json:"from"`
	To    common.Address `json:"to"`
	Value *hexutil.Big   `json:"value"`
	Calls []callFrame    `json:"calls"`
}

// forwarderInitCode deploys a minimal smart-contract wallet that forwards any ETH it
// receives to recipient, and reverts if that fails. Hand-assembled:
//
//	runtime: PUSH1 0 ×4 (ret and args sizes and offsets), CALLVALUE, PUSH20 recipient, GAS,
//	         CALL, ISZERO, PUSH1 0x25, JUMPI, STOP, JUMPDEST (0x25), PUSH1 0, DUP1, REVERT
//	init:    PUSH1 len, DUP1, PUSH1 11, PUSH1 0, CODECOPY, PUSH1 0, RETURN (11 bytes)
func forwarderInitCode(recipient common.Address) []byte {
	runtime := append([]byte{0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x34, 0x73}, recipient.Bytes()...)
	runtime = append(runtime, 0x5a, 0xf1, 0x15, 0x60, 0x25, 0x57, 0x00, 0x5b, 0x60, 0x00, 0x80, 0xfd)
	return append([]byte{0x60, byte(len(runtime)), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xf3}, runtime...)
}

func TestWebsocketSubscribesToNewHeads(t *testing.T) {
	chain := MustStart(t, devchain.Options{})
	endpoint := MustServe(t, chain)
	ctx := Context(t)

	conn, err := gethrpc.DialWebsocket(ctx, "ws"+strings.TrimPrefix(endpoint.URL, "http"), "http://localhost:8080")
	if err != nil {
		t.Fatalf("dial websocket: %v", err)
	}
	defer conn.Close()
	heads := make(chan *types.Header, 4)
	sub, err := ethclient.NewClient(conn).SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("eth_subscribe newHeads: %v", err)
	}
	defer sub.Unsubscribe()

	hash := chain.Commit()
	select {
	case head := <-heads:
		if head.Hash() != hash {
			t.Errorf("new head %s, want %s", head.Hash(), hash)
		}
	case err := <-sub.Err():
		t.Fatalf("subscription: %v", err)
	case <-ctx.Done():
		t.Fatal("no new head within 10s")
	}
}
