package persist_test

import (
	"fmt"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// BenchmarkCommitStock is one transaction of the commit pipeline with n
// single-unit orders, of one product or each of another: what PostgreSQL
// costs per commit and per order (docs/engineering-notes.md "The commit
// pipeline"). The test servers run with fsync off; for the durable figure
// point FLASHSTOCK_TEST_DATABASE_URL at a server with fsync on.
//
//	go test -run '^$' -bench CommitStock -benchtime 200x ./persist/
func BenchmarkCommitStock(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		for _, spread := range []bool{false, true} {
			shape := "one-product"
			if spread {
				shape = "distinct-products"
			}
			b.Run(fmt.Sprintf("orders=%d/%s", n, shape), func(b *testing.B) { benchCommitStock(b, n, spread, false) })
		}
		b.Run(fmt.Sprintf("orders=%d/one-product/fenced", n), func(b *testing.B) { benchCommitStock(b, n, false, true) })
	}
}

func benchCommitStock(b *testing.B, n int, spread, fenced bool) {
	s, _ := newStore(b)
	var fence []engine.ShardEpoch
	if fenced {
		const shards = 256
		if err := s.EnsureShards(b.Context(), shards); err != nil {
			b.Fatal(err)
		}
		all := make([]int, shards)
		for i := range all {
			all[i] = i
		}
		held, err := s.AcquireShards(b.Context(), all, "bench", "http://bench")
		if err != nil {
			b.Fatal(err)
		}
		fence = held[:1]
	}
	user := orderUser(b, s, "bench")
	products := []engine.Product{createProduct(b, s, "B-0", engine.StockMax, true)}
	for i := 1; spread && i < n; i++ {
		products = append(products, createProduct(b, s, fmt.Sprintf("B-%d", i), engine.StockMax, true))
	}
	commits := make([]engine.StockCommit, b.N)
	for i := range commits {
		for j := range n {
			p := products[j%len(products)]
			commits[i].Orders = append(commits[i].Orders, newOrder(b, user, engine.OrderLine{Product: p, Quantity: 1}))
		}
	}
	b.ResetTimer()
	for i := range b.N {
		commits[i].Fence = fence
		if _, err := s.CommitStock(b.Context(), commits[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/order")
}
