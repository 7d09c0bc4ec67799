package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Scenario shapes.
const (
	multiProducts   = 10 // products a multi run's 3-item orders choose from
	multiItems      = 3
	soakProducts    = 10
	selloutTimeout  = 2 * time.Minute // a sell-out run stops here even if buyers remain
	halfRateDivisor = 2
)

// hotsku: one product, many buyers, every target in turn (A/B/C/D per
// round) at each of the hotsku connection counts; then flashstock open-loop
// at half its median maximum rate (of the count where that is highest),
// for the latency target.
func (s *suite) hotsku(ctx context.Context) error {
	maxima := make(map[int][]float64)
	for round := 1; round <= s.cfg.Rounds; round++ {
		for _, conns := range s.cfg.HotConnections {
			for _, t := range s.targets(TargetFlashstock, TargetNaive, TargetRedisLock, TargetCeiling) {
				ps, err := s.products(ctx, fmt.Sprintf("hot-%s-%d-%d", t.Name, conns, round), 1, plentyStock)
				if err != nil {
					return err
				}
				st := s.step("hotsku", t, round, ps, s.orders(t, ps, 1).source())
				st.load.Connections = conns
				run, err := s.measure(ctx, st)
				if err != nil {
					return err
				}
				if t.Name == TargetFlashstock {
					maxima[conns] = append(maxima[conns], run.Throughput)
				}
			}
		}
	}
	if s.cfg.Rate > 0 {
		return nil // the runs were open-loop already
	}
	conns, peak := fastest(s.cfg.HotConnections, maxima)
	half := peak / halfRateDivisor
	if half < 1 {
		return fmt.Errorf("flashstock sold nothing (median %.0f/s)", peak)
	}
	t := s.targets(TargetFlashstock)[0]
	ps, err := s.products(ctx, "hot-half", 1, plentyStock)
	if err != nil {
		return err
	}
	st := s.step("hotsku", t, 1, ps, s.orders(t, ps, 1).source())
	st.load.Rate, st.load.Connections, st.warmup = half, conns, 0
	s.logf("hotsku: flashstock open-loop at half its median maximum (%d connections): %.0f/s", conns, half)
	_, err = s.measure(ctx, st)
	return err
}

// fastest returns the connection count whose median throughput is highest,
// and that median; the first count on ties.
func fastest(counts []int, throughputs map[int][]float64) (int, float64) {
	best, peak := counts[0], median(throughputs[counts[0]])
	for _, c := range counts[1:] {
		if m := median(throughputs[c]); m > peak {
			best, peak = c, m
		}
	}
	return best, peak
}

