package actors

import (
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Observer receives what the actors do, for metrics (internal/metrics
// implements it; cmd wires it). Its methods are called on hot paths: they
// must be cheap, never block, and be safe for concurrent use.
type Observer interface {
	// CommitDone: one group commit of ops operations took took (err nil
	// when it committed).
	CommitDone(ops int, took time.Duration, err error)
	// TaskRun: a scheduled task run ended with result (TaskResult…).
	TaskRun(task, result string, took time.Duration)
	// MailAttempt: one delivery attempt ended with result (MailResult…).
	MailAttempt(result string)
	// DeadLetter: a dead letter was recorded.
	DeadLetter(source engine.DeadLetterSource)
	// LockAttempt: an attempt to take a lock ended with result (LockResult…).
	LockAttempt(lock, result string)
}

// Results passed to an Observer.
const (
	TaskResultDone    = "done"    // the run succeeded
	TaskResultFailed  = "failed"  // it failed and was not dead-lettered (stopped; claimed again later)
	TaskResultDead    = "dead"    // it failed every try and was dead-lettered
	TaskResultSkipped = "skipped" // done already or running elsewhere
	MailResultSent    = "sent"
	MailResultRetry   = "retry"
	MailResultDead    = "dead"
	LockResultOK      = "acquired"
	LockResultTaken   = "taken"
	LockResultError   = "error"
)

// LockJob is the lock label of the scheduler's job locks.
const LockJob = "job"

// TaskResults and LockResults list every task-run and lock-attempt result,
// for observers that create their series up front.
var (
	TaskResults = []string{TaskResultDone, TaskResultFailed, TaskResultDead, TaskResultSkipped}
	LockResults = []string{LockResultOK, LockResultTaken, LockResultError}
)

// NopObserver observes nothing.
type NopObserver struct{}

var _ Observer = NopObserver{}

// CommitDone does nothing.
func (NopObserver) CommitDone(int, time.Duration, error) {}

// TaskRun does nothing.
func (NopObserver) TaskRun(string, string, time.Duration) {}

// MailAttempt does nothing.
func (NopObserver) MailAttempt(string) {}

// DeadLetter does nothing.
func (NopObserver) DeadLetter(engine.DeadLetterSource) {}

// LockAttempt does nothing.
func (NopObserver) LockAttempt(string, string) {}
