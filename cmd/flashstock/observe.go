package main

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/httpd"
	"github.com/flashstock/flashstock/internal/metrics"
	"github.com/flashstock/flashstock/usecase"
)

// hottestSKUsShown is how many SKU actors GET /admin/actors lists.
const hottestSKUsShown = 10

// observability is the process's metrics registry, the metrics the
// adapters update, and what the scrape-time gauges read.
type observability struct {
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	core    atomic.Pointer[core]
	server  atomic.Pointer[httpd.Server]
}

// newObservability registers every metric on a fresh registry (no global
// state: tests run several servers in one process).
func newObservability() (*observability, error) {
	o := &observability{reg: prometheus.NewRegistry()}
	m, err := metrics.New(o.reg, o.snapshot)
	if err != nil {
		return nil, err
	}
	o.metrics = m
	return o, nil
}

// preset creates every series whose labels come from other packages (the
// server's routes, the scheduled tasks, locks, the default currency), so
// that they exist, at zero, from the first scrape.
func (o *observability) preset(srv *httpd.Server) {
	k := metrics.Known{Tasks: usecase.TaskNames, TaskResults: actors.TaskResults,
		Locks: []string{actors.LockJob}, LockResults: actors.LockResults,
		Currencies: []string{string(engine.CurrencyDefault)}}
	for _, r := range srv.Routes() {
		k.Routes = append(k.Routes, metrics.KnownRoute{Route: r.Pattern, Method: r.Method})
	}
	o.metrics.Preset(k)
}

// handler serves the registry in the Prometheus exposition format.
func (o *observability) handler() http.Handler {
	return promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// snapshot reads the gauges at scrape time.
func (o *observability) snapshot() metrics.Snapshot {
	var s metrics.Snapshot
	if srv := o.server.Load(); srv != nil {
		s.RateLimitFailOpens = srv.RateLimitFailOpens()
	}
	k := o.core.Load()
	if k == nil {
		return s
	}
	// Stats, not ActorStats: a scrape must not walk every live SKU actor
	// for the hottest ones, which the metrics do not show.
	st := k.inv.Stats()
	s.LiveActors = map[string]int{"sku": st.LiveActors, "mailer": 1, "scheduler": 1, "deadletters": 1}
	s.Inflight = map[string]int64{"sku": st.Inflight, "mailer": 0, "scheduler": 0, "deadletters": 0}
	s.Restarts = map[string]uint64{"sku": st.Crashes, "mailer": 0, "scheduler": 0, "deadletters": 0}
	s.Messages = map[string]uint64{"sku": st.Messages}
	s.ActorEvictions = st.Evictions
	s.CommitQueued = st.CommitQueued
	s.ShardsOwned, s.FencingRejections = st.ShardsOwned, st.FencingRejections
	g, _ := k.gauges.Load()
	s.PendingOrders, s.LowStockProducts, s.DeadLettersWaiting, s.OutboxPending = g.PendingOrders, g.LowStockProducts, g.DeadLetters, g.OutboxPending
	return s
}

// ActorStats describes the running actors (httpd's Actors port).
func (k *core) ActorStats(context.Context) (engine.ActorStats, error) {
	s := k.inv.Stats()
	return engine.ActorStats{
		Kinds: []engine.ActorKindStats{
			{Kind: "sku", Live: s.LiveActors, Inflight: s.Inflight, Restarts: s.Crashes},
			{Kind: "mailer", Live: 1},
			{Kind: "scheduler", Live: 1},
			{Kind: "deadletters", Live: 1},
		},
		HottestSKUs: k.inv.Hottest(hottestSKUsShown),
	}, nil
}
