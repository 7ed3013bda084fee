package devchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

const (
	// BaseChainID is Base mainnet's chain id, the dev chain's default.
	BaseChainID = 8453

	// DefaultBlockTime is Base's block time. Options.BlockTime's zero value means "seal on
	// demand", so callers that want Base's pace (serve -dev) pass this.
	DefaultBlockTime = 2 * time.Second

	// DefaultInitialPrice is the ETH / USD answer the price feed starts with.
	DefaultInitialPrice = "3150.12"
)

// Genesis balances: generous for the dev wallet, plenty for the feed owner's updates.
var (
	walletFunds    = new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))
	feedOwnerFunds = new(big.Int).Mul(big.NewInt(1_000), big.NewInt(params.Ether))
)

// sequencerFeeVault is where Base's block fees go; the dev chain's go there too.
var sequencerFeeVault = common.HexToAddress("0x4200000000000000000000000000000000000011")

// Options configures Start. The zero value is a chain with Base's id that seals a block
// whenever a transaction arrives and keeps nothing on disk.
type Options struct {
	// ChainID is reported by eth_chainId and net_version and used to sign and verify
	// transactions. Zero means BaseChainID.
	ChainID uint64

	// BlockTime is the time between blocks; blocks are sealed even when empty. Zero
	// seals a block as soon as a transaction enters the pool. See DefaultBlockTime.
	BlockTime time.Duration

	// DataDir, when set, keeps the dev wallet's key and the chain there, so that a
	// restart resumes the same chain. Empty keeps everything in memory.
	DataDir string

	// InitialPrice is the ETH / USD price that Start posts to the feed, a decimal string
	// with at most 8 places. Empty means DefaultInitialPrice.
	InitialPrice string

	// Logger receives the chain's own messages; nil discards them. go-ethereum's
	// internal log stays silent.
	Logger *slog.Logger
}

// Chain is a running dev chain. Its methods are safe for concurrent use.
type Chain struct {
	chainID uint64
	signer  types.Signer
	log     *slog.Logger

	node    *node.Node
	eth     *eth.Ethereum
	rpc     *rpc.Server
	client  *ethclient.Client
	handler http.Handler

	wallet    *ecdsa.PrivateKey
	feedOwner *ecdsa.PrivateKey

	// mu serialises everything that drives the simulated beacon, which is not safe for
	// concurrent use (Commit, Fork, AdjustTime), and every wait for the pool (see
	// syncPoolLocked).
	mu     sync.Mutex
	beacon *catalyst.SimulatedBeacon
	closed bool

	// sendMu serialises the transactions this package signs, so that each one gets the
	// next nonce.
	sendMu sync.Mutex

	// priceMu guards answer and orders the posts of it: the last answer set is the last
	// answer posted.
	priceMu sync.Mutex
	answer  *big.Int

	stop      context.CancelFunc // stops the background loops and their requests
	loops     sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start starts a dev chain, deploys the price feed if the chain does not have it yet,
// posts Options.InitialPrice, and starts sealing blocks. ctx bounds the start only;
// the chain runs until Close.
func Start(ctx context.Context, opts Options) (*Chain, error) {
	if opts.ChainID == 0 {
		opts.ChainID = BaseChainID
	}
	if opts.BlockTime < 0 {
		return nil, fmt.Errorf("devchain: negative block time %v", opts.BlockTime)
	}
	if opts.InitialPrice == "" {
		opts.InitialPrice = DefaultInitialPrice
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	answer, err := parseAnswer(opts.InitialPrice)
	if err != nil {
		return nil, fmt.Errorf("devchain: initial price: %w", err)
	}
	wallet, err := loadOrCreateWallet(opts.DataDir)
	if err != nil {
		return nil, err
	}

	c := &Chain{
		chainID:   opts.ChainID,
		signer:    types.LatestSignerForChainID(new(big.Int).SetUint64(opts.ChainID)),
		log:       opts.Logger,
		wallet:    wallet,
		feedOwner: feedOwnerKey,
		answer:    answer,
	}
	if err := c.open(opts); err != nil {
		c.closeNode()
		return nil, err
	}
	if err := c.setUpPriceFeed(ctx); err != nil {
		c.closeNode()
		return nil, err
	}
	c.startLoops(opts.BlockTime)

	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = "(in memory)"
	}
	c.log.Info("dev chain started",
		"chain_id", c.chainID, "head", c.Head(), "block_time", opts.BlockTime,
		"wallet", c.Wallet().Address, "price_feed", PriceFeedAddress.Hex(), "data_dir", dataDir)
	return c, nil
}

// open starts the node, the Ethereum service and the simulated beacon, the same pieces
// simulated.NewBackend assembles, but on a persistent database when DataDir is set and
// without rewinding an existing chain to its genesis.
func (c *Chain) open(opts Options) error {
	nodeConf := node.DefaultConfig
	nodeConf.Name = "chain" // fixed: the default name is the executable's, which varies
	nodeConf.DataDir = opts.DataDir
	if opts.DataDir != "" {
		// Inside the node's folder, rather than an empty keystore folder beside it.
		nodeConf.KeyStoreDir = filepath.Join(opts.DataDir, nodeConf.Name, "keystore")
	}
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	stack, err := node.New(&nodeConf)
	if err != nil {
		return fmt.Errorf("devchain: %w", err)
	}
	c.node = stack

	if err := checkStoredChainID(stack, opts.ChainID); err != nil {
		return err
	}
	ethConf := ethconfig.Defaults
	ethConf.Genesis = genesis(opts.ChainID, c.walletAddress())
	ethConf.NetworkId = opts.ChainID
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true // no tracker re-sending transactions a Fork dropped
	ethConf.LogNoHistory = true    // no log index to build; eth_getLogs scans blocks
	// Write every block's state as it is sealed (an archive node), so that a killed
	// process loses at most the last blocks, not the state they were built on.
	ethConf.StateScheme = rawdb.HashScheme
	ethConf.NoPruning = true
	// A dev chain's state is tiny: mainnet-sized caches would only cost memory, and
	// the database preallocates its write-ahead logs at the size of its write buffers.
	ethConf.DatabaseCache = 16 // MB
	ethConf.TrieCleanCache = 16
	ethConf.TrieDirtyCache = 0
	ethConf.SnapshotCache = 0 // no snapshot layer
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		if opts.DataDir != "" {
			return fmt.Errorf("devchain: open the chain in %s (delete that folder to start a new chain): %w",
				stack.ResolvePath(""), err)
		}
		return fmt.Errorf("devchain: %w", err)
	}
	c.eth = backend
	if c.rpc, err = newRPCServer(backend); err != nil {
		return err
	}
	c.handler = withCORS(c.rpc)
	if err := stack.Start(); err != nil {
		return fmt.Errorf("devchain: start node: %w", err)
	}
	c.client = ethclient.NewClient(rpc.DialInProc(c.rpc))
	c.beacon, err = catalyst.NewSimulatedBeacon(0, sequencerFeeVault, backend)
	if err != nil {
		return fmt.Errorf("devchain: start beacon: %w", err)
	}
	return nil
}

