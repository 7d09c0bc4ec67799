package actors_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// In-memory fakes of the mailer's ports (see async_fakes_test.go).

// ---- Outbox ----

// Outbox mail statuses, as persist stores them.
const (
	mailPending = "pending"
	mailSent    = "sent"
	mailDead    = "dead"
)

// outboxRow is one mail of memOutbox with its delivery state.
type outboxRow struct {
	mail        engine.OutboxMail // Attempts: deliveries recorded so far
	status      string
	nextAt      time.Time // due from
	lockedUntil time.Time // leased until (zero = not leased)
	failures    []mailFailure
	sentCalls   int
	deadCalls   int
}

// mailFailure is one MailFailed call.
type mailFailure struct {
	reason string
	next   time.Time // as asked
	at     time.Time // when recorded
}

// memOutbox is an in-memory Outbox: DueMails leases pending due mails not
// leased by someone else; MailSent/MailFailed/MailDead count one attempt
// and release the lease, as persist does. Fields guarded by mu.
type memOutbox struct {
	mu     sync.Mutex
	rows   map[engine.ID]*outboxRow
	claims int // DueMails calls that returned
}

func newMemOutbox() *memOutbox { return &memOutbox{rows: map[engine.ID]*outboxRow{}} }

// add queues m, due now, with attempts deliveries already tried.
func (o *memOutbox) add(t *testing.T, m engine.Mail, attempts int) engine.ID {
	t.Helper()
	id := newID(t)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rows[id] = &outboxRow{mail: engine.OutboxMail{ID: id, Mail: m, Attempts: attempts}, status: mailPending, nextAt: time.Now()}
	return id
}

// row returns a copy of mail id's state.
func (o *memOutbox) row(id engine.ID) outboxRow {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := *o.rows[id]
	r.failures = slices.Clone(r.failures)
	return r
}

// claimCount returns how many DueMails calls returned.
func (o *memOutbox) claimCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.claims
}

// countStatus returns how many mails are in status.
func (o *memOutbox) countStatus(status string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.rows {
		if r.status == status {
			n++
		}
	}
	return n
}

func (o *memOutbox) DueMails(ctx context.Context, now time.Time, lease time.Duration, max int) ([]engine.OutboxMail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max < 1 || lease <= 0 {
		return nil, engine.Invalid("max", "max and lease must be positive")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims++
	var due []*outboxRow
	for _, r := range o.rows {
		if r.status == mailPending && !r.nextAt.After(now) && !r.lockedUntil.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *outboxRow) int {
		return cmp.Or(a.nextAt.Compare(b.nextAt), slices.Compare(a.mail.ID[:], b.mail.ID[:]))
	})
	var out []engine.OutboxMail
	for _, r := range due[:min(len(due), max)] {
		r.lockedUntil = now.Add(lease)
		out = append(out, r.mail)
	}
	return out, nil
}

// pending returns mail id for an update that needs it pending.
func (o *memOutbox) pending(id engine.ID) (*outboxRow, error) {
	r, ok := o.rows[id]
	if !ok {
		return nil, fmt.Errorf("mail %s: %w", id, engine.ErrNotFound)
	}
	if r.status != mailPending {
		return nil, fmt.Errorf("%w: mail %s is %s, not pending", engine.ErrConflict, id, r.status)
	}
	return r, nil
}

func (o *memOutbox) MailSent(_ context.Context, id engine.ID, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.rows[id]
	if !ok {
		return fmt.Errorf("mail %s: %w", id, engine.ErrNotFound)
	}
	r.status, r.lockedUntil = mailSent, time.Time{}
	r.mail.Attempts++
	r.sentCalls++
	return nil
}

func (o *memOutbox) MailFailed(_ context.Context, id engine.ID, reason string, next time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.pending(id)
	if err != nil {
		return err
	}
	r.mail.Attempts++
	r.nextAt, r.lockedUntil = next, time.Time{}
	r.failures = append(r.failures, mailFailure{reason: reason, next: next, at: time.Now()})
	return nil
}

func (o *memOutbox) MailDead(_ context.Context, id engine.ID, _ string, now time.Time) (engine.ID, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.pending(id)
	if err != nil {
		return engine.NilID, err
	}
	r.mail.Attempts++
	r.status, r.lockedUntil = mailDead, time.Time{}
	r.deadCalls++
	return engine.NewID(now, rand.Reader)
}

// ---- MailSender ----

// sendRecord is one Send call.
type sendRecord struct {
	key    string
	start  time.Time
	err    error // what Send returned
	ctxErr error // the send context's error when Send returned
}

// scriptSender is a MailSender the test scripts: it fails the next sends
// with a given error, can block every send until released, and records
// every send. Fields guarded by mu.
type scriptSender struct {
	mu          sync.Mutex
	failN       int   // fail this many more sends; < 0 = every send
	failErr     error // what they fail with
	gate        chan struct{}
	ignoreCtx   bool // a blocked send waits for the gate even when its context ends
	sends       []sendRecord
	inflight    int
	inflightMax int
}

// failNext makes the next n sends (n < 0: all) fail with err.
func (s *scriptSender) failNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failErr = n, err
}

// block makes sends wait until release (or their context ends, unless
// ignoreCtx).
func (s *scriptSender) block(ignoreCtx bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.ignoreCtx = make(chan struct{}), ignoreCtx
}

// release lets blocked sends through, and later ones pass at once.
func (s *scriptSender) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *scriptSender) Send(ctx context.Context, m engine.Mail) error {
	s.mu.Lock()
	rec := sendRecord{key: m.Key, start: time.Now()}
	gate, ignoreCtx := s.gate, s.ignoreCtx
	s.inflight++
	s.inflightMax = max(s.inflightMax, s.inflight)
	s.mu.Unlock()
	if gate != nil {
		if ignoreCtx {
			<-gate
		} else {
			select {
			case <-gate:
			case <-ctx.Done():
				rec.err = ctx.Err()
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if rec.err == nil && s.failN != 0 {
		rec.err = s.failErr
		if s.failN > 0 {
			s.failN--
		}
	}
	rec.ctxErr = ctx.Err()
	s.sends = append(s.sends, rec)
	return rec.err
}

// started returns how many sends began (finished or not).
func (s *scriptSender) started() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sends) + s.inflight
}

// records returns the finished sends.
func (s *scriptSender) records() []sendRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sends)
}

// perKey counts the finished sends of each key.
func (s *scriptSender) perKey() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, r := range s.sends {
		n[r.key]++
	}
	return n
}