// sellout: N units, K×N buyers; exactly N must succeed.
func (s *suite) sellout(ctx context.Context) error {
	for _, t := range s.targets(TargetFlashstock, TargetNaive, TargetRedisLock) {
		ps, err := s.products(ctx, "sellout-"+t.Name, 1, s.cfg.Stock)
		if err != nil {
			return err
		}
		st := s.step("sellout", t, 1, ps, s.orders(t, ps, 1).source())
		st.load = Load{Connections: s.cfg.Connections, Duration: selloutTimeout,
			Requests: s.cfg.Stock * int64(s.cfg.BuyersPer)}
		st.warmup, st.expect.soldOut = 0, true
		if _, err := s.measure(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// catalog: M products with zipf popularity, a mix of product reads and
// 1-unit orders; flashstock and the naive baseline, each on its own product
// block.
func (s *suite) catalog(ctx context.Context) error {
	for _, t := range s.targets(TargetFlashstock, TargetNaive) {
		b, err := s.newBlock(ctx, "cat-"+t.Name, s.cfg.Products)
		if err != nil {
			return err
		}
		cdf := zipfCDF(b.spec.Count, s.cfg.Zipf)
		src := func(r *rand.Rand) Request {
			i := pick(cdf, r.Float64())
			if r.Float64() < s.cfg.ReadRatio {
				return b.read(i)
			}
			return b.order(i, s.users[r.IntN(len(s.users))], 201)
		}
		st := s.step("catalog", t, 1, nil, src)
		st.expect.block = b
		if _, err := s.measure(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// spread: 1-unit orders uniformly over SpreadProducts products (a flash
// sale of many deals), every target that serves orders in turn, rounds
// alternating the targets. flashstock orders from a block of its own, the
// baselines share one (see block); each block serves all the rounds.
func (s *suite) spread(ctx context.Context) error {
	targets := s.targets(TargetFlashstock, TargetNaive, TargetRedisLock)
	blocks := make(map[string]*block)
	for _, t := range targets {
		key := blockWriter(t.Name)
		if blocks[key] != nil {
			continue
		}
		b, err := s.newBlock(ctx, "spread-"+key, s.cfg.SpreadProducts)
		if err != nil {
			return err
		}
		blocks[key] = b
	}
	for round := 1; round <= s.cfg.Rounds; round++ {
		for _, t := range targets {
			b := blocks[blockWriter(t.Name)]
			st := s.step("spread", t, round, nil, b.uniformOrders(s.users))
			st.expect.block = b
			if _, err := s.measure(ctx, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// blockWriter names the writer of a target's block: flashstock, or "db"
// for the baselines, which keep no stock in memory.
func blockWriter(target string) string {
	if target == TargetFlashstock {
		return TargetFlashstock
	}
	return "db"
}

// multi: 3-item orders over a set of products, every target that serves
// orders in turn.
func (s *suite) multi(ctx context.Context) error {
	for round := 1; round <= s.cfg.Rounds; round++ {
		for _, t := range s.targets(TargetFlashstock, TargetNaive, TargetRedisLock) {
			ps, err := s.products(ctx, fmt.Sprintf("multi-%s-%d", t.Name, round), multiProducts, plentyStock)
			if err != nil {
				return err
			}
			if _, err := s.measure(ctx, s.step("multi", t, round, ps, s.orders(t, ps, multiItems).source())); err != nil {
				return err
			}
		}
	}
	return nil
}

// soak: flashstock at a fixed rate for a while, its memory sampled.
func (s *suite) soak(ctx context.Context) error {
	t := s.targets(TargetFlashstock)[0]
	ps, err := s.products(ctx, "soak", soakProducts, plentyStock)
	if err != nil {
		return err
	}
	st := s.step("soak", t, 1, ps, s.orders(t, ps, 1).source())
	st.load.Rate, st.load.Duration, st.warmup = s.cfg.SoakRate, s.cfg.SoakFor, 0
	_, err = s.measure(ctx, st)
	return err
}

// step returns the usual step: the configured load (closed loop unless a
// rate is set) with warm-up, auditing the given products.
func (s *suite) step(scenario string, t Target, round int, ps []Product, src Source) step {
	st := step{scenario: scenario, target: t, round: round, src: src, warmup: s.cfg.Warmup,
		load:   Load{Connections: s.cfg.Connections, Duration: s.cfg.Duration, Rate: s.cfg.Rate},
		expect: expectation{products: ps}}
	if st.load.Rate > 0 {
		st.warmup = 0
	}
	return st
}

// orderSet is the prebuilt order requests of a run: one body per choice of
// products, sent by a random buyer.
type orderSet struct {
	users  []User
	bodies [][]byte
	expect int
	order  bool
}

// orders prebuilds order bodies of n distinct products (1 unit each) over
// ps: with n = 1 one body per product, else every combination, items in a
// shuffled order. The ceiling answers 200 and stores nothing.
func (s *suite) orders(t Target, ps []Product, n int) orderSet {
	set := orderSet{users: s.users, expect: 201, order: true}
	if t.Name == TargetCeiling {
		set.expect, set.order = 200, false
	}
	rng := rand.New(rand.NewPCG(uint64(len(ps)), uint64(n)))
	for _, combo := range combinations(len(ps), n) {
		rng.Shuffle(len(combo), func(i, j int) { combo[i], combo[j] = combo[j], combo[i] })
		items := make([]string, len(combo))
		for i, k := range combo {
			items[i] = fmt.Sprintf(`{"product_id":%q,"quantity":1}`, ps[k].ID)
		}
		set.bodies = append(set.bodies, []byte(`{"items":[`+strings.Join(items, ",")+`]}`))
	}
	return set
}

// at returns an order for body i from a random buyer.
func (o orderSet) at(i int, r *rand.Rand) Request {
	u := o.users[r.IntN(len(o.users))]
	return Request{Method: "POST", Path: "/orders/", Auth: u.Auth, Body: o.bodies[i], Expect: o.expect, Order: o.order}
}

// source returns a source of orders with a random body from a random buyer.
func (o orderSet) source() Source {
	return func(r *rand.Rand) Request { return o.at(r.IntN(len(o.bodies)), r) }
}

// combinations returns every sorted n-subset of 0..m-1.
func combinations(m, n int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == n {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i < m; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, make([]int, 0, n))
	return out
}

// zipfCDF returns the cumulative distribution of ranks 0..n-1 with
// weights 1/(rank+1)^s.
func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range cdf {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return cdf
}

// pick returns the rank whose cumulative share first reaches u in [0,1).
func pick(cdf []float64, u float64) int {
	i, _ := slices.BinarySearch(cdf, u)
	return min(i, len(cdf)-1)
}
