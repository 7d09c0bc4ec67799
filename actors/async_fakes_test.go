package actors_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// In-memory fakes of the ports of the mailer, the scheduler, the tasks and
// the dead letters. Each keeps the contract of its interface's doc comment
// (leases, claim matrix, statuses) so that the actors are tested against
// the same semantics persist implements; persist's own tests check those
// against PostgreSQL.

var (
	_ actors.Outbox            = (*memOutbox)(nil)
	_ actors.MailSender        = (*scriptSender)(nil)
	_ actors.TaskRuns          = (*memRuns)(nil)
	_ actors.DeadLetterStore   = (*memDeadLetters)(nil)
	_ actors.TaskStore         = (*fakeTaskStore)(nil)
	_ actors.JobLocks          = (*fakeLocks)(nil)
	_ actors.OrderTransitioner = (*fakeOrders)(nil)
)

// newSystem returns a hollywood engine of the test's own (actor ids such
// as "mailer" are unique per engine).
func newSystem(t *testing.T) *actor.Engine {
	t.Helper()
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	return system
}

// testCtx is the deadline of one call or Stop in a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

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

// ---- TaskRuns ----

// runRow is one run key of memRuns.
type runRow struct {
	run        engine.TaskRun
	leaseUntil time.Time
}

// finishCall is one FinishRun call.
type finishCall struct {
	run  engine.TaskRun
	dead *engine.DeadLetter
}

// memRuns is an in-memory TaskRuns with ClaimRun's matrix: a new key is
// claimed (attempt 1); a failed run is claimed again (attempts+1); a
// running one is claimed again only past its lease; a done one never.
// FinishRun adds the dead letter to dead (if set), like persist's single
// transaction. Fields guarded by mu.
type memRuns struct {
	dead *memDeadLetters

	mu       sync.Mutex
	rows     map[string]*runRow
	claims   []string // ClaimRun calls, by key
	finished []finishCall
}

func newMemRuns(dead *memDeadLetters) *memRuns {
	return &memRuns{dead: dead, rows: map[string]*runRow{}}
}

func (r *memRuns) ClaimRun(ctx context.Context, task, key, node string, now time.Time, lease time.Duration) (int, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claims = append(r.claims, key)
	row, ok := r.rows[key]
	switch {
	case !ok:
		row = &runRow{run: engine.TaskRun{RunKey: key, Task: task}}
		r.rows[key] = row
	case row.run.Status == engine.TaskDone:
		return row.run.Attempts, false, nil
	case row.run.Status == engine.TaskRunning && now.Before(row.leaseUntil):
		return row.run.Attempts, false, nil
	}
	row.run.Status, row.run.Node, row.run.StartedAt = engine.TaskRunning, node, now
	row.run.Attempts++
	row.leaseUntil = now.Add(lease)
	return row.run.Attempts, true, nil
}

func (r *memRuns) FinishRun(ctx context.Context, run engine.TaskRun, dead *engine.DeadLetter) error {
	r.mu.Lock()
	row, ok := r.rows[run.RunKey]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("run %s: %w", run.RunKey, engine.ErrNotFound)
	}
	row.run, row.leaseUntil = run, time.Time{}
	var d *engine.DeadLetter
	if dead != nil {
		copied := *dead
		d = &copied
	}
	r.finished = append(r.finished, finishCall{run: run, dead: d})
	r.mu.Unlock()
	if dead != nil && r.dead != nil {
		return r.dead.AddDeadLetter(ctx, *dead)
	}
	return nil
}

// set stores a run as if claimed earlier.
func (r *memRuns) set(run engine.TaskRun, leaseUntil time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows[run.RunKey] = &runRow{run: run, leaseUntil: leaseUntil}
}

// get returns key's run.
func (r *memRuns) get(key string) (engine.TaskRun, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	row, ok := r.rows[key]
	if !ok {
		return engine.TaskRun{}, false
	}
	return row.run, true
}

// claimKeys returns the keys ClaimRun was called with, in order.
func (r *memRuns) claimKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.claims)
}

// finishes returns the FinishRun calls, in order.
func (r *memRuns) finishes() []finishCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.finished)
}

// ---- DeadLetterStore ----

// retryCall is one RetryDeadLetter call that succeeded.
type retryCall struct {
	id engine.ID
	by string
}

// memDeadLetters is an in-memory DeadLetterStore: pages newest (highest
// id) first; a retry moves dead → retried once, and refuses actor
// messages. Fields guarded by mu.
type memDeadLetters struct {
	mu      sync.Mutex
	letters map[engine.ID]engine.DeadLetter
	retries []retryCall
	queries []engine.DeadLetterQuery
}

func newMemDeadLetters() *memDeadLetters {
	return &memDeadLetters{letters: map[engine.ID]engine.DeadLetter{}}
}

func (s *memDeadLetters) AddDeadLetter(_ context.Context, d engine.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.letters[d.ID]; dup {
		return fmt.Errorf("%w: dead letter %s exists", engine.ErrConflict, d.ID)
	}
	s.letters[d.ID] = d
	return nil
}

func (s *memDeadLetters) DeadLetter(_ context.Context, id engine.ID) (engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.letters[id]
	if !ok {
		return engine.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, engine.ErrNotFound)
	}
	return d, nil
}

func (s *memDeadLetters) DeadLetters(_ context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	return s.page(q), nil
}

