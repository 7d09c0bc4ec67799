package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Snapshot is what the gauges show, read at each scrape.
type Snapshot struct {
	LiveActors         map[string]int    // by kind: sku, mailer, scheduler, deadletters
	Inflight           map[string]int64  // requests in flight by actor kind
	Restarts           map[string]uint64 // recovered actor crashes by kind, since start
	Messages           map[string]uint64 // requests (messages) handled by actor kind, since start
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
	for _, d := range []*prometheus.Desc{descLive, descInflight, descRestarts, descMessages, descPending, descLowStock, descDeadWait, descOutbox, descRateFailOp} {
		ch <- d
	}
}

// Collect reads a snapshot and sends its values.
func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	for kind, n := range s.LiveActors {
		ch <- prometheus.MustNewConstMetric(descLive, prometheus.GaugeValue, float64(n), kind)
	}
	for kind, n := range s.Inflight {
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(n), kind)
	}
	for kind, n := range s.Restarts {
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(n), kind)
	}
	for kind, n := range s.Messages {
		ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.PendingOrders))
	ch <- prometheus.MustNewConstMetric(descLowStock, prometheus.GaugeValue, float64(s.LowStockProducts))
	ch <- prometheus.MustNewConstMetric(descDeadWait, prometheus.GaugeValue, float64(s.DeadLettersWaiting))
	ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(s.OutboxPending))
	ch <- prometheus.MustNewConstMetric(descRateFailOp, prometheus.CounterValue, float64(s.RateLimitFailOpens))
}
