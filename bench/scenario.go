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
// round); then flashstock open-loop at half its median maximum rate, for
// the latency target.
func (s *suite) hotsku(ctx context.Context) error {
	var maxima []float64
	for round := 1; round <= s.cfg.Rounds; round++ {
		for _, t := range s.targets(TargetFlashstock, TargetNaive, TargetRedisLock, TargetCeiling) {
			ps, err := s.products(ctx, fmt.Sprintf("hot-%s-%d", t.Name, round), 1, plentyStock)
			if err != nil {
				return err
			}
			st := s.step("hotsku", t, round, ps, s.orders(t, ps, 1).source())
			run, err := s.measure(ctx, st)
			if err != nil {
				return err
			}
			if t.Name == TargetFlashstock {
				maxima = append(maxima, run.Throughput)
			}
		}
	}
	if s.cfg.Rate > 0 {
		return nil // the runs were open-loop already
	}
	half := median(maxima) / halfRateDivisor
	if half < 1 {
		return fmt.Errorf("flashstock sold nothing (median %.0f/s)", median(maxima))
	}
	t := s.targets(TargetFlashstock)[0]
	ps, err := s.products(ctx, "hot-half", 1, plentyStock)
	if err != nil {
		return err
	}
	st := s.step("hotsku", t, 1, ps, s.orders(t, ps, 1).source())
	st.load.Rate, st.warmup = half, 0
	s.logf("hotsku: flashstock open-loop at half its median maximum: %.0f/s", half)
	_, err = s.measure(ctx, st)
	return err
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
// 1-unit orders (flashstock only: the baselines serve orders alone).
func (s *suite) catalog(ctx context.Context) error {
	t := s.targets(TargetFlashstock)[0]
	s.logf("catalog: creating %d products", s.cfg.Products)
	ps, err := s.products(ctx, "cat", s.cfg.Products, plentyStock)
	if err != nil {
		return err
	}
	orders := s.orders(t, ps, 1)
	cdf := zipfCDF(len(ps), s.cfg.Zipf)
	reads := make([]Request, len(ps))
	for i, p := range ps {
		reads[i] = Request{Method: "GET", Path: "/products/" + p.ID, Expect: 200}
	}
	byProduct := func(r *rand.Rand) int { return pick(cdf, r.Float64()) }
	src := func(r *rand.Rand) Request {
		i := byProduct(r)
		if r.Float64() < s.cfg.ReadRatio {
			return reads[i]
		}
		return orders.at(i, r)
	}
	_, err = s.measure(ctx, s.step("catalog", t, 1, ps, src))
	return err
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
	st.load.Rate, st.load.Duration, st.warmup, st.rss = s.cfg.SoakRate, s.cfg.SoakFor, 0, true
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
