package usecase_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Tests of the scheduled tasks, each run directly over a fake store.

const adminEmail = "admin@example.com"

// testSlot is the slot the tasks run for.
var testSlot = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// newTasks builds the tasks by name.
func newTasks(t *testing.T, store usecase.TaskStore, orders usecase.OrderTransitioner, board *usecase.GaugeBoard, cfg usecase.TasksConfig) map[string]usecase.Task {
	t.Helper()
	if cfg.AdminEmail == "" {
		cfg.AdminEmail = adminEmail
	}
	list, err := usecase.NewTasks(store, orders, board, cfg)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]usecase.Task{}
	for _, task := range list {
		byName[task.Name] = task
	}
	return byName
}

// runTask runs one task for slot and returns its result as JSON.
func runTask(t *testing.T, tasks map[string]usecase.Task, name string, slot time.Time) (string, error) {
	t.Helper()
	res, err := tasks[name].Run(testCtx(t), slot)
	b, jerr := json.Marshal(res)
	if jerr != nil {
		t.Fatalf("%s result %#v is not JSON: %v", name, res, jerr)
	}
	return string(b), err
}

// idBatches serves ExpiredOrders from a list of batches (then none) and
// records each max asked. Fields guarded by mu.
type idBatches struct {
	mu      sync.Mutex
	batches [][]engine.ID
	calls   int
}

func (b *idBatches) next(_ context.Context, _ time.Time, max int) ([]engine.ID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if len(b.batches) == 0 {
		return nil, nil
	}
	ids := b.batches[0]
	b.batches = b.batches[1:]
	if len(ids) > max {
		return nil, errors.New("batch larger than asked")
	}
	return ids, nil
}

func newIDs(t *testing.T, n int) []engine.ID {
	ids := make([]engine.ID, n)
	for i := range ids {
		ids[i] = newID(t)
	}
	return ids
}

// expire_orders cancels every expired order as expired by the expiry
// trigger, and asks for more while full batches come back.
func TestExpireOrdersCancelsEveryBatch(t *testing.T) {
	t.Parallel()
	ids := newIDs(t, 7)
	batches := &idBatches{batches: [][]engine.ID{ids[:3], ids[3:6], ids[6:]}}
	orders := &fakeOrders{}
	tasks := newTasks(t, &fakeTaskStore{ExpiredOrdersFunc: batches.next}, orders, &usecase.GaugeBoard{},
		usecase.TasksConfig{ExpiryBatchMax: 3, ExpiryWorkers: 2})

	res, err := runTask(t, tasks, usecase.TaskExpireOrders, testSlot)
	if err != nil {
		t.Fatal(err)
	}
	if res != `{"expired":7,"raced":0}` {
		t.Errorf("result %s, want 7 expired", res)
	}
	if batches.calls != 3 {
		t.Errorf("ExpiredOrders called %d times, want 3 (full, full, short)", batches.calls)
	}
	var got []engine.ID
	for _, cmd := range orders.commands() {
		if cmd.To != engine.StatusCancelled || cmd.By != engine.TriggerExpiry || cmd.Reason != engine.CancelReasonExpired || cmd.Now.IsZero() {
			t.Errorf("command %+v, want a cancel by expiry with reason expired", cmd)
		}
		got = append(got, cmd.OrderID)
	}
	sortIDs(got)
	sortIDs(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("cancelled %v, want each expired order once: %v", got, ids)
	}
}

func sortIDs(ids []engine.ID) {
	slices.SortFunc(ids, func(a, b engine.ID) int { return slices.Compare(a[:], b[:]) })
}

// A full batch is followed by another look, even when the next is empty.
func TestExpireOrdersStopsAtAShortBatch(t *testing.T) {
	t.Parallel()
	batches := &idBatches{batches: [][]engine.ID{newIDs(t, 2)}}
	tasks := newTasks(t, &fakeTaskStore{ExpiredOrdersFunc: batches.next}, &fakeOrders{}, &usecase.GaugeBoard{},
		usecase.TasksConfig{ExpiryBatchMax: 2})
	if _, err := runTask(t, tasks, usecase.TaskExpireOrders, testSlot); err != nil {
		t.Fatal(err)
	}
	if batches.calls != 2 {
		t.Errorf("ExpiredOrders called %d times, want 2 (a full batch, then an empty one)", batches.calls)
	}
}