// checkStoredChainID fails if the node's data folder holds a chain with another chain
// id. go-ethereum would not: the chain id is not part of the genesis hash, so it would
// quietly rewrite the stored configuration and sign with the new id.
func checkStoredChainID(stack *node.Node, chainID uint64) error {
	dir := stack.ResolvePath("chaindata")
	if dir == "" || rawdb.PreexistingDatabase(dir) == "" {
		return nil
	}
	db, err := stack.OpenDatabaseWithOptions("chaindata", node.DatabaseOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("devchain: open the chain in %s: %w", dir, err)
	}
	defer db.Close()
	stored := rawdb.ReadChainConfig(db, rawdb.ReadCanonicalHash(db, 0))
	if stored != nil && stored.ChainID != nil && stored.ChainID.Uint64() != chainID {
		return fmt.Errorf("devchain: the chain in %s has chain id %d, not %d (delete that folder to start a new chain)",
			stack.ResolvePath(""), stored.ChainID, chainID)
	}
	return nil
}

// genesis is the dev chain's genesis: every protocol change go-ethereum's dev mode
// enables, with the chain id changed, and the system contracts those forks need. It must
// be the same at every start on one DataDir, so it holds no clock or random values.
func genesis(chainID uint64, wallet common.Address) *core.Genesis {
	config := *params.AllDevChainProtocolChanges
	config.ChainID = new(big.Int).SetUint64(chainID)
	alloc := core.SystemContractAllocs()
	alloc[wallet] = types.Account{Balance: walletFunds}
	alloc[feedOwnerAddress] = types.Account{Balance: feedOwnerFunds}
	return &core.Genesis{
		Config:     &config,
		GasLimit:   ethconfig.Defaults.Miner.GasCeil,
		BaseFee:    big.NewInt(params.InitialBaseFee),
		Difficulty: big.NewInt(0),
		Alloc:      alloc,
	}
}

// startLoops starts sealing blocks, on a timer or when transactions arrive, and keeping
// the price fresh.
func (c *Chain) startLoops(blockTime time.Duration) {
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop

	var arrived <-chan struct{} // nil, so never ready, unless blocks are sealed on demand
	if blockTime == 0 {
		arrived = c.watchPool(ctx)
	}
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		var tick <-chan time.Time // nil unless blocks are sealed on a timer
		if blockTime > 0 {
			ticker := time.NewTicker(blockTime)
			defer ticker.Stop()
			tick = ticker.C
		}
		refresh := time.NewTicker(priceRefreshInterval)
		defer refresh.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				c.Commit()
			case <-arrived:
				c.commitPending()
			case <-refresh.C:
				c.refreshPrice(ctx)
			}
		}
	}()
}

