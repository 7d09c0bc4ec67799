package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/flashstock/flashstock/engine"
)

const namespace = "flashstock"

// Latency buckets, in seconds: 0.5 ms to 10 s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics are the metrics flashstock updates as things happen; the gauges
// read at scrape time are in Snapshot. Safe for concurrent use.
type Metrics struct {
	ordersCreated   *prometheus.CounterVec   // status: the result of POST /orders/
	orderDuration   prometheus.Histogram     // seconds, successful and failed placements
	orderValue      *prometheus.CounterVec   // currency: minor units of created orders
	orderValueHist  prometheus.Histogram     // minor units per created order
	orderStatus     *prometheus.CounterVec   // status: orders entering a status after creation
	httpRequests    *prometheus.CounterVec   // route, method, status
	httpDuration    *prometheus.HistogramVec // route, method
	commitBatch     prometheus.Histogram     // operations per group commit
	commitDuration  prometheus.Histogram     // seconds per group commit
	commitFailures  prometheus.Counter
	webhookOutcomes *prometheus.CounterVec   // outcome
	taskRuns        *prometheus.CounterVec   // task, result
	taskDuration    *prometheus.HistogramVec // task, result
	mailAttempts    *prometheus.CounterVec   // result: sent, retry, dead
	deadLetters     *prometheus.CounterVec   // source
	lockAttempts    *prometheus.CounterVec   // lock, result
	leaseAcquired   *prometheus.CounterVec   // result: acquired, taken, error
	leaseRenewed    *prometheus.CounterVec   // result: renewed, lost, error
	leaseLosses     prometheus.Counter
}

// New registers every metric, the Go runtime and process collectors, and
// the collector of snapshot (read at each scrape) on reg.
func New(reg prometheus.Registerer, snapshot func() Snapshot) (*Metrics, error) {
	m := &Metrics{
		ordersCreated: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "orders_created_total",
			Help: "Order placements by status: created, insufficient_stock, invalid, rate_limited, overloaded, unavailable, error."}, []string{"status"}),
		orderDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "order_creation_duration_seconds",
			Help: "Time to place an order, from the decoded request to the answer (after the commit).", Buckets: latencyBuckets}),
		orderValue: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "order_value_minor_units_total",
			Help: "Sum of the totals of created orders, in minor units, by currency."}, []string{"currency"}),
		orderValueHist: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "order_value_minor_units",
			Help:    "Total of each created order, in minor units.",
			Buckets: []float64{100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000}}),
		orderStatus: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "order_status_changes_total",
			Help: "Orders moved into a status after creation (confirmed, failed, cancelled, expired, processing, shipped, delivered, returned)."}, []string{"status"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests by route pattern, method and status code."}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "HTTP request latency by route pattern and method.", Buckets: latencyBuckets}, []string{"route", "method"}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "commit_batch_size",
			Help: "Operations (orders, holds, releases) per group commit.", Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "commit_duration_seconds",
			Help: "Time of one group commit.", Buckets: latencyBuckets}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "commit_failures_total",
			Help: "Group commits that failed (their orders were answered 503)."}),
		webhookOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "webhook_events_total",
			Help: "Payment webhook events by outcome."}, []string{"outcome"}),
		taskRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "task_runs_total",
			Help: "Scheduled task runs by task and result: done, failed (retried later), dead (dead-lettered), skipped."}, []string{"task", "result"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "task_duration_seconds",
			Help: "Duration of scheduled task runs by task and result.", Buckets: latencyBuckets}, []string{"task", "result"}),
		mailAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "mail_deliveries_total",
			Help: "Mail delivery attempts by result: sent, retry, dead."}, []string{"result"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "dead_letters_total",
			Help: "Dead letters recorded, by source: mail, task, actor."}, []string{"source"}),
		lockAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "lock_acquisitions_total",
			Help: "Lock acquisitions by lock and result: acquired, taken, error."}, []string{"lock", "result"}),
		leaseAcquired: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "lease_acquisitions_total",
			Help: "Shard lease acquisition attempts by result: acquired, taken (another node holds it), error."}, []string{"result"}),
		leaseRenewed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "lease_renewals_total",
			Help: "Shard lease renewals by result: renewed, lost, error (the lease store could not say)."}, []string{"result"}),
		leaseLosses: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "lease_losses_total",
			Help: "Shard leases lost (expired or taken): the node stopped serving those shards."}),
	}
	cs := []prometheus.Collector{m.ordersCreated, m.orderDuration, m.orderValue, m.orderValueHist, m.orderStatus,
		m.httpRequests, m.httpDuration, m.commitBatch, m.commitDuration, m.commitFailures, m.webhookOutcomes,
		m.taskRuns, m.taskDuration, m.mailAttempts, m.deadLetters, m.lockAttempts, m.leaseAcquired, m.leaseRenewed, m.leaseLosses,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: namespace}),
		newSnapshotCollector(snapshot)}
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.init()
	return m, nil
}

// init creates the series of every known label value, so that dashboards
// and alerts see zeros instead of no data.
func (m *Metrics) init() {
	for _, s := range OrderResults {
		m.ordersCreated.WithLabelValues(s)
	}
	for _, o := range engine.PaymentOutcomes {
		m.webhookOutcomes.WithLabelValues(string(o))
	}
	for _, r := range []string{MailSent, MailRetry, MailDead} {
		m.mailAttempts.WithLabelValues(r)
	}
	for _, s := range []engine.DeadLetterSource{engine.DeadMail, engine.DeadTask, engine.DeadActor} {
		m.deadLetters.WithLabelValues(string(s))
	}
	for _, st := range engine.Statuses {
		if st != engine.StatusPending { // orders are created pending: no change into it
			m.orderStatus.WithLabelValues(string(st))
		}
	}
	m.orderStatus.WithLabelValues(statusExpired)
	for _, r := range []string{"acquired", "taken", "error"} {
		m.leaseAcquired.WithLabelValues(r)
	}
	for _, r := range []string{"renewed", "lost", "error"} {
		m.leaseRenewed.WithLabelValues(r)
	}
}

