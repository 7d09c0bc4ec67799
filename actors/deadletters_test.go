package actors_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of the dead-letter recorder actor and the dead-letter service.

// pingMsg is a message no actor is left to receive.
type pingMsg struct{ N int }

// Messages to an unknown actor and to a stopped one are stored as dead
// letters of source actor, naming the target and the message type.
func TestDeadLetterRecorderStoresUndeliveredMessages(t *testing.T) {
	t.Parallel()
	system := newSystem(t)
	store := newMemDeadLetters()
	rec, err := actors.StartDeadLetterRecorder(system, store, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	gone := system.SpawnFunc(func(*actor.Context) {}, "gone")
	<-system.Poison(gone).Done()
	unknown := actor.NewPID(system.Address(), "nobody/1")

	system.Send(unknown, pingMsg{N: 1})
	system.Send(gone, pingMsg{N: 2})
	find := func(ref string) (engine.DeadLetter, bool) {
		for _, d := range store.all() {
			if d.Ref == ref {
				return d, true
			}
		}
		return engine.DeadLetter{}, false
	}
	waitFor(t, "both messages recorded", func() bool {
		_, a := find(unknown.String())
		_, b := find(gone.String())
		return a && b
	})
	if err := rec.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	for n, target := range []*actor.PID{unknown, gone} {
		d, _ := find(target.String())
		if d.Source != engine.DeadActor || d.Kind != "actors_test.pingMsg" || d.Status != engine.DeadLetterDead || d.ID.IsZero() || d.Retryable() {
			t.Errorf("dead letter %+v, want source actor, kind actors_test.pingMsg, status dead, not retryable", d)
		}
		var payload map[string]string
		if err := json.Unmarshal(d.Payload, &payload); err != nil || payload["target"] != target.String() ||
			payload["type"] != "actors_test.pingMsg" || payload["message"] != fmt.Sprintf("{N:%d}", n+1) {
			t.Errorf("payload %s (%v), want the target, type and message", d.Payload, err)
		}
	}
}

// taskDeadLetter makes runner fail task name's run for testSlot and
// returns the dead letter it recorded.
func taskDeadLetter(t *testing.T, runner *actors.TaskRunner, dead *memDeadLetters, name string) engine.DeadLetter {
	t.Helper()
	key := engine.RunKey(name, testSlot)
	if _, err := runner.Run(testCtx(t), name, key, testSlot); err == nil {
		t.Fatal("the task did not fail")
	}
	for _, d := range dead.all() {
		if d.Ref == key && d.Status == engine.DeadLetterDead {
			return d
		}
	}
	t.Fatalf("no dead letter for %s", key)
	return engine.DeadLetter{}
}

func newDeadLetters(t *testing.T, store actors.DeadLetterStore, runner *actors.TaskRunner) *actors.DeadLetters {
	t.Helper()
	d, err := actors.NewDeadLetters(store, runner, false, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// addDead stores a dead letter of source in status dead, newer than the
// ones before (ids sort by their millisecond only: each is a second later).
func addDead(t *testing.T, store *memDeadLetters, source engine.DeadLetterSource, payload string) engine.DeadLetter {
	t.Helper()
	at := time.Now().Add(time.Duration(len(store.all())) * time.Second)
	id, err := engine.NewID(at, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := engine.DeadLetter{ID: id, Source: source, Kind: "k", Ref: "r", Payload: []byte(payload),
		Status: engine.DeadLetterDead, Attempts: 1, CreatedAt: at}
	if err := store.AddDeadLetter(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// A mail dead letter is retried in the store, on behalf of the caller.
func TestRetryMailDeadLetter(t *testing.T) {
	t.Parallel()
	store := newMemDeadLetters()
	mail := addDead(t, store, engine.DeadMail, `{}`)
	svc := newDeadLetters(t, store, nil)
	got, err := svc.RetryDeadLetter(testCtx(t), mail.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != engine.DeadLetterRetried || got.RetriedBy != "alice" {
		t.Errorf("retried = %+v, want retried by alice", got)
	}
	if calls := store.retried(); !slices.Equal(calls, []retryCall{{id: mail.ID, by: "alice"}}) {
		t.Errorf("store retries %+v, want one by alice", calls)
	}
	if _, err := svc.RetryDeadLetter(testCtx(t), mail.ID, "bob"); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("second retry = %v, want ErrConflict", err)
	}
	if _, err := svc.RetryDeadLetter(testCtx(t), newID(t), "bob"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("retry of an unknown id = %v, want ErrNotFound", err)
	}
}

// A task dead letter is retried by running its task under its run key,
// before RetryDeadLetter returns; a failure is returned (and makes a new
// dead letter).
func TestRetryTaskDeadLetterRunsTheTask(t *testing.T) {
	t.Parallel()
	var f flakyTask
	f.fail.Store(true)
	dead := newMemDeadLetters()
	runs := newMemRuns(dead)
	runner := newRunner(t, []actors.Task{f.task("tally")}, runs, nil, fastRunnerConfig())
	svc := newDeadLetters(t, dead, runner)
	key := engine.RunKey("tally", testSlot)

	first := taskDeadLetter(t, runner, dead, "tally")
	calls := f.calls.Load()
	if _, err := svc.RetryDeadLetter(testCtx(t), first.ID, "cli"); err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("retry of a still-failing task = %v, want an error naming the run key", err)
	}
	if f.calls.Load() <= calls {
		t.Error("the retry did not run the task")
	}
	var again engine.DeadLetter
	for _, d := range dead.all() {
		if d.ID != first.ID && d.Status == engine.DeadLetterDead {
			again = d
		}
	}
	if again.Ref != key {
		t.Fatalf("dead letters %+v, want a new one for %s after the failed retry", dead.all(), key)
	}

	f.fail.Store(false)
	got, err := svc.RetryDeadLetter(testCtx(t), again.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != engine.DeadLetterRetried || got.RetriedBy != "cli" {
		t.Errorf("retried = %+v, want retried by cli", got)
	}
	if run, _ := runs.get(key); run.Status != engine.TaskDone || run.Attempts != 3 {
		t.Errorf("run after the retry = %+v, want done at its third claim", run)
	}
}

// Without a runner a task dead letter cannot be retried here, and is left
// as it is.
func TestRetryTaskDeadLetterNeedsARunner(t *testing.T) {
	t.Parallel()
	store := newMemDeadLetters()
	task := addDead(t, store, engine.DeadTask, `{"task":"tally","run_key":"tally:x","slot":"2026-03-10T12:00:00Z"}`)
	svc := newDeadLetters(t, store, nil)
	if _, err := svc.RetryDeadLetter(testCtx(t), task.ID, "cli"); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("task retry without a runner = %v, want ErrUnavailable", err)
	}
	if calls := store.retried(); len(calls) != 0 {
		t.Errorf("store retries %+v, want none", calls)
	}
}

// RetryDeadLetters retries up to max retryable dead letters in status
// dead, says whether more wait, and reports each failure by id.
func TestRetryDeadLetters(t *testing.T) {
	t.Parallel()
	store := newMemDeadLetters()
	var mails []engine.ID
	for range 3 {
		mails = append(mails, addDead(t, store, engine.DeadMail, `{}`).ID)
	}
	addDead(t, store, engine.DeadActor, `{}`)
	retriedBefore := addDead(t, store, engine.DeadMail, `{}`)
	if _, err := store.RetryDeadLetter(context.Background(), retriedBefore.ID, "earlier", time.Now()); err != nil {
		t.Fatal(err)
	}
	broken := addDead(t, store, engine.DeadTask, `{"task":""}`)
	svc := newDeadLetters(t, store, newRunner(t, nil, newMemRuns(nil), nil, fastRunnerConfig()))

	s, err := svc.RetryDeadLetters(testCtx(t), "bob", 2)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the broken task letter, then the newest mail.
	if !s.More || !slices.Equal(s.Retried, []engine.ID{mails[2]}) || len(s.Failed) != 1 || s.Failed[0].ID != broken.ID || s.Failed[0].Error == "" {
		t.Errorf("first call = %+v, want mail %s retried, task %s failed, more waiting", s, mails[2], broken.ID)
	}
	s, err = svc.RetryDeadLetters(testCtx(t), "bob", 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.More || !slices.Equal(s.Retried, []engine.ID{mails[1], mails[0]}) || len(s.Failed) != 1 {
		t.Errorf("second call = %+v, want the two older mails retried, the broken task failed again, none more", s)
	}
	for _, c := range store.retried()[1:] {
		if c.by != "bob" {
			t.Errorf("retry by %q, want bob", c.by)
		}
	}
	store.mu.Lock()
	for _, q := range store.queries {
		if q.Status != engine.DeadLetterDead || !q.RetryableOnly {
			t.Errorf("query %+v, want retryable dead letters only", q)
		}
	}
	store.mu.Unlock()
	if _, err := svc.RetryDeadLetters(testCtx(t), "bob", 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("max 0 = %v, want ErrInvalid", err)
	}
}
