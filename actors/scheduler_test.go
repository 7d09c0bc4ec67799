package actors_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of the task runner and the scheduler actor over in-memory run
// records, job locks and dead letters.

var errBoom = errors.New("boom")

// fastRunnerConfig tries 3 times, 1 to 5 ms apart.
func fastRunnerConfig() actors.RunnerConfig {
	return actors.RunnerConfig{Node: "node-a", AttemptsMax: 3,
		Backoff: engine.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}, RunTimeout: 10 * time.Second}
}

func newRunner(t *testing.T, tasks []actors.Task, runs actors.TaskRuns, locks actors.JobLocks, cfg actors.RunnerConfig) *actors.TaskRunner {
	t.Helper()
	r, err := actors.NewTaskRunner(tasks, runs, locks, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// flakyTask is a task that fails (or panics) while told to, counting its
// calls.
type flakyTask struct {
	calls  atomic.Int32
	fail   atomic.Bool
	panics atomic.Bool
}

func (f *flakyTask) task(name string) actors.Task {
	return actors.Task{Name: name, Schedule: engine.Schedule{Every: time.Minute}, Run: func(_ context.Context, slot time.Time) (any, error) {
		f.calls.Add(1)
		switch {
		case f.panics.Load():
			panic("the task broke")
		case f.fail.Load():
			return nil, errBoom
		}
		return map[string]any{"slot": slot.Format(time.RFC3339), "n": 7}, nil
	}}
}

var testSlot = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// A successful run is recorded done with its JSON result; the same key
// again is skipped without running.
func TestTaskRunnerRecordsSuccessAndRunsAKeyOnce(t *testing.T) {
	t.Parallel()
	var f flakyTask
	runs := newMemRuns(nil)
	r := newRunner(t, []actors.Task{f.task("tally")}, runs, nil, fastRunnerConfig())
	key := engine.RunKey("tally", testSlot)

	run, err := r.Run(testCtx(t), "tally", key, testSlot)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != engine.TaskDone || run.Attempts != 1 || run.Node != "node-a" || run.RunKey != key || run.Task != "tally" {
		t.Errorf("run = %+v, want done, attempt 1, on node-a, under %s", run, key)
	}
	if want := `{"n":7,"slot":"2026-03-10T12:00:00Z"}`; string(run.Result) != want {
		t.Errorf("result %s, want %s", run.Result, want)
	}
	if stored, _ := runs.get(key); stored.Status != engine.TaskDone || string(stored.Result) != string(run.Result) {
		t.Errorf("recorded run %+v, want it done with the result", stored)
	}
	if fin := runs.finishes(); len(fin) != 1 || fin[0].dead != nil {
		t.Errorf("FinishRun calls %+v, want one without a dead letter", fin)
	}

	if _, err := r.Run(testCtx(t), "tally", key, testSlot); !errors.Is(err, actors.ErrRunSkipped) {
		t.Errorf("second run of the key = %v, want ErrRunSkipped", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("task ran %d times, want once", n)
	}
}

// A task failing every try is tried AttemptsMax times and recorded failed
// with a dead letter; a later run of the key (a retry) is claimed again and
// can succeed.
func TestTaskRunnerDeadLettersAfterAttemptsMaxAndRetries(t *testing.T) {
	t.Parallel()
	var f flakyTask
	f.fail.Store(true)
	dead := newMemDeadLetters()
	runs := newMemRuns(dead)
	cfg := fastRunnerConfig()
	r := newRunner(t, []actors.Task{f.task("tally")}, runs, nil, cfg)
	key := engine.RunKey("tally", testSlot)

	run, err := r.Run(testCtx(t), "tally", key, testSlot)
	if err == nil || errors.Is(err, actors.ErrRunSkipped) {
		t.Fatalf("Run of a failing task = %v, want its error", err)
	}
	if n := f.calls.Load(); n != int32(cfg.AttemptsMax) {
		t.Errorf("task tried %d times, want AttemptsMax = %d", n, cfg.AttemptsMax)
	}
	if run.Status != engine.TaskFailed || !strings.Contains(run.Error, errBoom.Error()) {
		t.Errorf("run = %+v, want failed with the task's error", run)
	}
	fin := runs.finishes()
	if len(fin) != 1 || fin[0].dead == nil {
		t.Fatalf("FinishRun calls %+v, want one with a dead letter", fin)
	}
	d := *fin[0].dead
	if d.Source != engine.DeadTask || d.Kind != "tally" || d.Ref != key || d.Attempts != cfg.AttemptsMax ||
		d.Status != engine.DeadLetterDead || d.ID.IsZero() || !strings.Contains(d.Error, errBoom.Error()) {
		t.Errorf("dead letter %+v, want source task, kind tally, ref %s, %d attempts, status dead", d, key, cfg.AttemptsMax)
	}
	var payload struct {
		Task   string    `json:"task"`
		RunKey string    `json:"run_key"`
		Slot   time.Time `json:"slot"`
	}
	if err := json.Unmarshal(d.Payload, &payload); err != nil || payload.Task != "tally" || payload.RunKey != key || !payload.Slot.Equal(testSlot) {
		t.Errorf("dead letter payload %s (%v), want the task, run key and slot", d.Payload, err)
	}
	if stored := dead.all(); len(stored) != 1 || stored[0].ID != d.ID {
		t.Errorf("dead letters stored %+v, want the one of the run", stored)
	}

	f.fail.Store(false)
	run, err = r.Run(testCtx(t), "tally", key, testSlot)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if run.Status != engine.TaskDone || run.Attempts != 2 {
		t.Errorf("retried run = %+v, want done at attempt 2", run)
	}
}

// A panicking task is a failed try, not a crash.
func TestTaskRunnerRecoversAPanic(t *testing.T) {
	t.Parallel()
	var f flakyTask
	f.panics.Store(true)
	runs := newMemRuns(nil)
	cfg := fastRunnerConfig()
	cfg.AttemptsMax = 2
	r := newRunner(t, []actors.Task{f.task("tally")}, runs, nil, cfg)

	run, err := r.Run(testCtx(t), "tally", engine.RunKey("tally", testSlot), testSlot)
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Run of a panicking task = %v, want an error naming the panic", err)
	}
	if run.Status != engine.TaskFailed || f.calls.Load() != 2 {
		t.Errorf("run %+v after %d calls, want failed after 2", run, f.calls.Load())
	}
}

// ClaimRun's matrix seen through Run: what an earlier claim of the key
// left decides whether the task runs, and at which attempt.
func TestTaskRunnerClaims(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, tc := range map[string]struct {
		prior       *engine.TaskRun
		leaseUntil  time.Time
		wantRun     bool
		wantAttempt int
	}{
		"new key":                 {wantRun: true, wantAttempt: 1},
		"failed: a retry":         {prior: &engine.TaskRun{Status: engine.TaskFailed, Attempts: 1}, wantRun: true, wantAttempt: 2},
		"running within lease":    {prior: &engine.TaskRun{Status: engine.TaskRunning, Attempts: 1}, leaseUntil: now.Add(time.Hour)},
		"running past its lease":  {prior: &engine.TaskRun{Status: engine.TaskRunning, Attempts: 2}, leaseUntil: now.Add(-time.Second), wantRun: true, wantAttempt: 3},
		"done":                    {prior: &engine.TaskRun{Status: engine.TaskDone, Attempts: 1}},
		"done after a retry loop": {prior: &engine.TaskRun{Status: engine.TaskDone, Attempts: 3}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var f flakyTask
			runs := newMemRuns(nil)
			key := engine.RunKey("tally", testSlot)
			if tc.prior != nil {
				prior := *tc.prior
				prior.RunKey, prior.Task, prior.Node = key, "tally", "node-b"
				runs.set(prior, tc.leaseUntil)
			}
			r := newRunner(t, []actors.Task{f.task("tally")}, runs, nil, fastRunnerConfig())
			run, err := r.Run(testCtx(t), "tally", key, testSlot)
			if !tc.wantRun {
				if !errors.Is(err, actors.ErrRunSkipped) || f.calls.Load() != 0 {
					t.Errorf("Run = %v after %d calls, want ErrRunSkipped without running", err, f.calls.Load())
				}
				return
			}
			if err != nil || run.Attempts != tc.wantAttempt || f.calls.Load() != 1 {
				t.Errorf("Run = %+v, %v after %d calls; want attempt %d, run once", run, err, f.calls.Load(), tc.wantAttempt)
			}
		})
	}
}

// The job lock is taken per run key and released after the run; a lock
// held elsewhere skips the run before it is claimed.
func TestTaskRunnerJobLock(t *testing.T) {
	t.Parallel()
	var f flakyTask
	key := engine.RunKey("tally", testSlot)

	locks, runs := &fakeLocks{}, newMemRuns(nil)
	r := newRunner(t, []actors.Task{f.task("tally")}, runs, locks, fastRunnerConfig())
	if _, err := r.Run(testCtx(t), "tally", key, testSlot); err != nil {
		t.Fatal(err)
	}
	locks.mu.Lock()
	if !slices.Equal(locks.locked, []string{"task:" + key}) || locks.unlocks != 1 || len(locks.held) != 0 {
		t.Errorf("locks taken %v, %d unlocks, held %v; want task:%s taken and released", locks.locked, locks.unlocks, locks.held, key)
	}
	locks.mu.Unlock()

	refused, runs := &fakeLocks{refuse: true}, newMemRuns(nil)
	r = newRunner(t, []actors.Task{f.task("tally")}, runs, refused, fastRunnerConfig())
	if _, err := r.Run(testCtx(t), "tally", key, testSlot); !errors.Is(err, actors.ErrRunSkipped) {
		t.Errorf("Run with the lock held elsewhere = %v, want ErrRunSkipped", err)
	}
	if claims := runs.claimKeys(); len(claims) != 0 {
		t.Errorf("claims %v without the lock, want none", claims)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("task ran %d times, want only the locked run", n)
	}

	// Redis down: the run goes on without the lock, guarded by its record.
	broken, runs := &fakeLocks{broken: true}, newMemRuns(nil)
	r = newRunner(t, []actors.Task{f.task("tally")}, runs, broken, fastRunnerConfig())
	if _, err := r.Run(testCtx(t), "tally", key, testSlot); err != nil {
		t.Errorf("Run with the lock store down = %v, want the run done anyway", err)
	}
	if claims := runs.claimKeys(); !slices.Equal(claims, []string{key}) || f.calls.Load() != 2 {
		t.Errorf("claims %v, %d calls; want the run claimed and run without the lock", claims, f.calls.Load())
	}
}

func TestTaskRunnerRefusesUnknownAndDuplicateTasks(t *testing.T) {
	t.Parallel()
	var f flakyTask
	r := newRunner(t, []actors.Task{f.task("tally")}, newMemRuns(nil), nil, fastRunnerConfig())
	if _, err := r.Run(testCtx(t), "nope", "nope:x", testSlot); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Run of an unknown task = %v, want ErrNotFound", err)
	}
	if _, err := actors.NewTaskRunner([]actors.Task{f.task("tally"), f.task("tally")}, newMemRuns(nil), nil,
		fastRunnerConfig(), zerolog.Nop()); err == nil {
		t.Error("NewTaskRunner accepted two tasks of one name")
	}
	if _, err := actors.NewTaskRunner([]actors.Task{{Name: "empty"}}, newMemRuns(nil), nil, fastRunnerConfig(), zerolog.Nop()); err == nil {
		t.Error("NewTaskRunner accepted a task without Run")
	}
	if _, err := actors.NewTaskRunner(nil, nil, nil, fastRunnerConfig(), zerolog.Nop()); err == nil {
		t.Error("NewTaskRunner accepted no run store")
	}
	names := []string{}
	for _, task := range newRunner(t, []actors.Task{f.task("b"), f.task("a")}, newMemRuns(nil), nil, fastRunnerConfig()).Tasks() {
		names = append(names, task.Name)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("Tasks() = %v, want sorted by name", names)
	}
}

