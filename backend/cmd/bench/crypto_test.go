package main

import "testing"

// BenchmarkCrypto prints the crypto payment figures once, as `bench -only crypto`
// does (AISPACE_BENCH_CRYPTO="purchases,blocks,sockets" shrinks them):
//
//	go test -run '^$' -bench Crypto -benchtime 1x ./backend/cmd/bench
func BenchmarkCrypto(b *testing.B) {
	if b.N > 1 {
		return // the figures are printed once
	}
	purchases, blocks, sockets := cryptoSizes()
	// Not benchCrypto: a benchmark must not start another (testing.Benchmark would
	// wait for this one to end), so catch-up gets this one's b.
	benchPaymentToKey(purchases)
	benchCatchUp(b, blocks)
	benchSockets(sockets)
}
