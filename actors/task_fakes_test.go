package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// In-memory fakes of the scheduler's and the tasks' ports (see async_fakes_test.go).

// ---- TaskRuns ----

// runRow is one run key of memRuns.
type runRow struct {
	run        engine.TaskRun
	leaseUntil time.Time
}

// finishCall is one FinishRun call.
type finishCall struct {
	run  engine.TaskRun
	dead *engine.DeadLetter
}

// memRuns is an in-memory TaskRuns with ClaimRun's matrix: a new key is
// claimed (attempt 1); a failed run is claimed again (attempts+1); a
// running one is claimed again only past its lease; a done one never.
// FinishRun adds the dead letter to dead (if set), like persist's single
// transaction. Fields guarded by mu.
type memRuns struct {
	dead *memDeadLetters

	mu       sync.Mutex
	rows     map[string]*runRow
	claims   []string // ClaimRun calls, by key
	finished []finishCall
}

func newMemRuns(dead *memDeadLetters) *memRuns {
	return &memRuns{dead: dead, rows: map[string]*runRow{}}
}

func (r *memRuns) ClaimRun(ctx context.Context, task, key, node string, now time.Time, lease time.Duration) (int, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claims = append(r.claims, key)
	row, ok := r.rows[key]
	switch {
	case !ok:
		row = &runRow{run: engine.TaskRun{RunKey: key, Task: task}}
		r.rows[key] = row
	case row.run.Status == engine.TaskDone:
		return row.run.Attempts, false, nil
	case row.run.Status == engine.TaskRunning && now.Before(row.leaseUntil):
		return row.run.Attempts, false, nil
	}
	row.run.Status, row.run.Node, row.run.StartedAt = engine.TaskRunning, node, now
	row.run.Attempts++
	row.leaseUntil = now.Add(lease)
	return row.run.Attempts, true, nil
}

func (r *memRuns) FinishRun(ctx context.Context, run engine.TaskRun, dead *engine.DeadLetter) error {
	r.mu.Lock()
	row, ok := r.rows[run.RunKey]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("run %s: %w", run.RunKey, engine.ErrNotFound)
	}
	row.run, row.leaseUntil = run, time.Time{}
	var d *engine.DeadLetter
	if dead != nil {
		copied := *dead
		d = &copied
	}
	r.finished = append(r.finished, finishCall{run: run, dead: d})
	r.mu.Unlock()
	if dead != nil && r.dead != nil {
		return r.dead.AddDeadLetter(ctx, *dead)
	}
	return nil
}

// set stores a run as if claimed earlier.
func (r *memRuns) set(run engine.TaskRun, leaseUntil time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows[run.RunKey] = &runRow{run: run, leaseUntil: leaseUntil}
}

// get returns key's run.
func (r *memRuns) get(key string) (engine.TaskRun, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	row, ok := r.rows[key]
	if !ok {
		return engine.TaskRun{}, false
	}
	return row.run, true
}

// claimKeys returns the keys ClaimRun was called with, in order.
func (r *memRuns) claimKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.claims)
}

// finishes returns the FinishRun calls, in order.
func (r *memRuns) finishes() []finishCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.finished)
}

// ---- TaskStore, JobLocks, OrderTransitioner ----

var errNotScripted = errors.New("fake: call not scripted")