// An order paid or cancelled meanwhile (conflict) is raced, not an error;
// any other failure fails the run, so that the runner retries it.
func TestExpireOrdersCountsRacesAndFailsOnErrors(t *testing.T) {
	t.Parallel()
	ids := newIDs(t, 4)
	conflict, broken := ids[1], ids[3]
	transition := func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
		switch cmd.OrderID {
		case conflict:
			return engine.Order{}, errors.Join(errors.New("order is confirmed"), engine.ErrConflict)
		case broken:
			return engine.Order{}, engine.ErrUnavailable
		}
		return engine.Order{ID: cmd.OrderID}, nil
	}

	batches := &idBatches{batches: [][]engine.ID{ids[:3]}}
	tasks := newTasks(t, &fakeTaskStore{ExpiredOrdersFunc: batches.next}, &fakeOrders{TransitionOrderFunc: transition},
		&usecase.GaugeBoard{}, usecase.TasksConfig{ExpiryBatchMax: 10})
	res, err := runTask(t, tasks, usecase.TaskExpireOrders, testSlot)
	if err != nil || res != `{"expired":2,"raced":1}` {
		t.Errorf("run with a race = %s, %v; want 2 expired, 1 raced, no error", res, err)
	}

	batches = &idBatches{batches: [][]engine.ID{ids}}
	tasks = newTasks(t, &fakeTaskStore{ExpiredOrdersFunc: batches.next}, &fakeOrders{TransitionOrderFunc: transition},
		&usecase.GaugeBoard{}, usecase.TasksConfig{ExpiryBatchMax: 10})
	res, err = runTask(t, tasks, usecase.TaskExpireOrders, testSlot)
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("run with a failed cancel = %v, want the failure", err)
	}
	if res != `{"expired":2,"raced":1}` {
		t.Errorf("result %s, want what was done reported with the error", res)
	}

	failing := &fakeTaskStore{ExpiredOrdersFunc: func(context.Context, time.Time, int) ([]engine.ID, error) {
		return nil, engine.ErrUnavailable
	}}
	tasks = newTasks(t, failing, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{})
	if _, err := runTask(t, tasks, usecase.TaskExpireOrders, testSlot); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("run with the store down = %v, want its error", err)
	}
}

// low_stock records crossings for the admin's address.
func TestLowStockAlertsTheAdmin(t *testing.T) {
	t.Parallel()
	var gotEmail string
	var gotMax int
	store := &fakeTaskStore{RecordLowStockFunc: func(_ context.Context, _ time.Time, email string, max int) ([]engine.Product, int, error) {
		gotEmail, gotMax = email, max
		return []engine.Product{{SKU: "HOT"}, {SKU: "COLD"}}, 3, nil
	}}
	tasks := newTasks(t, store, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{LowStockBatchMax: 50})
	res, err := runTask(t, tasks, usecase.TaskLowStock, testSlot)
	if err != nil {
		t.Fatal(err)
	}
	if gotEmail != adminEmail || gotMax != 50 {
		t.Errorf("RecordLowStock(%q, max %d), want (%q, max 50)", gotEmail, gotMax, adminEmail)
	}
	if res != `{"alerted":["HOT","COLD"],"rearmed":3}` {
		t.Errorf("result %s", res)
	}
}

// daily_report reports the day before its slot and saves it with its mail.
func TestDailyReportReportsTheDayBefore(t *testing.T) {
	t.Parallel()
	slot := time.Date(2026, 3, 10, 0, 5, 0, 0, time.UTC)
	report := engine.SalesReport{Day: engine.ReportDay(slot), Orders: 12, PaidOrders: 9,
		Revenue: []engine.Money{{Amount: 12345, Currency: "EUR"}}}
	var askedDay time.Time
	var saved engine.SalesReport
	var mail engine.Mail
	store := &fakeTaskStore{
		SalesReportFunc: func(_ context.Context, day time.Time) (engine.SalesReport, error) {
			askedDay = day
			return report, nil
		},
		SaveSalesReportFunc: func(_ context.Context, r engine.SalesReport, m engine.Mail, _ time.Time) error {
			saved, mail = r, m
			return nil
		},
	}
	tasks := newTasks(t, store, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{})
	res, err := runTask(t, tasks, usecase.TaskDailyReport, slot)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC); !askedDay.Equal(want) || !askedDay.Equal(engine.ReportDay(slot)) {
		t.Errorf("SalesReport for %v, want %v", askedDay, want)
	}
	if saved.Orders != 12 || saved.PaidOrders != 9 {
		t.Errorf("saved %+v, want the computed report", saved)
	}
	want := engine.ReportMail(report, adminEmail)
	if mail.Key != want.Key || mail.Subject != want.Subject || mail.Text != want.Text || !slices.Equal(mail.To, []string{adminEmail}) {
		t.Errorf("mail %+v, want %+v", mail, want)
	}
	if res != `{"day":"2026-03-09","orders":12,"paid_orders":9,"top_products":0}` {
		t.Errorf("result %s", res)
	}

	store.SaveSalesReportFunc = func(context.Context, engine.SalesReport, engine.Mail, time.Time) error { return engine.ErrUnavailable }
	if _, err := runTask(t, tasks, usecase.TaskDailyReport, slot); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("run with the save failing = %v, want its error", err)
	}
}