// watchPool returns a channel that receives a signal whenever transactions become
// executable in the pool. Signals coalesce: the pool never waits for the sealer (it
// must not: sealing waits for the pool).
func (c *Chain) watchPool(ctx context.Context) <-chan struct{} {
	events := make(chan core.NewTxsEvent, 16)
	sub := c.eth.TxPool().SubscribeTransactions(events, false)
	arrived := make(chan struct{}, 1)
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				return
			case <-events:
				select {
				case arrived <- struct{}{}:
				default:
				}
			}
		}
	}()
	return arrived
}

// Commit seals a block now, with whatever transactions are pending, and returns the new
// head's hash. It is for tests; the chain seals blocks by itself. After Close it
// returns the zero hash.
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked()
}

// commitPending seals a block if transactions are waiting for one, so that a signal
// that arrives after its transactions were sealed seals no empty block.
func (c *Chain) commitPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if err := c.syncPoolLocked(); err != nil {
		c.log.Warn("dev chain: seal pending transactions", "err", err)
		return
	}
	if pending, _ := c.eth.TxPool().Stats(); pending > 0 {
		c.commitLocked()
	}
}

// syncPool waits until the pool has processed every transaction and block it was given.
func (c *Chain) syncPool() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	return c.syncPoolLocked()
}

// syncPoolLocked is syncPool with mu held. The pool's Sync must never run twice at once
// (the second caller's wait replaces the first's, which then waits forever), and the
// beacon calls it when it seals, forks or adjusts the time: so every call is under mu.
func (c *Chain) syncPoolLocked() error {
	if err := c.eth.TxPool().Sync(); err != nil {
		return fmt.Errorf("devchain: sync the pool: %w", err)
	}
	return nil
}

func (c *Chain) commitLocked() common.Hash {
	if c.closed {
		return common.Hash{}
	}
	before := c.eth.BlockChain().CurrentBlock().Hash()
	head := c.beacon.Commit()
	if head == before {
		// The beacon logs the reason to go-ethereum's log, which is silent.
		c.log.Warn("dev chain: sealing a block failed", "head", head)
	}
	return head
}

// Fork makes parent the head of the chain, for reorg tests: the blocks after it leave
// the canonical chain at once, as when a consensus client moves the fork choice, and the
// next blocks are sealed on top of parent. (go-ethereum's documentation says the side
// chain becomes canonical only once it is longer; with the proof-of-stake fork choice the
// simulated beacon uses, it is canonical at once, so the head number drops to parent's
// until new blocks are sealed.) The transactions of the abandoned blocks are dropped,
// not sealed again: they vanish from the chain, as a payment whose block was reorged
// out and never came back; send the same signed transaction again to have it return.
// Fork fails if transactions are pending or parent is unknown.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	if err := c.beacon.Fork(parent); err != nil {
		return fmt.Errorf("devchain: fork at %s: %w", parent, err)
	}
	// The pool puts the abandoned blocks' transactions back in its background reset;
	// wait for that, then drop them.
	c.eth.TxPool().Clear()
	return nil
}

// AdjustTime seals an empty block whose timestamp is its parent's plus d (whole
// seconds), for tests of deadlines and staleness. Later blocks keep at least one second
// per block from there, so the chain's clock stays ahead until the wall clock catches up.
// It fails if transactions are pending.
func (c *Chain) AdjustTime(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	if err := c.beacon.AdjustTime(d); err != nil {
		return fmt.Errorf("devchain: adjust time: %w", err)
	}
	return nil
}

var errClosed = errors.New("devchain: chain is closed")

// ChainID returns the chain id the chain reports and signs with.
func (c *Chain) ChainID() uint64 { return c.chainID }

// Head returns the number of the head block.
func (c *Chain) Head() uint64 { return c.eth.BlockChain().CurrentBlock().Number.Uint64() }

// Client returns a go-ethereum client connected in process to the same JSON-RPC methods
// Handler serves. Its Client method gives the raw *rpc.Client, for calls that
// ethclient does not decode. It is closed by Close.
func (c *Chain) Client() *ethclient.Client { return c.client }

// Handler returns the chain's JSON-RPC endpoint: HTTP POST (single and batch requests)
// and websocket upgrades, with permissive CORS. It works under any path.
func (c *Chain) Handler() http.Handler { return c.handler }

// Close stops sealing blocks, then stops the chain and flushes it to DataDir. Requests
// to Handler fail afterwards.
func (c *Chain) Close() error {
	c.closeOnce.Do(func() {
		c.stop()
		c.loops.Wait()
		c.closeErr = c.closeNode()
	})
	return c.closeErr
}

// closeNode stops what open started, in reverse; it copes with a half-done open.
func (c *Chain) closeNode() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
	if c.rpc != nil {
		c.rpc.Stop()
	}
	var err error
	if c.beacon != nil {
		err = c.beacon.Stop()
	}
	if c.node != nil {
		err = errors.Join(err, c.node.Close())
	}
	if err != nil {
		return fmt.Errorf("devchain: close: %w", err)
	}
	return nil
}
