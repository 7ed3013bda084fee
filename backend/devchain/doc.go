/*
Package devchain runs the offline, in-process Ethereum chain behind `serve -dev`: a
Base-like chain (chain id 8453 by default) with a funded dev wallet and a Chainlink-style
ETH / USD price feed, so that a newcomer can finish a crypto purchase in the browser with
no internet, and so that the backend's chain code runs the very same path in dev as it
does against Base.

It is built from the pieces of go-ethereum's simulated backend (ethclient/simulated): a
go-ethereum node with no network, the full Ethereum service, and a simulated beacon
client that seals blocks on request. It assembles them itself instead of calling
simulated.NewBackend for three reasons: the simulated backend always rewinds to genesis
at start (which would defeat Options.DataDir), hides the Ethereum service (so its RPC
methods could not be served over HTTP), and does not register the tracers. Everything
else — block building, reorgs with Fork, AdjustTime — is the simulated beacon's.

Start it, serve its JSON-RPC, and close it when done:

	chain, err := devchain.Start(ctx, devchain.Options{
		BlockTime: devchain.DefaultBlockTime,
		DataDir:   filepath.Join(dataDir, "devchain"),
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	defer chain.Close()
	mux.Handle("/dev/rpc", chain.Handler())

Handler speaks standard Ethereum JSON-RPC over HTTP POST (single and batch requests) and
over websocket (eth_subscribe), in the eth, net and web3 namespaces, plus
debug_traceTransaction (with the callTracer, which the watcher uses to find internal
transfers from smart-contract wallets) and debug_traceBlockByNumber/ByHash. It allows
every origin, so nothing else is served: no admin, miner or txpool namespace, no debug
method that rewinds the chain or touches the server's files. Tests drive the chain from
Go instead, with Commit, Fork, AdjustTime, SendETH and Transact.

# Blocks

With Options.BlockTime > 0 a block is sealed every BlockTime, empty or not, as Base does
every 2 s. With BlockTime 0 a block is sealed as soon as a transaction enters the pool, from
any path (eth_sendRawTransaction over HTTP, Client, SendETH). Commit seals one block at
once in either mode. A block's timestamp is the wall clock in seconds, but always at least
one second after its parent's, so blocks sealed faster than once a second run ahead of
the wall clock.

# Persistence

With Options.DataDir set, the dev wallet's key is kept in DataDir/dev-wallet.key (mode
0600) and the chain's database in DataDir/chain, every block's state written as the block
is sealed (an archive node with the hash state scheme), so a restart resumes the same
chain: same wallet, same balances, same blocks, the head where it was. After a clean
Close nothing is lost; a killed process loses at most the last blocks, whose writes the
database had not flushed yet. The cost is disk: about 4 KB per block, even empty (the
system contracts of recent forks record every block), so about 180 MB per day of running
at a block every 2 s. The genesis block depends on the wallet's address: with another
key file, or another chain id, Start fails and says so; deleting DataDir/chain starts a
new chain. An upgrade of go-ethereum that changes its dev-chain configuration may make
it refuse the stored chain, or rewind it. Without DataDir everything lives in memory and
a new wallet is generated at each start.

# Price feed

The feed is contracts/DevPriceFeed.sol, compiled once by contracts/build.sh (the bytecode is
committed next to it). It is deployed at start by an owner key derived from a fixed
string, as that key's first contract, so its address is the same on every dev chain and
across restarts. Start posts Options.InitialPrice, and the chain re-posts the current
answer every minute, far inside the 1200 s heartbeat of Chainlink's ETH / USD feed on
Base, so that the price never goes stale while dev mode runs. SetPrice posts a new answer
and seals it at once.

The chain id is Base mainnet's by default, so transactions signed for the dev chain are
valid Base transactions too: never fund the dev wallet or the feed owner on a real chain.
*/
package devchain
