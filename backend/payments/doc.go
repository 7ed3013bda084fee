// Package payments runs crypto payments beside the HTTP server: the live ETH/USD price
// and the chain watcher that turns Base blocks into journaled payments and credits.
//
// Package chain fetches and decides, package ledger journals and keeps the state;
// this package is the loop between them, with the policies neither should own: when
// to step (new heads, by subscription or polling), what to do when the node fails
// (back off, try again, never skip a block), which price to credit late payments at,
// when a quote nobody paid is over, and how to catch a smart-contract wallet's payment
// whose hash arrived after its block was scanned.
//
// # The price
//
// PriceService wraps a chain.PriceFeed (Chainlink's aggregator by eth_call, then an
// HTTP spot price) with a short cache and a refresh loop. Every answer it gives is
// fresh by the feed's rule (the round is younger than the heartbeat plus a margin);
// when no source has a fresh price it returns an error wrapping
// chain.ErrPriceUnavailable and no quote is issued. Subscribers (the websocket hub)
// hear every new price.
//
// # The watcher
//
// Runner follows the chain on the ledger's writer instance only, one chain.Watcher
// step at a time from the cursor the ledger journals (ChainCursor), and journals each
// step with ApplyChainStep: new blocks and their payments, reorgs, confirmations,
// credits, clawbacks. Because the cursor and the payments are journaled together, a
// process killed at any moment resumes exactly where the journal ends: a block is
// never skipped and a transaction never credited twice (the credit's operation id is
// the chain id and the transaction hash). A fresh install starts at the head (or a
// configured block), so it does not scan Base from genesis.
//
// The watcher traces only transactions whose hash a buyer submitted (internal
// transfers from smart-contract wallets cost a trace each). A hash that arrives after
// its block was scanned is caught by checking its receipt once: if its block is
// already behind the cursor, the runner traces it then and journals what it paid with
// RecordLatePayments.
package payments
