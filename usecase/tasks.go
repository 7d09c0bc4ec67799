package usecase

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Names of the scheduled tasks (`flashstock jobs run NAME`).
const (
	TaskExpireOrders    = "expire_orders"     // cancel pending orders past their deadline, returning their stock
	TaskLowStock        = "low_stock"         // alert the admin once per threshold crossing
	TaskDailyReport     = "daily_report"      // yesterday's sales, stored and mailed to the admin
	TaskArchiveWebhooks = "archive_webhooks"  // archive old webhook events, delete very old ones
	TaskDeadLetterAlert = "dead_letter_alert" // alert the admin when dead letters pile up
	TaskRefreshGauges   = "refresh_gauges"    // recount what the gauges show
	TaskPruneHistory    = "prune_history"     // delete old task runs, sent mails, retried dead letters
)

// TaskNames lists every scheduled task, in the order `flashstock jobs list`
// shows them.
var TaskNames = []string{TaskExpireOrders, TaskLowStock, TaskDailyReport, TaskArchiveWebhooks,
	TaskDeadLetterAlert, TaskRefreshGauges, TaskPruneHistory}

// DefaultSchedules are the tasks' schedules unless configured.
var DefaultSchedules = map[string]engine.Schedule{
	TaskExpireOrders:    {Every: 30 * time.Second},
	TaskLowStock:        {Every: time.Minute},
	TaskDailyReport:     {Daily: true, At: 5 * time.Minute},
	TaskArchiveWebhooks: {Daily: true, At: 3 * time.Hour},
	TaskDeadLetterAlert: {Every: 5 * time.Minute},
	TaskRefreshGauges:   {Every: 15 * time.Second},
	TaskPruneHistory:    {Daily: true, At: 3*time.Hour + 30*time.Minute},
}

// Task is one periodic job: the work of a scheduled task, which the
// actors' scheduler runs (cmd hands it over as an actors.Task, field by
// field).
type Task struct {
	Name     string
	Schedule engine.Schedule
	// Run does the work of the slot starting at slot and returns a summary
	// (JSON-encodable) of what it did. It must be safe to run again for the
	// same slot after a failure: a run that fails is retried.
	Run func(ctx context.Context, slot time.Time) (any, error)
	// PerNode tasks run on every node for every slot (their run key names
	// the node): they refresh something held in the node's memory.
	PerNode bool
}

// TasksConfig configures the scheduled tasks. Zero fields take defaults.
type TasksConfig struct {
	Schedules              map[string]engine.Schedule // by task name; missing = DefaultSchedules
	AdminEmail             string                     // where admin mails go (required)
	ExpiryBatchMax         int                        // orders looked up per expiry round
	ExpiryWorkers          int                        // orders cancelled at once
	ArchiveAfter           time.Duration              // webhook events older than this are archived
	DeleteAfter            time.Duration              // archived events older than this are deleted
	ArchiveBatchMax        int                        // events moved per statement
	LowStockBatchMax       int                        // products alerted per run
	DeadLetterAlertMin     int                        // more dead letters than this in the window alert
	DeadLetterAlertWindow  time.Duration
	KeepTaskRuns           time.Duration // finished task runs are deleted after this
	KeepSentMails          time.Duration // sent mails are deleted after this (their keys are forgotten)
	KeepRetriedDeadLetters time.Duration // retried dead letters are deleted after this
	PruneBatchMax          int           // records deleted per table per statement
}

// Task defaults.
const (
	ExpiryBatchMaxDefault         = 500
	ExpiryWorkersDefault          = 4
	ArchiveAfterDefault           = 90 * 24 * time.Hour
	DeleteAfterDefault            = 365 * 24 * time.Hour
	ArchiveBatchMaxDefault        = 10_000
	LowStockBatchMaxDefault       = 1000
	DeadLetterAlertMinDefault     = 5
	DeadLetterAlertWindowDefault  = time.Hour
	KeepTaskRunsDefault           = 7 * 24 * time.Hour
	KeepSentMailsDefault          = 30 * 24 * time.Hour
	KeepRetriedDeadLettersDefault = 90 * 24 * time.Hour
	PruneBatchMaxDefault          = 10_000
)

func (c TasksConfig) withDefaults() TasksConfig {
	orDefault(&c.ExpiryBatchMax, ExpiryBatchMaxDefault)
	orDefault(&c.ExpiryWorkers, ExpiryWorkersDefault)
	orDefault(&c.ArchiveBatchMax, ArchiveBatchMaxDefault)
	orDefault(&c.LowStockBatchMax, LowStockBatchMaxDefault)
	orDefault(&c.DeadLetterAlertMin, DeadLetterAlertMinDefault)
	orDefault(&c.ArchiveAfter, ArchiveAfterDefault)
	orDefault(&c.DeleteAfter, DeleteAfterDefault)
	orDefault(&c.DeadLetterAlertWindow, DeadLetterAlertWindowDefault)
	orDefault(&c.KeepTaskRuns, KeepTaskRunsDefault)
	orDefault(&c.KeepSentMails, KeepSentMailsDefault)
	orDefault(&c.KeepRetriedDeadLetters, KeepRetriedDeadLettersDefault)
	orDefault(&c.PruneBatchMax, PruneBatchMaxDefault)
	return c
}