// dead_letter_alert mails the admin only above the threshold, with one
// mail per clock hour.
func TestDeadLetterAlertThreshold(t *testing.T) {
	t.Parallel()
	const window = 30 * time.Minute
	for _, tc := range []struct {
		count     int
		wantMail  bool
		wantAdded int
		wantRes   string
	}{
		{count: 0, wantRes: `{"alerted":false,"dead_letters":0}`},
		{count: 3, wantRes: `{"alerted":false,"dead_letters":3}`}, // at the threshold: no mail
		{count: 4, wantMail: true, wantAdded: 1, wantRes: `{"alerted":true,"dead_letters":4}`},
		{count: 9, wantMail: true, wantAdded: 0, wantRes: `{"alerted":false,"dead_letters":9}`}, // this hour's alert exists
	} {
		var since time.Time
		var mails []engine.Mail
		store := &fakeTaskStore{
			DeadLettersSinceFunc: func(_ context.Context, s time.Time) (int, error) { since = s; return tc.count, nil },
			EnqueueMailsFunc: func(_ context.Context, m []engine.Mail, _ time.Time) (int, error) {
				mails = append(mails, m...)
				return tc.wantAdded, nil
			},
		}
		tasks := newTasks(t, store, &fakeOrders{}, &usecase.GaugeBoard{},
			usecase.TasksConfig{DeadLetterAlertMin: 3, DeadLetterAlertWindow: window})
		before := time.Now().UTC()
		res, err := runTask(t, tasks, usecase.TaskDeadLetterAlert, testSlot)
		after := time.Now().UTC()
		if err != nil {
			t.Fatal(err)
		}
		if res != tc.wantRes {
			t.Errorf("%d dead letters: result %s, want %s", tc.count, res, tc.wantRes)
		}
		if since.Before(before.Add(-window)) || since.After(after.Add(-window)) {
			t.Errorf("counted since %v, want %v before now", since, window)
		}
		if !tc.wantMail {
			if len(mails) != 0 {
				t.Errorf("%d dead letters (threshold 3): mailed %+v, want no mail", tc.count, mails)
			}
			continue
		}
		if len(mails) != 1 {
			t.Fatalf("%d dead letters: %d mails, want 1", tc.count, len(mails))
		}
		keys := []string{
			engine.DeadLetterAlertMail(tc.count, before.Truncate(time.Hour), adminEmail).Key,
			engine.DeadLetterAlertMail(tc.count, after.Truncate(time.Hour), adminEmail).Key,
		}
		if m := mails[0]; !slices.Contains(keys, m.Key) || m.Kind != engine.MailDeadLetterAlert || !slices.Equal(m.To, []string{adminEmail}) {
			t.Errorf("alert %+v, want kind %s to the admin keyed by the hour (%v)", m, engine.MailDeadLetterAlert, keys)
		}
	}
}

// archive_webhooks moves batches until one is short.
func TestArchiveWebhooksLoopsOverFullBatches(t *testing.T) {
	t.Parallel()
	var calls int
	store := &fakeTaskStore{ArchiveWebhookEventsFunc: func(_ context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error) {
		calls++
		if !deleteBefore.Before(archiveBefore) {
			return 0, 0, errors.New("delete horizon not older than archive horizon")
		}
		if calls == 1 {
			return max, 1, nil
		}
		return 2, 0, nil
	}}
	tasks := newTasks(t, store, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{ArchiveBatchMax: 5})
	res, err := runTask(t, tasks, usecase.TaskArchiveWebhooks, testSlot)
	if err != nil || res != `{"archived":7,"deleted":1}` || calls != 2 {
		t.Errorf("archive = %s, %v after %d calls; want 7 archived, 1 deleted in 2 calls", res, err, calls)
	}
}

// prune_history deletes past each retention, in rounds while a table still
// had a full round.
func TestPruneHistoryRetentionsAndRounds(t *testing.T) {
	t.Parallel()
	var calls int
	var got engine.PruneBefore
	store := &fakeTaskStore{PruneHistoryFunc: func(_ context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error) {
		calls++
		got = before
		if calls == 1 {
			return engine.PruneCounts{TaskRuns: 1, SentMails: max, RetriedDeadLetters: 0}, nil
		}
		return engine.PruneCounts{SentMails: 2}, nil
	}}
	tasks := newTasks(t, store, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{PruneBatchMax: 4,
		KeepTaskRuns: time.Hour, KeepSentMails: 2 * time.Hour, KeepRetriedDeadLetters: 3 * time.Hour})
	start := time.Now()
	res, err := runTask(t, tasks, usecase.TaskPruneHistory, testSlot)
	if err != nil || res != `{"task_runs":1,"sent_mails":6,"retried_dead_letters":0}` || calls != 2 {
		t.Errorf("prune = %s, %v after %d calls; want 1, 6, 0 in 2 calls", res, err, calls)
	}
	for name, c := range map[string]struct {
		at   time.Time
		keep time.Duration
	}{"task runs": {got.TaskRuns, time.Hour}, "sent mails": {got.SentMails, 2 * time.Hour}, "retried": {got.RetriedDeadLetters, 3 * time.Hour}} {
		if d := start.Sub(c.at); d > c.keep || d < c.keep-time.Minute {
			t.Errorf("%s pruned before %v: %v ago, want %v", name, c.at, d, c.keep)
		}
	}
}

