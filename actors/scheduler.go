package actors

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Task is one periodic job of the scheduler.
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

// JobLocks keeps nodes from starting the same run at once: a Redis lock
// when Redis is configured. The run record (TaskRuns) is what makes a run
// happen once; the lock only spares the second node the attempt.
type JobLocks interface {
	// TryLock takes the lock called name for ttl without waiting; ok is
	// false when another holder has it. unlock releases it.
	TryLock(ctx context.Context, name string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error)
}

// RunnerConfig tunes task runs. Zero fields take the defaults below.
type RunnerConfig struct {
	Node        string         // this node's name, recorded with each run
	AttemptsMax int            // tries of one run before it is dead-lettered
	Backoff     engine.Backoff // wait between tries
	RunTimeout  time.Duration  // bound on one try
	Observer    Observer       // receives run results and job-lock attempts; nil = NopObserver
}

// Task run defaults.
const (
	TaskAttemptsMaxDefault = 3
	TaskBackoffBaseDefault = time.Second
	TaskBackoffMaxDefault  = 30 * time.Second
	TaskRunTimeoutDefault  = 5 * time.Minute
	taskErrorBytesMax      = 2000
)

func (c RunnerConfig) withDefaults() RunnerConfig {
	orDefault(&c.Node, "flashstock")
	orDefault(&c.AttemptsMax, TaskAttemptsMaxDefault)
	orDefault(&c.Backoff.Base, TaskBackoffBaseDefault)
	orDefault(&c.Backoff.Max, TaskBackoffMaxDefault)
	orDefault(&c.RunTimeout, TaskRunTimeoutDefault)
	orDefault(&c.Observer, Observer(NopObserver{}))
	return c
}

// lease bounds a whole run, every try and wait included: past it, another
// node may take the run over.
func (c RunnerConfig) lease() time.Duration {
	return time.Duration(c.AttemptsMax)*(c.RunTimeout+c.Backoff.Max) + time.Minute
}

// TaskRunner runs tasks once per run key: it takes the job lock, claims the
// run, tries it up to AttemptsMax times, and records the result — or, after
// the last failure, a dead letter whose retry runs the same key again. The
// scheduler calls it on schedule; `flashstock jobs run` and dead-letter
// retries call it directly. Safe for concurrent use.
type TaskRunner struct {
	tasks map[string]Task
	runs  TaskRuns
	locks JobLocks // nil = no job lock
	cfg   RunnerConfig
	log   zerolog.Logger
}

// NewTaskRunner builds a runner of tasks; locks may be nil.
func NewTaskRunner(tasks []Task, runs TaskRuns, locks JobLocks, cfg RunnerConfig, log zerolog.Logger) (*TaskRunner, error) {
	cfg = cfg.withDefaults()
	if runs == nil {
		return nil, errors.New("actors: NewTaskRunner needs a run store")
	}
	if cfg.AttemptsMax < 1 || cfg.AttemptsMax > 100 || cfg.RunTimeout <= 0 || cfg.Backoff.Base <= 0 || cfg.Backoff.Max < cfg.Backoff.Base {
		return nil, errors.New("actors: task runner config: need 1..100 attempts, a positive run timeout and back-off")
	}
	r := &TaskRunner{tasks: map[string]Task{}, runs: runs, locks: locks, cfg: cfg, log: log.With().Str("component", "scheduler").Logger()}
	for _, t := range tasks {
		if t.Name == "" || t.Run == nil {
			return nil, errors.New("actors: a task needs a name and a Run function")
		}
		if _, dup := r.tasks[t.Name]; dup {
			return nil, fmt.Errorf("actors: task %q defined twice", t.Name)
		}
		r.tasks[t.Name] = t
	}
	return r, nil
}