// fakeTaskStore is a TaskStore whose methods call the XxxFunc fields; an
// unset one returns errNotScripted.
type fakeTaskStore struct {
	ExpiredOrdersFunc        func(ctx context.Context, now time.Time, max int) ([]engine.ID, error)
	RecordLowStockFunc       func(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error)
	SalesReportFunc          func(ctx context.Context, day time.Time) (engine.SalesReport, error)
	SaveSalesReportFunc      func(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error
	ArchiveWebhookEventsFunc func(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error)
	DeadLettersSinceFunc     func(ctx context.Context, since time.Time) (int, error)
	EnqueueMailsFunc         func(ctx context.Context, mails []engine.Mail, now time.Time) (int, error)
	GaugesFunc               func(ctx context.Context) (engine.Gauges, error)
	PruneHistoryFunc         func(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error)
}

func (s *fakeTaskStore) PruneHistory(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error) {
	if s.PruneHistoryFunc == nil {
		return engine.PruneCounts{}, errNotScripted
	}
	return s.PruneHistoryFunc(ctx, before, max)
}

func (s *fakeTaskStore) ExpiredOrders(ctx context.Context, now time.Time, max int) ([]engine.ID, error) {
	if s.ExpiredOrdersFunc == nil {
		return nil, errNotScripted
	}
	return s.ExpiredOrdersFunc(ctx, now, max)
}

func (s *fakeTaskStore) RecordLowStock(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error) {
	if s.RecordLowStockFunc == nil {
		return nil, 0, errNotScripted
	}
	return s.RecordLowStockFunc(ctx, now, adminEmail, max)
}

func (s *fakeTaskStore) SalesReport(ctx context.Context, day time.Time) (engine.SalesReport, error) {
	if s.SalesReportFunc == nil {
		return engine.SalesReport{}, errNotScripted
	}
	return s.SalesReportFunc(ctx, day)
}

func (s *fakeTaskStore) SaveSalesReport(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error {
	if s.SaveSalesReportFunc == nil {
		return errNotScripted
	}
	return s.SaveSalesReportFunc(ctx, r, m, now)
}

func (s *fakeTaskStore) ArchiveWebhookEvents(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error) {
	if s.ArchiveWebhookEventsFunc == nil {
		return 0, 0, errNotScripted
	}
	return s.ArchiveWebhookEventsFunc(ctx, archiveBefore, deleteBefore, max)
}

func (s *fakeTaskStore) DeadLettersSince(ctx context.Context, since time.Time) (int, error) {
	if s.DeadLettersSinceFunc == nil {
		return 0, errNotScripted
	}
	return s.DeadLettersSinceFunc(ctx, since)
}

func (s *fakeTaskStore) EnqueueMails(ctx context.Context, mails []engine.Mail, now time.Time) (int, error) {
	if s.EnqueueMailsFunc == nil {
		return 0, errNotScripted
	}
	return s.EnqueueMailsFunc(ctx, mails, now)
}

func (s *fakeTaskStore) Gauges(ctx context.Context) (engine.Gauges, error) {
	if s.GaugesFunc == nil {
		return engine.Gauges{}, errNotScripted
	}
	return s.GaugesFunc(ctx)
}

// fakeLocks is an in-memory JobLocks: a name is held until unlocked; with
// refuse set every TryLock says another node holds it. Fields guarded by mu.
type fakeLocks struct {
	mu      sync.Mutex
	refuse  bool
	broken  bool // Redis down: every TryLock fails
	held    map[string]bool
	locked  []string // names taken, in order
	unlocks int
}

func (l *fakeLocks) TryLock(ctx context.Context, name string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if ttl <= 0 {
		return nil, false, engine.Invalid("ttl", "must be positive")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return nil, false, fmt.Errorf("%w: redis down", engine.ErrUnavailable)
	}
	if l.refuse || l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	l.locked = append(l.locked, name)
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, name)
		l.unlocks++
		return nil
	}, true, nil
}

// fakeOrders is an OrderTransitioner calling TransitionOrderFunc (nil =
// success) and recording every command. Fields guarded by mu.
type fakeOrders struct {
	TransitionOrderFunc func(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)

	mu   sync.Mutex
	cmds []engine.TransitionOrder
}

func (o *fakeOrders) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	o.mu.Lock()
	o.cmds = append(o.cmds, cmd)
	o.mu.Unlock()
	if o.TransitionOrderFunc == nil {
		return engine.Order{ID: cmd.OrderID, Status: cmd.To}, nil
	}
	return o.TransitionOrderFunc(ctx, cmd)
}

func (o *fakeOrders) commands() []engine.TransitionOrder {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.cmds)
}