// Known are the label values the metrics cannot know themselves (they belong
// to other packages); Preset creates a zero series for each.
type Known struct {
	Routes      []KnownRoute // registered HTTP routes
	Tasks       []string     // scheduled task names
	TaskResults []string     // results of a task run
	Locks       []string     // lock names of lock_acquisitions_total
	LockResults []string     // results of a lock attempt
	Currencies  []string     // currencies of order_value_minor_units_total
}

// KnownRoute is one HTTP route label pair.
type KnownRoute struct{ Route, Method string }

// presetHTTPStatuses are the status codes created for every route before
// its first request: the server errors the 5xx alert divides by the total.
var presetHTTPStatuses = []string{"500", "503"}

// Preset creates the series of every label combination in k, so that the
// first scrape already shows them at zero: rate() over a series that
// appears with its first increment misses that increment, and a panel of a
// series that does not exist yet says "No data".
func (m *Metrics) Preset(k Known) {
	for _, r := range k.Routes {
		m.httpDuration.WithLabelValues(r.Route, r.Method)
		for _, st := range presetHTTPStatuses {
			m.httpRequests.WithLabelValues(r.Route, r.Method, st)
		}
	}
	for _, t := range k.Tasks {
		for _, r := range k.TaskResults {
			m.taskRuns.WithLabelValues(t, r)
			m.taskDuration.WithLabelValues(t, r)
		}
	}
	for _, l := range k.Locks {
		for _, r := range k.LockResults {
			m.lockAttempts.WithLabelValues(l, r)
		}
	}
	for _, c := range k.Currencies {
		m.orderValue.WithLabelValues(c)
	}
}

// Order placement results (the status label of orders_created_total).
const (
	OrderCreated           = "created"
	OrderInsufficientStock = "insufficient_stock"
	OrderInvalid           = "invalid"
	OrderRateLimited       = "rate_limited"
	OrderOverloaded        = "overloaded"
	OrderUnavailable       = "unavailable"
	OrderError             = "error"
)

// OrderResults lists every order placement result.
var OrderResults = []string{OrderCreated, OrderInsufficientStock, OrderInvalid, OrderRateLimited, OrderOverloaded, OrderUnavailable, OrderError}

// Mail delivery results.
const (
	MailSent  = "sent"
	MailRetry = "retry"
	MailDead  = "dead"
)

// Request counts one HTTP request (httpd's observer port).
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	m.httpRequests.WithLabelValues(route, method, statusText(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// OrderPlaced counts one order placement and, when created, its value.
func (m *Metrics) OrderPlaced(result string, took time.Duration, total engine.Money) {
	m.ordersCreated.WithLabelValues(result).Inc()
	m.orderDuration.Observe(took.Seconds())
	if result == OrderCreated {
		m.orderValue.WithLabelValues(string(total.Currency)).Add(float64(total.Amount))
		m.orderValueHist.Observe(float64(total.Amount))
	}
}

// CommitDone records one group commit of ops operations.
func (m *Metrics) CommitDone(ops int, took time.Duration, err error) {
	m.commitBatch.Observe(float64(ops))
	m.commitDuration.Observe(took.Seconds())
	if err != nil {
		m.commitFailures.Inc()
	}
}

// statusExpired is the status label of an order cancelled by expiry.
const statusExpired = "expired"

// OrderStatus counts an order moved into status after creation; an expiry
// counts as "expired".
func (m *Metrics) OrderStatus(o engine.Order) {
	s := string(o.Status)
	if o.Status == engine.StatusCancelled && o.CancelReason == engine.CancelReasonExpired {
		s = statusExpired
	}
	m.orderStatus.WithLabelValues(s).Inc()
}

// PaymentOutcome counts one webhook event.
func (m *Metrics) PaymentOutcome(o engine.PaymentOutcome) {
	m.webhookOutcomes.WithLabelValues(string(o)).Inc()
}

// TaskRun records one scheduled task run.
func (m *Metrics) TaskRun(task, result string, took time.Duration) {
	m.taskRuns.WithLabelValues(task, result).Inc()
	m.taskDuration.WithLabelValues(task, result).Observe(took.Seconds())
}

// MailAttempt counts one delivery attempt by result.
func (m *Metrics) MailAttempt(result string) { m.mailAttempts.WithLabelValues(result).Inc() }

// DeadLetter counts one dead letter.
func (m *Metrics) DeadLetter(source engine.DeadLetterSource) {
	m.deadLetters.WithLabelValues(string(source)).Inc()
}

// LeaseAcquisition counts one attempt to take a shard lease.
func (m *Metrics) LeaseAcquisition(result string) { m.leaseAcquired.WithLabelValues(result).Inc() }

// LeaseRenewal counts one shard lease renewal; a lost one is a loss too.
func (m *Metrics) LeaseRenewal(result string) {
	m.leaseRenewed.WithLabelValues(result).Inc()
	if result == "lost" {
		m.leaseLosses.Inc()
	}
}

// LockAttempt counts one attempt to take lock (acquired, taken, error).
func (m *Metrics) LockAttempt(lock, result string) {
	m.lockAttempts.WithLabelValues(lock, result).Inc()
}

// statusText is the status label: the code as digits, from a small table
// for the common ones.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		return statusCodes[code-100]
	}
	return "other"
}

var statusCodes = func() []string {
	s := make([]string, 500)
	for i := range s {
		s[i] = itoa3(i + 100)
	}
	return s
}()

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}
