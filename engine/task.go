package engine

import "time"

// TaskRunStatus is where one run of a scheduled task is.
type TaskRunStatus string

// Task run statuses: running → done | failed; a failed run may be claimed
// again (a retry), a running one only once its lease has passed (its node
// died).
const (
	TaskRunning TaskRunStatus = "running"
	TaskDone    TaskRunStatus = "done"
	TaskFailed  TaskRunStatus = "failed"
)

// TaskRun is one run of a scheduled task, keyed by RunKey: the task name
// and the slot it runs for, so that a repeat or a second node finds the run
// already claimed or done and does nothing.
type TaskRun struct {
	RunKey     string
	Task       string
	Status     TaskRunStatus
	Attempts   int
	Node       string
	StartedAt  time.Time
	FinishedAt time.Time
	Result     []byte // JSON summary of what the run did
	Error      string
}

// RunKey is the key of task's run for the slot starting at slot (RFC 3339,
// with fractional seconds only when the slot has them).
func RunKey(task string, slot time.Time) string {
	return task + ":" + slot.UTC().Format(time.RFC3339Nano)
}

// Gauges are the counts the gauge-refresh task keeps current.
type Gauges struct {
	PendingOrders    int64 `json:"pending_orders"`     // orders waiting for payment
	LowStockProducts int64 `json:"low_stock_products"` // active products at or under their threshold
	DeadLetters      int64 `json:"dead_letters"`       // retryable dead letters (mail, task) waiting for an operator
	OutboxPending    int64 `json:"outbox_pending"`     // mails not yet sent
}

// PruneBefore says which finished records the prune task deletes: those
// that ended before each time.
type PruneBefore struct {
	TaskRuns           time.Time // done and failed task runs (by finished_at)
	SentMails          time.Time // mails sent (by sent_at)
	RetriedDeadLetters time.Time // dead letters retried (by retried_at)
}

// PruneCounts says how many records one prune deleted.
type PruneCounts struct {
	TaskRuns           int `json:"task_runs"`
	SentMails          int `json:"sent_mails"`
	RetriedDeadLetters int `json:"retried_dead_letters"`
}