// page selects q's page; s.mu is held.
func (s *memDeadLetters) page(q engine.DeadLetterQuery) []engine.DeadLetter {
	var out []engine.DeadLetter
	for _, d := range s.letters {
		if (q.Status == "" || d.Status == q.Status) && (!q.RetryableOnly || d.Retryable()) &&
			(q.Before.IsZero() || slices.Compare(d.ID[:], q.Before[:]) < 0) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b engine.DeadLetter) int { return slices.Compare(b.ID[:], a.ID[:]) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func (s *memDeadLetters) RetryDeadLetter(_ context.Context, id engine.ID, by string, now time.Time) (engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.letters[id]
	switch {
	case !ok:
		return engine.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, engine.ErrNotFound)
	case d.Status != engine.DeadLetterDead:
		return engine.DeadLetter{}, fmt.Errorf("%w: dead letter %s is %s", engine.ErrConflict, id, d.Status)
	case !d.Retryable():
		return engine.DeadLetter{}, fmt.Errorf("%w: dead letter %s cannot be retried", engine.ErrConflict, id)
	}
	d.Status, d.RetriedAt, d.RetriedBy = engine.DeadLetterRetried, now, by
	s.letters[id] = d
	s.retries = append(s.retries, retryCall{id: id, by: by})
	return d, nil
}

// all returns every dead letter, newest first (not recorded as a query).
func (s *memDeadLetters) all() []engine.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page(engine.DeadLetterQuery{})
}

// retried returns the successful RetryDeadLetter calls.
func (s *memDeadLetters) retried() []retryCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.retries)
}

// ---- TaskStore, JobLocks, OrderTransitioner ----

var errNotScripted = errors.New("fake: call not scripted")

// fakeTaskStore is a TaskStore whose methods call the XxxFunc fields; an
// unset one returns errNotScripted.
type fakeTaskStore struct {
	ExpiredOrdersFunc        func(ctx context.Context, now time.Time, max int) ([]engine.ID, error)
	RecordLowStockFunc       func(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error)
	SalesReportFunc          func(ctx context.Context, day time.Time) (engine.SalesReport, error)
	SaveSalesReportFunc      func(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error
	ArchiveWebhookEventsFunc func(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error)
	DeadLettersSinceFunc     func(ctx context.Context, since time.Time) (int, error)
	EnqueueMailsFunc         func(ctx context.Context, mails []engine.Mail, now time.Time) (int, error)
	GaugesFunc               func(ctx context.Context) (engine.Gauges, error)
}

func (s *fakeTaskStore) ExpiredOrders(ctx context.Context, now time.Time, max int) ([]engine.ID, error) {
	if s.ExpiredOrdersFunc == nil {
		return nil, errNotScripted
	}
	return s.ExpiredOrdersFunc(ctx, now, max)
}

func (s *fakeTaskStore) RecordLowStock(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error) {
	if s.RecordLowStockFunc == nil {
		return nil, 0, errNotScripted
	}
	return s.RecordLowStockFunc(ctx, now, adminEmail, max)
}

func (s *fakeTaskStore) SalesReport(ctx context.Context, day time.Time) (engine.SalesReport, error) {
	if s.SalesReportFunc == nil {
		return engine.SalesReport{}, errNotScripted
	}
	return s.SalesReportFunc(ctx, day)
}

func (s *fakeTaskStore) SaveSalesReport(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error {
	if s.SaveSalesReportFunc == nil {
		return errNotScripted
	}
	return s.SaveSalesReportFunc(ctx, r, m, now)
}

func (s *fakeTaskStore) ArchiveWebhookEvents(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error) {
	if s.ArchiveWebhookEventsFunc == nil {
		return 0, 0, errNotScripted
	}
	return s.ArchiveWebhookEventsFunc(ctx, archiveBefore, deleteBefore, max)
}

func (s *fakeTaskStore) DeadLettersSince(ctx context.Context, since time.Time) (int, error) {
	if s.DeadLettersSinceFunc == nil {
		return 0, errNotScripted
	}
	return s.DeadLettersSinceFunc(ctx, since)
}

func (s *fakeTaskStore) EnqueueMails(ctx context.Context, mails []engine.Mail, now time.Time) (int, error) {
	if s.EnqueueMailsFunc == nil {
		return 0, errNotScripted
	}
	return s.EnqueueMailsFunc(ctx, mails, now)
}

func (s *fakeTaskStore) Gauges(ctx context.Context) (engine.Gauges, error) {
	if s.GaugesFunc == nil {
		return engine.Gauges{}, errNotScripted
	}
	return s.GaugesFunc(ctx)
}

// fakeLocks is an in-memory JobLocks: a name is held until unlocked; with
// refuse set every TryLock says another node holds it. Fields guarded by mu.
type fakeLocks struct {
	mu      sync.Mutex
	refuse  bool
	held    map[string]bool
	locked  []string // names taken, in order
	unlocks int
}

func (l *fakeLocks) TryLock(ctx context.Context, name string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if ttl <= 0 {
		return nil, false, engine.Invalid("ttl", "must be positive")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refuse || l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	l.locked = append(l.locked, name)
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, name)
		l.unlocks++
		return nil
	}, true, nil
}

// fakeOrders is an OrderTransitioner calling TransitionOrderFunc (nil =
// success) and recording every command. Fields guarded by mu.
type fakeOrders struct {
	TransitionOrderFunc func(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)

	mu   sync.Mutex
	cmds []engine.TransitionOrder
}

func (o *fakeOrders) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	o.mu.Lock()
	o.cmds = append(o.cmds, cmd)
	o.mu.Unlock()
	if o.TransitionOrderFunc == nil {
		return engine.Order{ID: cmd.OrderID, Status: cmd.To}, nil
	}
	return o.TransitionOrderFunc(ctx, cmd)
}

func (o *fakeOrders) commands() []engine.TransitionOrder {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.cmds)
}
