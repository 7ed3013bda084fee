// Package chain is the Base side of crypto payments: it reads Base (an OP Stack
// chain) over JSON-RPC, finds payments to the payment address, follows reorgs, reads
// the ETH/USD price, and writes EIP-681 payment requests and MetaMask deep links.
//
// It fetches, decodes, decides and returns values; it stores nothing and serves
// nothing. The ledger journals what it returns.
//
// # Reading the chain
//
// go-ethereum's ethclient cannot decode Base blocks, whose first transaction is always
// an OP Stack deposit (type 0x7E), so this package decodes raw JSON-RPC answers into
// its own Block, Transaction and Receipt types, built from go-ethereum's common and
// hexutil field types. Everything else depends on the three-method RPC interface;
// Client implements it over HTTP (calls and batches) and websockets (newHeads), with
// failover and exponential backoff across several URLs.
//
// # Watching for payments
//
// Watcher.Step is one stateless step: given a Cursor (the last processed block and
// the hashes of the blocks before it) it returns the next canonical blocks with the
// payments in them, or a Reorg naming the common ancestor to roll back to. The caller
// journals each result and moves the cursor with Cursor.Apply, so a restart resumes
// from the journal. Catching up after downtime costs one batch request per
// DefaultBatchSize blocks, plus receipts for candidate transactions only. Heads
// reports new head numbers (subscription or polling) to tell the caller when to step;
// Confirmed is SPEC §6's confirmation rule.
//
// A payment is a successful transfer to the payment address: a transaction with a
// value whose receipt has status 1, or, for transaction hashes that buyers submitted
// (smart-contract wallets), the successful internal calls with value that
// debug_traceTransaction's callTracer shows. A node without the debug API finds no
// internal transfers and says so in ScannedBlock.Untraced.
//
// # Prices
//
// PriceFeed reads Chainlink's ETH/USD aggregator with eth_call and falls back to an
// HTTP spot price. A price older than the feed's heartbeat plus a margin is never
// returned: the error wraps ErrPriceUnavailable instead.
package chain
