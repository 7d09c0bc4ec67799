package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Snapshot is what the gauges show, read at each scrape.
type Snapshot struct {
	LiveActors         map[string]int    // by kind: sku, mailer, scheduler, deadletters
	Inflight           map[string]int64  // requests in flight by actor kind
	Restarts           map[string]uint64 // recovered actor crashes by kind, since start
	Messages           map[string]uint64 // requests (messages) handled by actor kind, since start
	ActorEvictions     uint64            // SKU actors passivated to stay under the cap on live ones, since start
	CommitQueued       int               // operations waiting for a transaction of the commit pipeline
	ShardsOwned        int               // shards this node owns
	FencingRejections  uint64            // commits refused because a shard's epoch had moved on, since start
	PendingOrders      int64             // orders waiting for payment (refresh_gauges)
	LowStockProducts   int64             // active products at or under their threshold (refresh_gauges)
	DeadLettersWaiting int64             // dead letters in status dead (refresh_gauges)
	OutboxPending      int64             // mails not yet sent (refresh_gauges)
	RateLimitFailOpens uint64            // requests let through because the rate limiter failed
}

var (
	descLive       = prometheus.NewDesc(namespace+"_actors_live", "Live actors by kind.", []string{"kind"}, nil)
	descInflight   = prometheus.NewDesc(namespace+"_actor_inflight", "Requests in flight by actor kind (admitted, not yet answered).", []string{"kind"}, nil)
	descRestarts   = prometheus.NewDesc(namespace+"_actor_restarts_total", "Actor crashes recovered (state reloaded), by kind.", []string{"kind"}, nil)
	descMessages   = prometheus.NewDesc(namespace+"_actor_messages_total", "Requests (messages) sent to actors, by kind.", []string{"kind"}, nil)
	descShards     = prometheus.NewDesc(namespace+"_shards_owned", "Shards this node owns.", nil, nil)
	descFenced     = prometheus.NewDesc(namespace+"_fencing_rejections_total", "Commits refused because this node no longer owns a shard they write: its epoch moved on (another node took it) or its lease's validity passed.", nil, nil)
	descQueued     = prometheus.NewDesc(namespace+"_commit_queue_operations", "Operations waiting for a transaction of the commit pipeline.", nil, nil)
	descEvictions  = prometheus.NewDesc(namespace+"_actor_evictions_total", "SKU actors passivated to stay under the cap on live actors (FLASHSTOCK_ACTORS_MAX).", nil, nil)
	descPending    = prometheus.NewDesc(namespace+"_active_orders", "Orders waiting for payment (pending).", nil, nil)
	descLowStock   = prometheus.NewDesc(namespace+"_low_stock_products", "Active products at or under their low-stock threshold.", nil, nil)
	descDeadWait   = prometheus.NewDesc(namespace+"_dead_letters_waiting", "Dead letters waiting for an operator.", nil, nil)
	descOutbox     = prometheus.NewDesc(namespace+"_outbox_pending", "Mails in the outbox not yet sent (the mailer queue).", nil, nil)
	descRateFailOp = prometheus.NewDesc(namespace+"_rate_limit_fail_open_total", "Requests let through because the rate limiter failed.", nil, nil)
)

// snapshotCollector turns a Snapshot into metrics at each scrape.
type snapshotCollector struct{ read func() Snapshot }

func newSnapshotCollector(read func() Snapshot) prometheus.Collector {
	if read == nil {
		read = func() Snapshot { return Snapshot{} }
	}
	return snapshotCollector{read: read}
}

// Describe sends every descriptor.
func (c snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLive, descInflight, descRestarts, descMessages, descEvictions, descQueued, descShards, descFenced, descPending, descLowStock, descDeadWait, descOutbox, descRateFailOp} {
		ch <- d
	}
}

// Collect reads a snapshot and sends its values.
func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	byKind(ch, descLive, prometheus.GaugeValue, s.LiveActors)
	byKind(ch, descInflight, prometheus.GaugeValue, s.Inflight)
	byKind(ch, descRestarts, prometheus.CounterValue, s.Restarts)
	byKind(ch, descMessages, prometheus.CounterValue, s.Messages)
	ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(s.ActorEvictions))
	ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(s.CommitQueued))
	ch <- prometheus.MustNewConstMetric(descShards, prometheus.GaugeValue, float64(s.ShardsOwned))
	ch <- prometheus.MustNewConstMetric(descFenced, prometheus.CounterValue, float64(s.FencingRejections))
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.PendingOrders))
	ch <- prometheus.MustNewConstMetric(descLowStock, prometheus.GaugeValue, float64(s.LowStockProducts))
	ch <- prometheus.MustNewConstMetric(descDeadWait, prometheus.GaugeValue, float64(s.DeadLettersWaiting))
	ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(s.OutboxPending))
	ch <- prometheus.MustNewConstMetric(descRateFailOp, prometheus.CounterValue, float64(s.RateLimitFailOpens))
}

// ActorKinds are the actor kinds every by-kind series is sent for, at zero
// when a snapshot does not name them (before the core has started, say).
var ActorKinds = []string{"sku", "mailer", "scheduler", "deadletters"}

// byKind sends one sample of desc per kind: every one of ActorKinds, then
// any other kind vals names.
func byKind[N int | int64 | uint64](ch chan<- prometheus.Metric, desc *prometheus.Desc, typ prometheus.ValueType, vals map[string]N) {
	for _, kind := range ActorKinds {
		ch <- prometheus.MustNewConstMetric(desc, typ, float64(vals[kind]), kind)
	}
	for kind, n := range vals {
		if !slices.Contains(ActorKinds, kind) {
			ch <- prometheus.MustNewConstMetric(desc, typ, float64(n), kind)
		}
	}
}