// refresh_gauges stores the counts where the metrics read them.
func TestRefreshGaugesFillsTheBoard(t *testing.T) {
	t.Parallel()
	want := engine.Gauges{PendingOrders: 4, LowStockProducts: 2, DeadLetters: 1, OutboxPending: 9}
	board := &usecase.GaugeBoard{}
	if g, at := board.Load(); g != (engine.Gauges{}) || !at.IsZero() {
		t.Errorf("empty board = %+v at %v, want zero", g, at)
	}
	tasks := newTasks(t, &fakeTaskStore{GaugesFunc: func(context.Context) (engine.Gauges, error) { return want, nil }},
		&fakeOrders{}, board, usecase.TasksConfig{})
	before := time.Now()
	if _, err := runTask(t, tasks, usecase.TaskRefreshGauges, testSlot); err != nil {
		t.Fatal(err)
	}
	if g, at := board.Load(); g != want || at.Before(before) {
		t.Errorf("board = %+v at %v, want %+v taken during the run", g, at, want)
	}
}

func TestNewTasksSchedules(t *testing.T) {
	t.Parallel()
	tasks := newTasks(t, &fakeTaskStore{}, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{})
	if got, want := slices.Sorted(maps.Keys(tasks)), slices.Sorted(maps.Keys(usecase.DefaultSchedules)); !slices.Equal(got, want) {
		t.Fatalf("tasks %v, want %v", got, want)
	}
	for name, task := range tasks {
		if task.Schedule != usecase.DefaultSchedules[name] || task.Run == nil {
			t.Errorf("%s: schedule %v, want the default %v", name, task.Schedule, usecase.DefaultSchedules[name])
		}
		if task.PerNode != (name == usecase.TaskRefreshGauges) {
			t.Errorf("%s: PerNode %v; only the gauges (in each node's memory) are refreshed per node", name, task.PerNode)
		}
	}

	tasks = newTasks(t, &fakeTaskStore{}, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{
		Schedules: map[string]engine.Schedule{usecase.TaskLowStock: {Off: true}, usecase.TaskExpireOrders: {Every: time.Minute}}})
	if s := tasks[usecase.TaskLowStock].Schedule; !s.Off {
		t.Errorf("low_stock schedule %v, want off as configured", s)
	}
	if s := tasks[usecase.TaskExpireOrders].Schedule; s.Every != time.Minute {
		t.Errorf("expire_orders schedule %v, want 1m as configured", s)
	}
	if s := tasks[usecase.TaskDailyReport].Schedule; s != usecase.DefaultSchedules[usecase.TaskDailyReport] {
		t.Errorf("daily_report schedule %v, want the default", s)
	}
}

func TestTasksConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (usecase.TasksConfig{AdminEmail: adminEmail}).Validate(); err != nil {
		t.Errorf("config with only the admin e-mail (defaults) = %v", err)
	}
	for name, tc := range map[string]struct {
		cfg  usecase.TasksConfig
		want string
	}{
		"no admin e-mail": {usecase.TasksConfig{}, "admin e-mail"},
		"unknown task": {usecase.TasksConfig{AdminEmail: adminEmail,
			Schedules: map[string]engine.Schedule{"expire_order": {Every: time.Minute}}}, `"expire_order"`},
		"workers":   {usecase.TasksConfig{AdminEmail: adminEmail, ExpiryWorkers: 65}, "workers"},
		"retention": {usecase.TasksConfig{AdminEmail: adminEmail, ArchiveAfter: 48 * time.Hour, DeleteAfter: 24 * time.Hour}, "retention"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error naming %s", name, err, tc.want)
		}
	}
	if _, err := usecase.NewTasks(&fakeTaskStore{}, &fakeOrders{}, &usecase.GaugeBoard{}, usecase.TasksConfig{}); err == nil {
		t.Error("NewTasks accepted a config without the admin e-mail")
	}
	if _, err := usecase.NewTasks(&fakeTaskStore{}, &fakeOrders{}, nil, usecase.TasksConfig{AdminEmail: adminEmail}); err == nil {
		t.Error("NewTasks accepted no gauge board")
	}
}
