package metrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/metrics"
)

func newMetrics(t *testing.T, snap func() metrics.Snapshot) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, snap)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestObservationsReachTheRegistry(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	m.OrderPlaced(metrics.OrderCreated, 3*time.Millisecond, engine.Money{Amount: 1250, Currency: "EUR"})
	m.OrderPlaced(metrics.OrderInsufficientStock, time.Millisecond, engine.Money{})
	m.Request("/orders/{id}", "GET", 404, 2*time.Millisecond)
	m.CommitDone(37, 4*time.Millisecond, nil)
	m.CommitDone(2, time.Second, errors.New("down"))
	m.OrderStatus(engine.Order{Status: engine.StatusCancelled, CancelReason: engine.CancelReasonExpired})
	m.OrderStatus(engine.Order{Status: engine.StatusConfirmed})
	m.PaymentOutcome(engine.OutcomeLatePayment)
	m.TaskRun("daily_report", "done", time.Second)
	m.MailAttempt(metrics.MailRetry)
	m.DeadLetter(engine.DeadActor)
	m.LockAttempt("job", "taken")
	want := `
# HELP flashstock_orders_created_total Order placements by status: created, insufficient_stock, invalid, rate_limited, overloaded, unavailable, error.
# TYPE flashstock_orders_created_total counter
flashstock_orders_created_total{status="created"} 1
flashstock_orders_created_total{status="error"} 0
flashstock_orders_created_total{status="insufficient_stock"} 1
flashstock_orders_created_total{status="invalid"} 0
flashstock_orders_created_total{status="overloaded"} 0
flashstock_orders_created_total{status="rate_limited"} 0
flashstock_orders_created_total{status="unavailable"} 0
# HELP flashstock_order_value_minor_units_total Sum of the totals of created orders, in minor units, by currency.
# TYPE flashstock_order_value_minor_units_total counter
flashstock_order_value_minor_units_total{currency="EUR"} 1250
# HELP flashstock_order_status_changes_total Orders moved into a status after creation (confirmed, failed, cancelled, expired, processing, shipped, delivered, returned).
# TYPE flashstock_order_status_changes_total counter
flashstock_order_status_changes_total{status="cancelled"} 0
flashstock_order_status_changes_total{status="confirmed"} 1
flashstock_order_status_changes_total{status="delivered"} 0
flashstock_order_status_changes_total{status="expired"} 1
flashstock_order_status_changes_total{status="failed"} 0
flashstock_order_status_changes_total{status="processing"} 0
flashstock_order_status_changes_total{status="returned"} 0
flashstock_order_status_changes_total{status="shipped"} 0
# HELP flashstock_commit_failures_total Group commits that failed (their orders were answered 503).
# TYPE flashstock_commit_failures_total counter
flashstock_commit_failures_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flashstock_orders_created_total",
		"flashstock_order_value_minor_units_total", "flashstock_order_status_changes_total", "flashstock_commit_failures_total"); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{"flashstock_http_requests_total": 1, "flashstock_commit_batch_size": 1,
		"flashstock_webhook_events_total": len(engine.PaymentOutcomes), "flashstock_task_runs_total": 1,
		"flashstock_mail_deliveries_total": 3, "flashstock_dead_letters_total": 3, "flashstock_lock_acquisitions_total": 1,
		"flashstock_order_creation_duration_seconds": 1} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != n {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, n)
		}
	}
	httpWant := `
# HELP flashstock_http_requests_total HTTP requests by route pattern, method and status code.
# TYPE flashstock_http_requests_total counter
flashstock_http_requests_total{method="GET",route="/orders/{id}",status="404"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(httpWant), "flashstock_http_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestSnapshotReadAtScrape(t *testing.T) {
	t.Parallel()
	calls := 0
	_, reg := newMetrics(t, func() metrics.Snapshot {
		calls++
		return metrics.Snapshot{LiveActors: map[string]int{"sku": 3}, Inflight: map[string]int64{"sku": 2},
			Restarts: map[string]uint64{"sku": 1}, Messages: map[string]uint64{"sku": 42}, ActorEvictions: 9, CommitQueued: 11, PendingOrders: 7, LowStockProducts: 2, DeadLettersWaiting: 4, OutboxPending: 5}
	})
	want := `
# HELP flashstock_active_orders Orders waiting for payment (pending).
# TYPE flashstock_active_orders gauge
flashstock_active_orders 7
# HELP flashstock_actor_evictions_total SKU actors passivated to stay under the cap on live actors (FLASHSTOCK_ACTORS_MAX).
# TYPE flashstock_actor_evictions_total counter
flashstock_actor_evictions_total 9
# HELP flashstock_actor_messages_total Requests (messages) sent to actors, by kind.
# TYPE flashstock_actor_messages_total counter
flashstock_actor_messages_total{kind="deadletters"} 0
flashstock_actor_messages_total{kind="mailer"} 0
flashstock_actor_messages_total{kind="scheduler"} 0
flashstock_actor_messages_total{kind="sku"} 42
# HELP flashstock_actors_live Live actors by kind.
# TYPE flashstock_actors_live gauge
flashstock_actors_live{kind="deadletters"} 0
flashstock_actors_live{kind="mailer"} 0
flashstock_actors_live{kind="scheduler"} 0
flashstock_actors_live{kind="sku"} 3
# HELP flashstock_commit_queue_operations Operations waiting for a transaction of the commit pipeline.
# TYPE flashstock_commit_queue_operations gauge
flashstock_commit_queue_operations 11
# HELP flashstock_dead_letters_waiting Dead letters waiting for an operator.
# TYPE flashstock_dead_letters_waiting gauge
flashstock_dead_letters_waiting 4
# HELP flashstock_outbox_pending Mails in the outbox not yet sent (the mailer queue).
# TYPE flashstock_outbox_pending gauge
flashstock_outbox_pending 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flashstock_active_orders", "flashstock_actor_evictions_total", "flashstock_actor_messages_total", "flashstock_actors_live",
		"flashstock_commit_queue_operations", "flashstock_dead_letters_waiting", "flashstock_outbox_pending"); err != nil {
		t.Error(err)
	}
	if calls == 0 {
		t.Error("snapshot never read")
	}
	if n, err := testutil.GatherAndCount(reg, "go_goroutines", "flashstock_process_resident_memory_bytes"); err != nil || n != 2 {
		t.Errorf("runtime and process collectors: %d series, %v", n, err)
	}
}

// TestSeriesExistBeforeTheirFirstEvent: every series with a fixed label set
// is there, at zero, before anything happened, the by-kind actor series
// included, and Preset creates those whose label values other packages own.
func TestSeriesExistBeforeTheirFirstEvent(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	m.Preset(metrics.Known{
		Routes: []metrics.KnownRoute{{Route: "/orders/", Method: "POST"}, {Route: "/orders/{id}", Method: "GET"}},
		Tasks:  []string{"expire_orders", "daily_report"}, TaskResults: []string{"done", "dead"},
		Locks: []string{"job"}, LockResults: []string{"acquired", "taken", "error"}, Currencies: []string{"USD"},
	})
	for name, n := range map[string]int{
		"flashstock_orders_created_total":          len(metrics.OrderResults),
		"flashstock_order_status_changes_total":    len(engine.Statuses), // all but pending, plus expired
		"flashstock_webhook_events_total":          len(engine.PaymentOutcomes),
		"flashstock_mail_deliveries_total":         3,
		"flashstock_dead_letters_total":            3,
		"flashstock_http_requests_total":           2 * 2, // routes × the preset 500 and 503
		"flashstock_http_request_duration_seconds": 2,
		"flashstock_task_runs_total":               2 * 2,
		"flashstock_task_duration_seconds":         2 * 2,
		"flashstock_lock_acquisitions_total":       3,
		"flashstock_order_value_minor_units_total": 1,
		"flashstock_actors_live":                   len(metrics.ActorKinds),
		"flashstock_actor_inflight":                len(metrics.ActorKinds),
		"flashstock_actor_restarts_total":          len(metrics.ActorKinds),
		"flashstock_actor_messages_total":          len(metrics.ActorKinds),
		"flashstock_actor_evictions_total":         1,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != n {
			t.Errorf("%s: %d series before any event (%v), want %d", name, got, err, n)
		}
	}
}

func TestRegisteringTwiceFails(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg, nil); err == nil {
		t.Error("a second registration on the same registry succeeded")
	}
}

// BenchmarkObserveOrder is what one order adds to the hot path: its request
// and its placement (commits are shared by a batch).
func BenchmarkObserveOrder(b *testing.B) {
	m, err := metrics.New(prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	total := engine.Money{Amount: 1250, Currency: "USD"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/orders/", "POST", 201, time.Millisecond)
			m.OrderPlaced(metrics.OrderCreated, time.Millisecond, total)
		}
	})
}
