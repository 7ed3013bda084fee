package main

import (
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/aispace/credits/shared"
)

// walletChain is a chain as a browser wallet sees it: an RPC URL and a chain id.
type walletChain struct {
	eth *ethclient.Client
	id  uint64
}

func (w walletChain) URLs() string                                    { return "" }
func (w walletChain) ChainID() uint64                                 { return w.id }
func (w walletChain) Eth() *ethclient.Client                          { return w.eth }
func (w walletChain) Fund(t *testing.T, _ common.Address, _ *big.Int) { t.Fatal("no faucet") }
func (w walletChain) Mine(t *testing.T)                               { t.Fatal("the dev chain mines by itself") }
func (w walletChain) SetPrice(t *testing.T, _ string)                 { t.Fatal("no price control") }
func (w walletChain) PriceArgs() []string                             { return nil }

// TestDevModeSellsCreditsForETHOffline is `make run` for a newcomer: dev mode alone,
// no flags for the chain, no internet. The dev wallet pays through the server's own
// /dev/rpc, as MetaMask would, and the key arrives on the purchase's websocket.
func TestDevModeSellsCreditsForETHOffline(t *testing.T) {
	srv := MustRunServer(t, t.TempDir(), "-dev") // a block every 2 s, as `make run`
	var dev struct {
		PrivateKey string `json:"private_key"`
		RPCURL     string `json:"rpc_url"`
		ChainID    uint64 `json:"chain_id"`
	}
	if code := get(t, srv.URL+"/dev/wallet", "", &dev); code != http.StatusOK {
		t.Fatalf("/dev/wallet: %d", code)
	}
	var cfg shared.Config
	get(t, srv.URL+"/api/v1/config", "", &cfg)
	if cfg.ChainID != 8453 || cfg.RPCURL != dev.RPCURL || cfg.PaymentAddress == "" {
		t.Fatalf("config %+v: want the dev chain's id and RPC URL", cfg)
	}
	var pr shared.Price
	if code := api(t, "GET", srv.URL+"/api/v1/price", "", nil, &pr); code != http.StatusOK || pr.Source != "chainlink" {
		t.Fatalf("price: %d %+v, want the dev chain's Chainlink-style feed", code, pr)
	}
	// The wallet talks to the chain through the server, as MetaMask is told to.
	eth, err := ethclient.Dial(strings.Replace(dev.RPCURL, "localhost", "127.0.0.1", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	key, err := crypto.HexToECDSA(strings.TrimPrefix(dev.PrivateKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	b := buyer{key, crypto.PubkeyToAddress(key.PublicKey)}
	ch := walletChain{eth, dev.ChainID}
	s := &cryptoServer{RunningServer: srv, ch: ch, payTo: common.HexToAddress(cfg.PaymentAddress),
		origin: "http://localhost" + srv.URL[strings.LastIndexByte(srv.URL, ':'):]}

	p := s.quote(t, "20.00", b.addr)
	ws := s.dial(t, p.ID, p.Secret)
	tx := b.sign(t, ch, s.payTo, weiOf(t, p), nil)
	send(t, ch, tx)
	if code := s.submit(t, p, tx.Hash()); code != http.StatusAccepted {
		t.Fatalf("submit: %d", code)
	}
	k := ws.waitFor(t, "the key", func(m shared.WSMessage) bool { return m.Type == "key" }).Key
	if got := s.balance(t, k); got != p.Credits {
		t.Fatalf("balance %d, want %d", got, p.Credits)
	}
}
