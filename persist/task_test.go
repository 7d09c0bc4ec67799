package persist_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestClaimRun(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	t0 := now()
	const lease = time.Minute
	claim := func(key, node string, at time.Time) (int, bool) {
		t.Helper()
		n, ok, err := s.ClaimRun(ctx, "report", key, node, at, lease)
		if err != nil {
			t.Fatalf("ClaimRun(%s): %v", key, err)
		}
		return n, ok
	}
	finish := func(key string, status engine.TaskRunStatus, dead *engine.DeadLetter) error {
		return s.FinishRun(ctx, engine.TaskRun{RunKey: key, Task: "report", Status: status, FinishedAt: t0,
			Result: []byte(`{"mails":1}`), Error: "e"}, dead)
	}

	if n, ok := claim("new", "a", t0); !ok || n != 1 {
		t.Errorf("new key = %d, %v; want attempt 1", n, ok)
	}
	claim("done", "a", t0)
	if err := finish("done", engine.TaskDone, nil); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	if _, ok := claim("done", "b", t0.Add(time.Hour)); ok {
		t.Error("a done run was claimed again")
	}
	claim("running", "a", t0)
	if _, ok := claim("running", "b", t0.Add(lease-time.Second)); ok {
		t.Error("a run within its lease was claimed by another node")
	}
	claim("stale", "a", t0)
	if n, ok := claim("stale", "b", t0.Add(lease)); !ok || n != 2 {
		t.Errorf("run past its lease = %d, %v; want attempt 2", n, ok)
	}
	claim("failed", "a", t0)
	dead := &engine.DeadLetter{Source: engine.DeadTask, Kind: "report", Ref: "failed", Error: "e", Attempts: 1, CreatedAt: t0}
	if err := finish("failed", engine.TaskFailed, dead); err != nil {
		t.Fatalf("FinishRun(failed): %v", err)
	}
	if n, ok := claim("failed", "b", t0.Add(time.Second)); !ok || n != 2 {
		t.Errorf("failed run = %d, %v; want a retry, attempt 2", n, ok)
	}
	var status, node, errText string
	var result []byte
	if err := conn.QueryRow(ctx, "SELECT status, node, result, error FROM task_runs WHERE run_key = 'failed'").
		Scan(&status, &node, &result, &errText); err != nil || status != "running" || node != "b" || result != nil || errText != "" {
		t.Errorf("retried run = %s, %s, %s, %q, %v", status, node, result, errText, err)
	}
	if err := conn.QueryRow(ctx, "SELECT status, result::text FROM task_runs WHERE run_key = 'done'").Scan(&status, &result); err != nil ||
		status != "done" || string(result) != `{"mails": 1}` {
		t.Errorf("done run = %s, %s, %v", status, result, err)
	}
	if list, err := s.DeadLetters(ctx, engine.DeadLetterQuery{Limit: 10}); err != nil || len(list) != 1 || list[0].Ref != "failed" {
		t.Errorf("dead letters = %+v, %v; want the failed run's", list, err)
	}

	// Finishing a run that is not running changes nothing, dead letter included.
	if err := finish("done", engine.TaskFailed, dead); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("FinishRun(done) = %v, want ErrConflict", err)
	}
	if n, _ := s.DeadLettersSince(ctx, t0); n != 1 {
		t.Errorf("dead letters = %d, want still 1", n)
	}
	if err := finish("unknown", engine.TaskDone, nil); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("FinishRun(unknown) = %v, want ErrNotFound", err)
	}
	if err := finish("new", engine.TaskRunning, nil); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("FinishRun(running) = %v, want ErrInvalid", err)
	}
	if _, _, err := s.ClaimRun(ctx, "report", "k", "a", t0, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("ClaimRun(lease 0) = %v, want ErrInvalid", err)
	}
}