// Tasks returns the tasks, by name.
func (r *TaskRunner) Tasks() []Task {
	out := make([]Task, 0, len(r.tasks))
	for _, t := range r.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// runKey is the key of t's run for slot: per node for PerNode tasks.
func (r *TaskRunner) runKey(t Task, slot time.Time) string {
	key := engine.RunKey(t.Name, slot)
	if t.PerNode {
		key += "@" + r.cfg.Node
	}
	return key
}

// ErrRunSkipped is returned by Run when the key was not claimed: the run is
// done already, or another node is running it.
var ErrRunSkipped = errors.New("run skipped: done already or running elsewhere")

// taskPayload is a task dead letter's payload: what a retry needs.
type taskPayload struct {
	Task   string    `json:"task"`
	RunKey string    `json:"run_key"`
	Slot   time.Time `json:"slot"`
}

// Run runs task name for slot under run key key, unless that key is done
// or running elsewhere (ErrRunSkipped). It returns the run as recorded; a
// run that failed every try returns its last error, after recording it
// with a dead letter.
func (r *TaskRunner) Run(ctx context.Context, name, key string, slot time.Time) (engine.TaskRun, error) {
	t, ok := r.tasks[name]
	if !ok {
		return engine.TaskRun{}, fmt.Errorf("%w: no task called %q", engine.ErrNotFound, name)
	}
	obs := r.cfg.Observer
	if r.locks != nil {
		unlock, ok, err := r.locks.TryLock(ctx, "task:"+key, r.cfg.lease())
		switch {
		case err != nil:
			// The lock only spares other nodes the attempt; the run record
			// is what makes the run happen once. A Redis outage must not
			// stop expiry and the rest: go on without the lock.
			obs.LockAttempt(LockJob, LockResultError)
			r.log.Warn().Err(err).Str("run_key", key).Msg("job lock unavailable; claiming the run without it")
			return r.claimAndRun(ctx, t, key, slot)
		case !ok:
			obs.LockAttempt(LockJob, LockResultTaken)
			obs.TaskRun(name, TaskResultSkipped, 0)
			return engine.TaskRun{}, fmt.Errorf("task %s: %w", key, ErrRunSkipped)
		}
		obs.LockAttempt(LockJob, LockResultOK)
		defer func() {
			if err := unlock(context.WithoutCancel(ctx)); err != nil {
				r.log.Warn().Err(err).Str("run_key", key).Msg("releasing the job lock failed; it expires by itself")
			}
		}()
	}
	return r.claimAndRun(ctx, t, key, slot)
}

// claimAndRun claims run key, runs t and records the outcome.
func (r *TaskRunner) claimAndRun(ctx context.Context, t Task, key string, slot time.Time) (engine.TaskRun, error) {
	started := time.Now()
	attempt, ok, err := r.runs.ClaimRun(ctx, t.Name, key, r.cfg.Node, started, r.cfg.lease())
	if err != nil {
		return engine.TaskRun{}, fmt.Errorf("task %s: claim: %w", key, err)
	}
	if !ok {
		r.cfg.Observer.TaskRun(t.Name, TaskResultSkipped, 0)
		return engine.TaskRun{}, fmt.Errorf("task %s: %w", key, ErrRunSkipped)
	}
	run := engine.TaskRun{RunKey: key, Task: t.Name, Attempts: attempt, Node: r.cfg.Node, StartedAt: started}
	result, tries, err := r.try(ctx, t, key, slot)
	run.FinishedAt = time.Now()
	var dead *engine.DeadLetter
	if err != nil {
		run.Status, run.Error = engine.TaskFailed, truncate(err.Error(), taskErrorBytesMax)
		if ctx.Err() == nil {
			dead = r.deadLetter(run, slot, tries)
		} // else the caller stopped it (shutdown): no dead letter, the key is claimed again
	} else {
		run.Status = engine.TaskDone
		if run.Result, err = json.Marshal(result); err != nil {
			run.Result = []byte(`null`)
		}
	}
	if ferr := r.runs.FinishRun(context.WithoutCancel(ctx), run, dead); ferr != nil {
		return run, errors.Join(err, fmt.Errorf("task %s: recording the run: %w", key, ferr))
	}
	r.finished(run, dead, tries)
	if run.Status == engine.TaskFailed {
		return run, fmt.Errorf("task %s failed after %d tries: %s", key, tries, run.Error)
	}
	return run, nil
}

// finished logs and observes a recorded run.
func (r *TaskRunner) finished(run engine.TaskRun, dead *engine.DeadLetter, tries int) {
	took := run.FinishedAt.Sub(run.StartedAt)
	ev, result := r.log.Debug(), TaskResultDone // routine: every few seconds on every node
	switch {
	case dead != nil:
		ev, result = r.log.Error().Str("error", run.Error).Str("dead_letter_id", dead.ID.String()), TaskResultDead
		r.cfg.Observer.DeadLetter(engine.DeadTask)
	case run.Status == engine.TaskFailed:
		ev, result = r.log.Warn().Str("error", run.Error), TaskResultFailed
	}
	r.cfg.Observer.TaskRun(run.Task, result, took)
	ev.Str("task", run.Task).Str("run_key", run.RunKey).Int("tries", tries).RawJSON("result", orNull(run.Result)).
		Dur("duration", took).Msg("task run finished")
}

// try runs t up to AttemptsMax times, waiting the back-off in between, and
// returns the first success or the last error, with the tries made.
func (r *TaskRunner) try(ctx context.Context, t Task, key string, slot time.Time) (any, int, error) {
	var err error
	for n := 1; ; n++ {
		var result any
		result, err = r.tryOnce(ctx, t, slot)
		if err == nil {
			return result, n, nil
		}
		if n >= r.cfg.AttemptsMax || ctx.Err() != nil {
			return nil, n, err
		}
		wait := r.cfg.Backoff.Delay(n, rand.Float64())
		r.log.Warn().Err(err).Str("run_key", key).Int("try", n).Dur("retry_in", wait).Msg("task try failed")
		select {
		case <-ctx.Done():
			return nil, n, errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// tryOnce runs t once within RunTimeout, turning a panic into an error.
func (r *TaskRunner) tryOnce(ctx context.Context, t Task, slot time.Time) (result any, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RunTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task %s panicked: %v", t.Name, p)
		}
	}()
	return t.Run(ctx, slot)
}

func (r *TaskRunner) deadLetter(run engine.TaskRun, slot time.Time, tries int) *engine.DeadLetter {
	id, err := engine.NewID(run.FinishedAt, cryptorand.Reader)
	if err != nil { // crypto/rand does not fail on Linux
		id = engine.FirstIDAt(run.FinishedAt)
	}
	payload, _ := json.Marshal(taskPayload{Task: run.Task, RunKey: run.RunKey, Slot: slot.UTC()})
	return &engine.DeadLetter{ID: id, Source: engine.DeadTask, Kind: run.Task, Ref: run.RunKey, Payload: payload,
		Error: run.Error, Attempts: tries, Status: engine.DeadLetterDead, CreatedAt: run.FinishedAt}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte(`null`)
	}
	return b
}

// Scheduler runs the tasks on their schedules, on every node: the run key
// of each slot (engine.RunKey) makes a slot run once across nodes and
// restarts. At start every task runs for its current slot unless that
// slot's run is done already, so a report missed while the node was down
// is made when it comes back.
//
// Protocol of the scheduler actor (one per process):
//
//	schedTick  every TickInterval: start each task whose current slot has
//	           not been started by this node and that is not running.
//	runDone    from a run goroutine: the task may run again.
//	schedStop  from Stop: cancel the running runs, start no other.
type Scheduler struct {
	system *actor.Engine
	pid    *actor.PID
	repeat actor.SendRepeater
	done   sync.WaitGroup
}

// schedulerTickDefault is how often the scheduler looks at its schedules.
const schedulerTickDefault = time.Second

type schedTick struct{}

// schedStop cancels the running runs and starts no other; ack is closed
// once done.
type schedStop struct{ ack chan<- struct{} }

type runDone struct{ task string }

// StartScheduler spawns the scheduler actor over runner; tick is how often
// it checks the schedules (0 = every second). Stop ends it.
func StartScheduler(system *actor.Engine, runner *TaskRunner, tick time.Duration) (*Scheduler, error) {
	if system == nil || runner == nil {
		return nil, errors.New("actors: StartScheduler needs a system and a runner")
	}
	if tick <= 0 {
		tick = schedulerTickDefault
	}
	s := &Scheduler{system: system}
	a := &schedulerActor{s: s, runner: runner, started: map[string]time.Time{}, running: map[string]bool{}}
	s.pid = system.Spawn(func() actor.Receiver { return a }, "scheduler", actor.WithID("scheduler"))
	s.repeat = system.SendRepeat(s.pid, schedTick{}, tick)
	system.Send(s.pid, schedTick{})
	return s, nil
}

// Stop stops scheduling, cancels the running task runs and waits for them,
// then stops the actor, all until ctx ends. A cancelled run is recorded
// failed (without a dead letter) and claimed again at the next start or by
// another node. Call it once.
func (s *Scheduler) Stop(ctx context.Context) error {
	stop := func(ack chan<- struct{}) any { return schedStop{ack: ack} }
	if err := stopWorker(ctx, s.system, s.pid, s.repeat, stop, &s.done); err != nil {
		return fmt.Errorf("actors: stopping the scheduler: %w", err)
	}
	return nil
}

// schedulerActor is the scheduler's state, owned by its actor.
type schedulerActor struct {
	s       *Scheduler
	runner  *TaskRunner
	started map[string]time.Time // task → the last slot this node started
	running map[string]bool      // task → a run goroutine is live
	ctx     context.Context      // ends at schedStop
	cancel  context.CancelFunc
	stopped bool
}

// Receive handles one message; see the protocol on Scheduler.
func (a *schedulerActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		a.ctx, a.cancel = context.WithCancel(context.Background())
	case schedTick:
		if !a.stopped {
			a.tick(c, time.Now())
		}
	case runDone:
		delete(a.running, m.task)
	case schedStop:
		a.stop()
		close(m.ack)
	case actor.Stopped:
		a.stop()
	}
}

// stop cancels the running runs and starts no other.
func (a *schedulerActor) stop() {
	a.stopped = true
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *schedulerActor) tick(c *actor.Context, now time.Time) {
	for _, t := range a.runner.Tasks() {
		if t.Schedule.Off || a.running[t.Name] {
			continue
		}
		slot := t.Schedule.Slot(now)
		if last, ok := a.started[t.Name]; ok && !slot.After(last) {
			continue
		}
		a.started[t.Name] = slot
		a.running[t.Name] = true
		self, system, ctx := c.PID(), c.Engine(), a.ctx
		a.s.done.Add(1)
		go func() {
			defer a.s.done.Done()
			_, err := a.runner.Run(ctx, t.Name, a.runner.runKey(t, slot), slot)
			if err != nil && !errors.Is(err, ErrRunSkipped) && ctx.Err() == nil {
				a.runner.log.Debug().Err(err).Str("task", t.Name).Msg("scheduled run did not succeed")
			}
			system.Send(self, runDone{task: t.Name})
		}()
	}
}
