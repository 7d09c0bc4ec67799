package actors_test

import (
	"context"
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

// ---- JobLocks ----

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
