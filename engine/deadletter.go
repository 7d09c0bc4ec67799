package engine

import "time"

// DeadLetterSource says what kind of work a dead letter holds.
type DeadLetterSource string

// Dead-letter sources.
const (
	DeadMail  DeadLetterSource = "mail"  // an outbox mail that used up its attempts; retry re-queues it
	DeadTask  DeadLetterSource = "task"  // a scheduled task run that used up its attempts; retry runs it again
	DeadActor DeadLetterSource = "actor" // a message hollywood could not deliver; kept for inspection only
)

// DeadLetterStatus is where a dead letter is in its handling.
type DeadLetterStatus string

// Dead-letter statuses: dead → retried.
const (
	DeadLetterDead    DeadLetterStatus = "dead"    // waiting for an operator
	DeadLetterRetried DeadLetterStatus = "retried" // re-queued or re-run; a new failure makes a new dead letter
)

// DeadLetter is one piece of work that could not be done, kept with its
// payload and last error for an operator to inspect and retry.
type DeadLetter struct {
	ID        ID
	Source    DeadLetterSource
	Kind      string // the mail kind, task name or message type
	Ref       string // what it refers to: outbox mail id, task run key, target actor
	Payload   []byte // JSON
	Error     string
	Attempts  int
	Status    DeadLetterStatus
	CreatedAt time.Time
	RetriedAt time.Time // zero until retried
	RetriedBy string    // who asked for the retry ("cli", an admin's username)
}

// Retryable reports whether a retry can re-run the work.
func (d DeadLetter) Retryable() bool { return d.Source == DeadMail || d.Source == DeadTask }

// DeadLetterQuery selects one page of dead letters, newest first.
type DeadLetterQuery struct {
	Status        DeadLetterStatus // "" = any
	RetryableOnly bool             // only mails and tasks (not actor messages)
	Before        ID               // NilID = from the newest
	Limit         int
}

// RetrySummary is what retrying every dead letter did.
type RetrySummary struct {
	Retried []ID           // re-queued or re-run
	Failed  []RetryFailure // could not be retried, with why
	More    bool           // more dead letters wait than one call retries
}

// RetryFailure is a dead letter a retry-all could not retry.
type RetryFailure struct {
	ID    ID
	Error string
}