// slotLog records the slots a scheduled task ran for and how many of its
// runs overlapped. Fields guarded by mu.
type slotLog struct {
	mu          sync.Mutex
	slots       []time.Time
	inflight    int
	inflightMax int
	hold        chan struct{} // nil = runs return at once; else the first run waits for it
}

func (l *slotLog) run(ctx context.Context, slot time.Time) (any, error) {
	l.mu.Lock()
	l.slots = append(l.slots, slot)
	l.inflight++
	l.inflightMax = max(l.inflightMax, l.inflight)
	hold := l.hold
	first := len(l.slots) == 1
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.inflight--
		l.mu.Unlock()
	}()
	if hold != nil && first {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil, nil
}

func (l *slotLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots)
}

func (l *slotLog) snapshot() ([]time.Time, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.slots), l.inflightMax
}

// startScheduler starts a scheduler that ticks every 5 ms over runner; the
// test stops it (Stop is called once).
func startScheduler(t *testing.T, runner *actors.TaskRunner) *actors.Scheduler {
	t.Helper()
	s, err := actors.StartScheduler(newSystem(t), runner, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scheduleEvery is the interval of the scheduler tests: shorter than
// ParseSchedule allows, which engine.RunKey supports (fractional seconds).
const scheduleEvery = 100 * time.Millisecond

// A task runs once per slot, each run under its slot's run key; a task
// switched off never runs.
func TestSchedulerRunsOncePerSlot(t *testing.T) {
	t.Parallel()
	const every = scheduleEvery
	var active, off slotLog
	runs := newMemRuns(nil)
	cfg := fastRunnerConfig()
	cfg.AttemptsMax = 1
	runner := newRunner(t, []actors.Task{
		{Name: "often", Schedule: engine.Schedule{Every: every}, Run: active.run},
		{Name: "never", Schedule: engine.Schedule{Off: true}, Run: off.run},
	}, runs, nil, cfg)
	s := startScheduler(t, runner)
	waitFor(t, "3 scheduled runs", func() bool { return active.count() >= 3 })
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	slots, overlap := active.snapshot()
	for i, slot := range slots {
		if !slot.Equal(slot.Truncate(every)) {
			t.Errorf("slot %v is not on the %v grid", slot, every)
		}
		if i > 0 && !slot.After(slots[i-1]) {
			t.Errorf("slot %v ran after slot %v: a slot ran twice or out of order", slot, slots[i-1])
		}
	}
	if overlap != 1 {
		t.Errorf("%d runs at once, want 1", overlap)
	}
	var wantKeys []string
	for _, slot := range slots {
		wantKeys = append(wantKeys, engine.RunKey("often", slot))
	}
	if claims := runs.claimKeys(); !slices.Equal(claims, wantKeys) {
		t.Errorf("claimed run keys %v, want one per slot run %v", claims, wantKeys)
	}
	if n := off.count(); n != 0 {
		t.Errorf("the task switched off ran %d times", n)
	}
}

// A per-node task runs under a run key naming the node, so that every node
// runs each slot (another node's run of the slot does not skip it).
func TestSchedulerPerNodeRunKey(t *testing.T) {
	t.Parallel()
	var log slotLog
	runs := newMemRuns(nil)
	runner := newRunner(t, []actors.Task{{Name: "local", Schedule: engine.Schedule{Every: time.Hour}, Run: log.run, PerNode: true}},
		runs, nil, fastRunnerConfig())
	s := startScheduler(t, runner)
	waitFor(t, "the first run", func() bool { return log.count() >= 1 })
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	slots, _ := log.snapshot()
	if claims := runs.claimKeys(); len(slots) != 1 || !slices.Equal(claims, []string{engine.RunKey("local", slots[0]) + "@node-a"}) {
		t.Errorf("claimed %v for slots %v, want the slot's key with @node-a", claims, slots)
	}
}

// A run slower than its interval makes the scheduler skip the slots that
// passed meanwhile, never run the task twice at once.
func TestSchedulerSkipsSlotsOfASlowRun(t *testing.T) {
	t.Parallel()
	const every = scheduleEvery
	log := slotLog{hold: make(chan struct{})}
	runs := newMemRuns(nil)
	cfg := fastRunnerConfig()
	cfg.AttemptsMax = 1
	runner := newRunner(t, []actors.Task{{Name: "slow", Schedule: engine.Schedule{Every: every}, Run: log.run}}, runs, nil, cfg)
	s := startScheduler(t, runner)
	waitFor(t, "the first run", func() bool { return log.count() == 1 })
	first, _ := log.snapshot()
	waitFor(t, "two more slots to begin", func() bool { return time.Now().After(first[0].Add(2 * every)) })
	if n := len(runs.claimKeys()); n != 1 {
		t.Errorf("%d runs claimed while the first was running, want 1", n)
	}
	close(log.hold)
	waitFor(t, "a second run", func() bool { return log.count() >= 2 })
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	slots, overlap := log.snapshot()
	if overlap != 1 {
		t.Errorf("%d runs at once, want 1", overlap)
	}
	if slots[1].Before(first[0].Add(2 * every)) {
		t.Errorf("second run for slot %v, want a slot after the slow run ended (the ones in between skipped)",
			slots[1].Sub(first[0]))
	}
}

// Stop cancels a running task's context, waits for its run to be recorded,
// and returns.
func TestSchedulerStopCancelsARunningTask(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	var sawCtxErr atomic.Value
	var calls atomic.Int32
	runs := newMemRuns(newMemDeadLetters())
	runner := newRunner(t, []actors.Task{{Name: "long", Schedule: engine.Schedule{Every: time.Hour},
		Run: func(ctx context.Context, _ time.Time) (any, error) {
			if calls.Add(1) == 1 {
				close(entered)
			}
			<-ctx.Done()
			sawCtxErr.Store(ctx.Err())
			return nil, ctx.Err()
		}}}, runs, nil, fastRunnerConfig())
	s := startScheduler(t, runner)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not start")
	}
	if err := s.Stop(testCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err, _ := sawCtxErr.Load().(error); !errors.Is(err, context.Canceled) {
		t.Errorf("task context ended with %v, want cancelled by Stop", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("task tried %d times, want no retry after Stop", n)
	}
	if fin := runs.finishes(); len(fin) != 1 || fin[0].run.Status != engine.TaskFailed || fin[0].dead != nil {
		t.Errorf("recorded runs %+v, want the cancelled run recorded failed without a dead letter", fin)
	}
}
