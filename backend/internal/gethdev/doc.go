// Package gethdev runs a throwaway go-ethereum node in developer mode (geth --dev)
// for tests: a real JSON-RPC server with the eth and debug APIs, a prefunded
// unlocked developer account, and blocks on demand.
//
// Start builds geth from the module's pinned go-ethereum the first time it is needed
// (about 2 minutes on a cold build cache) into a cache directory under
// os.UserCacheDir, and reuses that binary afterwards; the AISPACE_GETH environment
// variable names a binary to use instead, as the Makefile does. Every node gets its
// own temporary data directory and free loopback ports, and is stopped when the test
// ends. There is no skipping: a test that needs geth builds it, and fails if it cannot.
//
// geth --dev is Ethereum, not Base: it has no deposit transactions. It serves to run
// the watcher against a real node, with real receipts, traces, reorg-free heads and
// subscriptions; Base's own shapes are covered by the golden files of package chain.
package gethdev
