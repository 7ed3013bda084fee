package chain

import (
	"context"
	"fmt"
	"testing"

	"github.com/aispace/credits/backend/internal/gethdev"
	"github.com/ethereum/go-ethereum/common"
)

// BenchmarkCatchUp measures how fast the watcher catches up after downtime: every
// step from the first block to the head of a geth --dev chain of 5,000 blocks, one
// in ten of them paying the payment address. The goal is at least 500 blocks/s,
// reported as the blocks/s metric. Mining the chain is setup, not timed: it takes a
// minute or more.
//
//	go test -run '^$' -bench CatchUp -benchtime 3x ./backend/chain
func BenchmarkCatchUp(b *testing.B) {
	const blocks = 5000
	n := gethdev.Start(b)
	pay := newPayAddr(b)
	to := []common.Address{pay}
	for range 9 {
		to = append(to, newPayAddr(b))
	}
	start := n.BlockNumber(b) + 1
	n.Mine(b, blocks, to...)
	head := n.BlockNumber(b)
	rpc := gethClient(b, n)

	b.Run(fmt.Sprintf("blocks=%d", head-start+1), func(b *testing.B) {
		w := &Watcher{RPC: rpc, Address: pay}
		ctx := context.Background()
		payments := 0
		for b.Loop() {
			payments = 0
			c := StartAt(start)
			for c.Number < head {
				r, err := w.Step(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				for _, blk := range r.Blocks {
					payments += len(blk.Payments)
				}
				c = c.Apply(r, 0)
			}
		}
		b.ReportMetric(float64(head-start+1)*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
		b.ReportMetric(float64(payments), "payments")
	})
}
