package actors

import (
	"context"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// SKUStore is what the SKU actors, their loader and the commit pipeline
// need of the database. The pipeline is the only caller that changes a
// product's stock (UpdateProduct runs for the product's actor).
type SKUStore interface {
	// Products loads the products with the given ids (missing ones are
	// left out), in one query.
	Products(ctx context.Context, ids []engine.ID) ([]engine.Product, error)
	// CommitStock writes one transaction of the commit pipeline and
	// returns, after the commit, what it did to every product it touched.
	// On error nothing was written, except that engine.ErrUnavailable may
	// mean "unknown"; a row the database refuses is engine.ErrConflict or
	// engine.ErrInvalid.
	CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error)
	// UpdateProduct applies change under the row lock and returns the
	// stored product; an error from change is returned unchanged.
	UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)
}

// Outbox is the transactional outbox of mails, as the mailer sees it.
// Mails are put in by the transactions that cause them (persist), or by
// EnqueueMails.
type Outbox interface {
	// DueMails claims up to max pending mails due at now, oldest first,
	// leasing each until now+lease so that no other mailer sends it
	// meanwhile.
	DueMails(ctx context.Context, now time.Time, lease time.Duration, max int) ([]engine.OutboxMail, error)
	// MailSent records that the mail was delivered.
	MailSent(ctx context.Context, id engine.ID, now time.Time) error
	// MailFailed records a failed attempt and when to try again.
	MailFailed(ctx context.Context, id engine.ID, reason string, next time.Time) error
	// MailDead records the last failed attempt and moves the mail to the
	// dead letters, in one transaction; it returns the dead letter's id.
	MailDead(ctx context.Context, id engine.ID, reason string, now time.Time) (engine.ID, error)
}

// MailSender delivers one mail (SMTP in production).
type MailSender interface {
	Send(ctx context.Context, m engine.Mail) error
}

// mailLogger is a MailSender that writes each mail to the log instead of
// delivering it (development without an SMTP server) and says so in its own
// line: the mailer then does not add a "mail sent" line of its own.
type mailLogger interface {
	MailSender
	LogsInsteadOfSending() bool
}

// TaskRuns records scheduled task runs so that each runs once.
type TaskRuns interface {
	// ClaimRun starts run key of task on node, leased until now+lease. It
	// claims a new key, a failed run (a retry) or a running one whose lease
	// has passed; a done run or one running elsewhere is not claimed
	// (ok false). attempt counts the claims of the key, this one included.
	ClaimRun(ctx context.Context, task, key, node string, now time.Time, lease time.Duration) (attempt int, ok bool, err error)
	// FinishRun records the end of a run (status done or failed, result,
	// error); with dead set, the same transaction adds that dead letter.
	FinishRun(ctx context.Context, r engine.TaskRun, dead *engine.DeadLetter) error
}

// DeadLetterStore keeps the dead letters.
type DeadLetterStore interface {
	// AddDeadLetter stores d.
	AddDeadLetter(ctx context.Context, d engine.DeadLetter) error
	// DeadLetter returns one dead letter or engine.ErrNotFound.
	DeadLetter(ctx context.Context, id engine.ID) (engine.DeadLetter, error)
	// DeadLetters returns one page, newest first.
	DeadLetters(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error)
	// RetryDeadLetter marks a dead letter retried by `by` at now and, for a
	// mail, puts its outbox mail back to pending with its attempts reset,
	// in one transaction. A dead letter not in status dead is
	// engine.ErrConflict (a retry happens once); an actor message is
	// engine.ErrConflict too (nothing to re-run).
	RetryDeadLetter(ctx context.Context, id engine.ID, by string, now time.Time) (engine.DeadLetter, error)
}
