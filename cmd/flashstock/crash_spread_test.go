package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"maps"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// Crash tests of the commit pipeline's two batching shapes: one
// transaction carrying many products' orders (a spread sell-out), and
// multi-product orders reserved in memory on several SKU actors and
// written in one transaction.

// createProducts stores one product per stock straight in the database
// (faster than the API, and as valid: built and checked by engine and
// persist as the API's are, and read back through the API), named
// sku-<index>, and returns their ids and initial stocks by id.
func createProducts(t *testing.T, srv *crashServer, sku string, stocks []int64) (ids []string, initial map[string]int64) {
	t.Helper()
	store, err := persist.Open(t.Context(), persist.Config{DatabaseURL: srv.vars["FLASHSTOCK_DATABASE_URL"], MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	initial = map[string]int64{}
	for i, stock := range stocks {
		now := time.Now()
		id, err := engine.NewID(now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%03d", sku, i)
		p, err := engine.NewProduct(engine.ProductDraft{SKU: name, Name: "Product " + name, Price: int64(100 + i), Stock: stock}, id, now)
		if err == nil {
			err = store.CreateProduct(t.Context(), p)
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
		initial[id.String()] = stock
	}
	for _, i := range []int{0, len(ids) - 1} {
		if got := stockOf(t, srv.base, ids[i]); got != float64(stocks[i]) {
			t.Fatalf("GET /products/%s: stock %v, want %d", ids[i], got, stocks[i])
		}
	}
	return ids, initial
}

// watchMetrics reads the unlabelled samples names of base/metrics every
// pollInterval, in the background, until the test ends; the function it
// returns gives the value each had at the last read that found it (0
// before).
func watchMetrics(t *testing.T, base string, names ...string) func(name string) float64 {
	var mu sync.Mutex // guards values
	values := map[string]float64{}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		client := &http.Client{Timeout: requestWithin}
		for {
			read := readMetrics(client, base, names)
			mu.Lock()
			maps.Copy(values, read)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(pollInterval):
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return func(name string) float64 { mu.Lock(); defer mu.Unlock(); return values[name] }
}

// readMetrics returns the unlabelled samples names of base/metrics that it
// finds; none when the server does not answer.
func readMetrics(client *http.Client, base string, names []string) map[string]float64 {
	out := map[string]float64{}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil && slices.Contains(names, name) {
			out[name] = f
		}
	}
	return out
}

// TestKill9DuringSpreadSellOut kills the server while 32 buyers order one
// unit of a product drawn uniformly from 300 with 3 units each: each
// transaction of the commit pipeline carries many products' orders, and
// with at most 100 live SKU actors the least recently used are passivated
// meanwhile. The kill comes after 600 of the 900 units were acknowledged,
// sold-out products have refused orders and actors have been evicted;
// then auditRestart.
func TestKill9DuringSpreadSellOut(t *testing.T) {
	t.Parallel()
	srv := startCrashServer(t, "FLASHSTOCK_ACTORS_MAX", "100")
	products, initial := createProducts(t, srv, "SPREAD", slices.Repeat([]int64{3}, 300))
	buyers := newBuyers(t, srv.base, 8)

	next := func(rng *mathrand.Rand) []orderLine {
		return []orderLine{{products[rng.IntN(len(products))], 1}}
	}
	const evicted, commits, ops = "flashstock_actor_evictions_total", "flashstock_commit_batch_size_count",
		"flashstock_commit_batch_size_sum"
	metric := watchMetrics(t, srv.base, evicted, commits, ops)
	sale := sellUntilKilled(t, srv, buyers, 32, next, func(s *saleLog) bool {
		return s.acks.Load() >= 600 && s.refusals.Load() >= 20 && metric(evicted) > 0
	})
	t.Logf("shortly before the kill: %.0f actors evicted, %.0f operations in %.0f commits",
		metric(evicted), metric(ops), metric(commits))
	auditRestart(t, srv, sale, buyers, initial)
}

// TestKill9DuringMultiProductSellOut kills the server while 24 buyers place
// orders of 2 or 3 distinct products (1 or 2 units each) drawn from 30
// with 3 to 38 units, through two committers: orders cross one another,
// and the products that run out refuse some of them whole. The kill comes
// after 100 acknowledged orders and 10 refused for stock; then
// auditRestart, whose order check finds any order stored without all its
// items.
func TestKill9DuringMultiProductSellOut(t *testing.T) {
	t.Parallel()
	srv := startCrashServer(t, "FLASHSTOCK_COMMITTERS", "2")
	stocks := make([]int64, 30)
	for i := range stocks {
		stocks[i] = 3 + int64(i*13%38) // 3 to 38 units, no two alike
	}
	products, initial := createProducts(t, srv, "MULTI", stocks)
	buyers := newBuyers(t, srv.base, 8)

	next := func(rng *mathrand.Rand) []orderLine {
		picked := rng.Perm(len(products))[:2+rng.IntN(2)]
		lines := make([]orderLine, len(picked))
		for i, p := range picked {
			lines[i] = orderLine{products[p], 1 + rng.IntN(2)}
		}
		return lines
	}
	sale := sellUntilKilled(t, srv, buyers, 24, next,
		func(s *saleLog) bool { return s.acks.Load() >= 100 && s.refusals.Load() >= 10 })
	auditRestart(t, srv, sale, buyers, initial)
}