// Validate reports unusable settings, after defaults.
func (c TasksConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.AdminEmail == "" {
		errs = append(errs, errors.New("admin e-mail: required (low-stock alerts, reports and dead-letter alerts go there)"))
	}
	for name := range c.Schedules {
		if _, ok := DefaultSchedules[name]; !ok {
			errs = append(errs, fmt.Errorf("schedule for unknown task %q", name))
		}
	}
	if c.ExpiryBatchMax < 1 || c.ExpiryBatchMax > 10_000 || c.ExpiryWorkers < 1 || c.ExpiryWorkers > 64 {
		errs = append(errs, errors.New("expiry: batch 1..10000, workers 1..64"))
	}
	if c.ArchiveAfter <= 0 || c.DeleteAfter < c.ArchiveAfter {
		errs = append(errs, errors.New("webhook retention: need 0 < archive after <= delete after"))
	}
	if c.KeepTaskRuns <= 0 || c.KeepSentMails <= 0 || c.KeepRetriedDeadLetters <= 0 || c.PruneBatchMax < 1 || c.PruneBatchMax > 10_000 {
		errs = append(errs, errors.New("retention: keep durations must be positive, prune batch 1..10000"))
	}
	if c.ArchiveBatchMax < 1 || c.LowStockBatchMax < 1 || c.DeadLetterAlertMin < 0 || c.DeadLetterAlertWindow <= 0 {
		errs = append(errs, errors.New("batch sizes and the dead-letter alert window must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tasks config: %w", err)
	}
	return nil
}

// GaugeBoard holds the latest counts of the gauge-refresh task, for the
// metrics and admin endpoints to read. Safe for concurrent use.
type GaugeBoard struct {
	v atomic.Pointer[gaugeReading]
}

type gaugeReading struct {
	g  engine.Gauges
	at time.Time
}

// Load returns the latest counts and when they were taken (zero before
// the first refresh).
func (b *GaugeBoard) Load() (engine.Gauges, time.Time) {
	r := b.v.Load()
	if r == nil {
		return engine.Gauges{}, time.Time{}
	}
	return r.g, r.at
}

// NewTasks returns the scheduled tasks over store; expiry cancels through
// orders, and gauges receive the refreshed counts.
func NewTasks(store TaskStore, orders OrderTransitioner, gauges *GaugeBoard, cfg TasksConfig) ([]Task, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || orders == nil || gauges == nil {
		return nil, errors.New("usecase: NewTasks needs a store, an order transitioner and a gauge board")
	}
	t := tasks{store: store, orders: orders, gauges: gauges, cfg: cfg}
	runs := map[string]func(context.Context, time.Time) (any, error){
		TaskExpireOrders:    t.expireOrders,
		TaskLowStock:        t.lowStock,
		TaskDailyReport:     t.dailyReport,
		TaskArchiveWebhooks: t.archiveWebhooks,
		TaskDeadLetterAlert: t.deadLetterAlert,
		TaskRefreshGauges:   t.refreshGauges,
		TaskPruneHistory:    t.pruneHistory,
	}
	out := make([]Task, 0, len(runs))
	for name, run := range runs {
		s, ok := cfg.Schedules[name]
		if !ok {
			s = DefaultSchedules[name]
		}
		// The gauges live in each node's memory: every node refreshes its own.
		out = append(out, Task{Name: name, Schedule: s, Run: run, PerNode: name == TaskRefreshGauges})
	}
	return out, nil
}

type tasks struct {
	store  TaskStore
	orders OrderTransitioner
	gauges *GaugeBoard
	cfg    TasksConfig
}

// expiryResult is what one expiry run did.
type expiryResult struct {
	Expired int `json:"expired"` // cancelled with reason expired
	Raced   int `json:"raced"`   // paid or cancelled meanwhile: left alone
}

// expireOrders cancels every pending order past its deadline, in rounds of
// ExpiryBatchMax, ExpiryWorkers at a time. Each cancel locks the order row,
// so a payment racing it either lands first (the cancel is then a conflict
// and skipped) or finds the order cancelled (a late payment); the stock is
// returned once, by the transition that wins.
func (t tasks) expireOrders(ctx context.Context, _ time.Time) (any, error) {
	var res expiryResult
	for {
		now := time.Now().UTC()
		ids, err := t.store.ExpiredOrders(ctx, now, t.cfg.ExpiryBatchMax)
		if err != nil {
			return res, err
		}
		expired, raced, err := t.expireAll(ctx, ids, now)
		res.Expired, res.Raced = res.Expired+expired, res.Raced+raced
		if err != nil || len(ids) < t.cfg.ExpiryBatchMax {
			return res, err
		}
	}
}

// expireAll cancels ids with ExpiryWorkers workers and returns how many
// were cancelled, how many had moved on, and the first other error.
func (t tasks) expireAll(ctx context.Context, ids []engine.ID, now time.Time) (expired, raced int, err error) {
	var mu sync.Mutex
	var errs []error
	next := make(chan engine.ID)
	var wg sync.WaitGroup
	for range min(t.cfg.ExpiryWorkers, max(len(ids), 1)) {
		wg.Go(func() {
			for id := range next {
				_, err := t.orders.TransitionOrder(ctx, engine.TransitionOrder{OrderID: id, To: engine.StatusCancelled,
					By: engine.TriggerExpiry, Reason: engine.CancelReasonExpired, Now: now})
				mu.Lock()
				switch {
				case err == nil:
					expired++
				case errors.Is(err, engine.ErrConflict), errors.Is(err, engine.ErrNotFound):
					raced++
				default:
					errs = append(errs, fmt.Errorf("expire order %s: %w", id, err))
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		select {
		case next <- id:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) > 0 {
		return expired, raced, fmt.Errorf("%d of %d expiries failed, first: %w", len(errs), len(ids), errs[0])
	}
	return expired, raced, nil
}

func (t tasks) lowStock(ctx context.Context, _ time.Time) (any, error) {
	alerted, rearmed, err := t.store.RecordLowStock(ctx, time.Now().UTC(), t.cfg.AdminEmail, t.cfg.LowStockBatchMax)
	if err != nil {
		return nil, err
	}
	skus := make([]string, len(alerted))
	for i, p := range alerted {
		skus[i] = p.SKU
	}
	return map[string]any{"alerted": skus, "rearmed": rearmed}, nil
}

// dailyReport reports the day before the slot (the run at 00:05 reports
// yesterday; a manual run now reports yesterday too).
func (t tasks) dailyReport(ctx context.Context, slot time.Time) (any, error) {
	day := engine.ReportDay(slot)
	r, err := t.store.SalesReport(ctx, day)
	if err != nil {
		return nil, err
	}
	if err := t.store.SaveSalesReport(ctx, r, engine.ReportMail(r, t.cfg.AdminEmail), time.Now().UTC()); err != nil {
		return nil, err
	}
	return map[string]any{"day": day.Format(time.DateOnly), "orders": r.Orders, "paid_orders": r.PaidOrders,
		"top_products": len(r.TopProducts)}, nil
}

func (t tasks) archiveWebhooks(ctx context.Context, _ time.Time) (any, error) {
	now := time.Now().UTC()
	var archived, deleted int
	for {
		a, d, err := t.store.ArchiveWebhookEvents(ctx, now.Add(-t.cfg.ArchiveAfter), now.Add(-t.cfg.DeleteAfter), t.cfg.ArchiveBatchMax)
		archived, deleted = archived+a, deleted+d
		if err != nil {
			return map[string]int{"archived": archived, "deleted": deleted}, err
		}
		if a < t.cfg.ArchiveBatchMax && d < t.cfg.ArchiveBatchMax {
			return map[string]int{"archived": archived, "deleted": deleted}, nil
		}
	}
}

// deadLetterAlert mails the admin when more than DeadLetterAlertMin dead
// letters arrived in the last window; at most one alert per clock hour (the
// mail's key names the hour).
func (t tasks) deadLetterAlert(ctx context.Context, _ time.Time) (any, error) {
	now := time.Now().UTC()
	n, err := t.store.DeadLettersSince(ctx, now.Add(-t.cfg.DeadLetterAlertWindow))
	if err != nil {
		return nil, err
	}
	if n <= t.cfg.DeadLetterAlertMin {
		return map[string]any{"dead_letters": n, "alerted": false}, nil
	}
	added, err := t.store.EnqueueMails(ctx, []engine.Mail{engine.DeadLetterAlertMail(n, now.Truncate(time.Hour), t.cfg.AdminEmail)}, now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"dead_letters": n, "alerted": added > 0}, nil
}

func (t tasks) refreshGauges(ctx context.Context, _ time.Time) (any, error) {
	g, err := t.store.Gauges(ctx)
	if err != nil {
		return nil, err
	}
	t.gauges.v.Store(&gaugeReading{g: g, at: time.Now()})
	return g, nil
}

// pruneHistory deletes finished records past their retention, in rounds
// of PruneBatchMax while any table still had a full round.
func (t tasks) pruneHistory(ctx context.Context, _ time.Time) (any, error) {
	now := time.Now().UTC()
	before := engine.PruneBefore{TaskRuns: now.Add(-t.cfg.KeepTaskRuns), SentMails: now.Add(-t.cfg.KeepSentMails),
		RetriedDeadLetters: now.Add(-t.cfg.KeepRetriedDeadLetters)}
	var total engine.PruneCounts
	for {
		n, err := t.store.PruneHistory(ctx, before, t.cfg.PruneBatchMax)
		total.TaskRuns += n.TaskRuns
		total.SentMails += n.SentMails
		total.RetriedDeadLetters += n.RetriedDeadLetters
		if err != nil {
			return total, err
		}
		if max(n.TaskRuns, n.SentMails, n.RetriedDeadLetters) < t.cfg.PruneBatchMax {
			return total, nil
		}
	}
}
