package persist_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// PruneHistory deletes finished records older than each horizon and keeps
// everything still in use: running task runs, pending and dead mails,
// dead letters waiting for an operator.
func TestPruneHistory(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	conn := rawConn(t, url)
	old, recent := now().Add(-48*time.Hour), now().Add(-time.Hour)
	horizon := now().Add(-24 * time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for key, row := range map[string]struct {
		status   string
		finished *time.Time
	}{"done-old": {"done", &old}, "failed-old": {"failed", &old}, "done-recent": {"done", &recent}, "running-old": {"running", nil}} {
		exec(`INSERT INTO task_runs (run_key, task, status, attempts, node, started_at, locked_until, finished_at)
VALUES ($1, 't', $2, 1, 'n', $3, $3, $4)`, key, row.status, old, row.finished)
	}
	for i, row := range []struct {
		status string
		sent   *time.Time
	}{{"sent", &old}, {"sent", &recent}, {"pending", nil}, {"dead", nil}} {
		exec(`INSERT INTO outbox (id, kind, dedup_key, payload, status, next_attempt_at, created_at, sent_at)
VALUES ($1, 'low_stock', $2, '{}', $3, $4, $4, $5)`, [16]byte(newID(t)), string(rune('a'+i)), row.status, old, row.sent)
	}
	for _, row := range []struct {
		status  string
		retried *time.Time
	}{{"retried", &old}, {"retried", &recent}, {"dead", nil}} {
		exec(`INSERT INTO dead_letters (id, source, kind, payload, error, attempts, status, created_at, retried_at)
VALUES ($1, 'mail', 'k', '{}', 'e', 1, $2, $3, $4)`, [16]byte(newID(t)), row.status, old, row.retried)
	}
	before := engine.PruneBefore{TaskRuns: horizon, SentMails: horizon, RetriedDeadLetters: horizon}
	n, err := s.PruneHistory(ctx, before, 1)
	if err != nil || n != (engine.PruneCounts{TaskRuns: 1, SentMails: 1, RetriedDeadLetters: 1}) {
		t.Fatalf("PruneHistory(max 1) = %+v, %v", n, err)
	}
	if n, err = s.PruneHistory(ctx, before, 100); err != nil || n != (engine.PruneCounts{TaskRuns: 1}) {
		t.Fatalf("second PruneHistory = %+v, %v; want the other old task run only", n, err)
	}
	count := func(sql string) int {
		t.Helper()
		var c int
		if err := conn.QueryRow(ctx, sql).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count("SELECT count(*) FROM task_runs WHERE run_key IN ('done-recent', 'running-old')"); c != 2 || count("SELECT count(*) FROM task_runs") != 2 {
		t.Errorf("task runs left: want the recent and the running one")
	}
	if c := count("SELECT count(*) FROM outbox"); c != 3 {
		t.Errorf("%d mails left, want 3 (recent sent, pending, dead)", c)
	}
	if c := count("SELECT count(*) FROM dead_letters"); c != 2 {
		t.Errorf("%d dead letters left, want 2 (recent retried, dead)", c)
	}
	if _, err := s.PruneHistory(ctx, before, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("max 0: %v, want ErrInvalid", err)
	}
}
