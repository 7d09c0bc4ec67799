package coretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/internal/smtptest"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
	"github.com/flashstock/flashstock/usecase"
)

// Payments, the outbox and the mailer against real PostgreSQL and a real
// SMTP conversation.

// buyer stores a user with an e-mail address.
func (w *world) buyer(name string) engine.ID {
	w.t.Helper()
	u := engine.User{ID: newID(w.t), Username: name, Email: name + "@example.com", PasswordHash: []byte("x"), CreatedAt: time.Now()}
	if err := w.store.CreateUser(w.t.Context(), u); err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

// TestExpiryRacingPayment: for each of many expired orders, the expiry and
// a successful payment race. Exactly one wins: either the order is
// cancelled and the payment recorded late, or it is confirmed and the
// expiry refused. The stock of the cancelled ones comes back once.
func TestExpiryRacingPayment(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{OrderTTL: time.Millisecond})
	payments, err := usecase.NewPayments(w.inv, w.store, w.uc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	const initial, n = 100, 40
	p := w.product("RACE", initial)
	user := w.buyer("racer")
	orders := make([]engine.Order, n)
	for i := range orders {
		if orders[i], err = w.place(user, item(p, 1)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // every order is past its 1 ms deadline
	type result struct {
		expiryErr error
		outcome   engine.PaymentOutcome
		payErr    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i, o := range orders {
		wg.Go(func() {
			_, results[i].expiryErr = w.orders.TransitionOrder(t.Context(), engine.TransitionOrder{OrderID: o.ID,
				To: engine.StatusCancelled, By: engine.TriggerExpiry, Reason: engine.CancelReasonExpired, Now: time.Now()})
		})
		wg.Go(func() {
			results[i].outcome, results[i].payErr = payments.ApplyPayment(t.Context(), engine.PaymentEvent{
				EventID: fmt.Sprintf("evt-race-%d", i), Reference: o.Reference, Result: engine.PaymentSucceeded,
				Amount: o.Total.Amount, WebhookID: "msg", Body: []byte("{}"), ReceivedAt: time.Now().UTC()})
		})
	}
	wg.Wait()
	confirmed := 0
	for i, r := range results {
		if r.payErr != nil {
			t.Fatalf("order %d: payment: %v", i, r.payErr)
		}
		stored, err := w.store.Order(t.Context(), orders[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.expiryErr == nil && r.outcome == engine.OutcomeLatePayment:
			if stored.Status != engine.StatusCancelled || stored.CancelReason != engine.CancelReasonExpired || stored.PaymentStatus != engine.PaymentPending {
				t.Errorf("order %d: expiry won but stored %s/%s %q", i, stored.Status, stored.PaymentStatus, stored.CancelReason)
			}
		case errors.Is(r.expiryErr, engine.ErrConflict) && r.outcome == engine.OutcomeApplied:
			confirmed++
			if stored.Status != engine.StatusConfirmed || stored.PaymentStatus != engine.PaymentPaid {
				t.Errorf("order %d: payment won but stored %s/%s", i, stored.Status, stored.PaymentStatus)
			}
		default:
			t.Errorf("order %d: not exactly one winner: expiry %v, payment %s", i, r.expiryErr, r.outcome)
		}
	}
	waitFor(t, 10*time.Second, "returning holds released", func() bool { return w.audit(p).held == 0 })
	l := w.checkConserved(p, initial)
	if l.stock != initial-int64(confirmed) || l.sold != int64(confirmed) {
		t.Errorf("stock %d, sold %d; want %d and %d (each cancelled unit back exactly once)", l.stock, l.sold, initial-confirmed, confirmed)
	}
	// Each order queued exactly one mail: confirmed or expired.
	var mails, expired int
	if err := w.sql.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE kind = 'order_expired') FROM outbox`).Scan(&mails, &expired); err != nil {
		t.Fatal(err)
	}
	if mails != n || expired != n-confirmed {
		t.Errorf("outbox has %d mails (%d expiry notices); want %d (%d)", mails, expired, n, n-confirmed)
	}
	t.Logf("%d of %d orders confirmed, %d expired", confirmed, n, n-confirmed)
}

// TestExpiryTaskReturnsStock: the scheduled task cancels every expired
// pending order with reason expired, returns its units, queues the notice,
// and leaves paid and unexpired orders alone.
func TestExpiryTaskReturnsStock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{OrderTTL: time.Millisecond})
	p := w.product("EXPIRE", 50)
	user := w.buyer("slowpayer")
	var ids []engine.ID
	for range 7 {
		o, err := w.place(user, item(p, 2))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	time.Sleep(2 * time.Millisecond)
	gauges := &usecase.GaugeBoard{}
	work, err := usecase.NewTasks(w.store, w.orders, gauges, usecase.TasksConfig{AdminEmail: "ops@example.com", ExpiryBatchMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	var tasks []actors.Task
	for _, task := range work {
		tasks = append(tasks, actors.Task{Name: task.Name, Schedule: task.Schedule, Run: task.Run, PerNode: task.PerNode})
	}
	runner, err := actors.NewTaskRunner(tasks, w.store, nil, actors.RunnerConfig{Node: "test"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	run, err := runner.Run(t.Context(), usecase.TaskExpireOrders, "expire_orders:test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(run.Result); got != `{"expired":7,"raced":0}` {
		t.Errorf("result %s", got)
	}
	for _, id := range ids {
		o, err := w.store.Order(t.Context(), id)
		if err != nil || o.Status != engine.StatusCancelled || o.CancelReason != engine.CancelReasonExpired {
			t.Errorf("order %s: %s %q %v", id, o.Status, o.CancelReason, err)
		}
	}
	waitFor(t, 10*time.Second, "holds released", func() bool { return w.audit(p).held == 0 })
	if l := w.checkConserved(p, 50); l.stock != 50 {
		t.Errorf("stock %d after expiring every order, want 50", l.stock)
	}
	// The same run key does nothing a second time.
	if _, err := runner.Run(t.Context(), usecase.TaskExpireOrders, "expire_orders:test", time.Now()); !errors.Is(err, actors.ErrRunSkipped) {
		t.Errorf("second run of the same key: %v, want ErrRunSkipped", err)
	}
	if _, err := runner.Run(t.Context(), usecase.TaskRefreshGauges, "refresh_gauges:test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if g, at := gauges.Load(); at.IsZero() || g.PendingOrders != 0 || g.OutboxPending != 7 {
		t.Errorf("gauges %+v at %v; want 0 pending orders, 7 mails waiting", g, at)
	}
}

// mailerWorld is a mailer over the real outbox and a real SMTP server.
type mailerWorld struct {
	*world
	smtp   *smtptest.Server
	mailer *actors.Mailer
}

func newMailerWorld(t *testing.T, cfg actors.MailerConfig) *mailerWorld {
	t.Helper()
	w := newWorld(t, actors.Config{})
	srv := smtptest.Start(t)
	sender, err := smtpmail.New(smtpmail.Config{URL: srv.URL(), From: "flashstock <noreply@example.com>", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Permanent = smtpmail.Permanent
	m, err := actors.StartMailer(system, w.store, sender, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return &mailerWorld{world: w, smtp: srv, mailer: m}
}

func testMails(n int) []engine.Mail {
	mails := make([]engine.Mail, n)
	for i := range mails {
		mails[i] = engine.Mail{Kind: engine.MailLowStock, Key: fmt.Sprintf("low_stock:test-%d", i),
			To: []string{"ops@example.com"}, Subject: fmt.Sprintf("Mail %d", i), Text: fmt.Sprintf("body %d\n", i)}
	}
	return mails
}

// outboxCount counts outbox rows in status.
func (w *world) outboxCount(status string) int {
	w.t.Helper()
	var n int
	if err := w.sql.QueryRow(w.t.Context(), "SELECT count(*) FROM outbox WHERE status = $1", status).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestMailerSMTPDownThenUp: mails queued while the SMTP server is down are
// retried with back-off and, once it is up, each delivered exactly once.
func TestMailerSMTPDownThenUp(t *testing.T) {
	t.Parallel()
	w := newMailerWorld(t, actors.MailerConfig{PollInterval: 20 * time.Millisecond, AttemptsMax: 100,
		Backoff: engine.Backoff{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}, SendTimeout: 2 * time.Second})
	w.smtp.Stop()
	const n = 6
	if added, err := w.store.EnqueueMails(t.Context(), testMails(n), time.Now()); err != nil || added != n {
		t.Fatalf("EnqueueMails = %d, %v", added, err)
	}
	waitFor(t, 20*time.Second, "every mail to fail at least twice", func() bool { return w.mailer.Stats().Failed >= 2*n })
	if got := len(w.smtp.Messages()); got != 0 {
		t.Fatalf("%d messages delivered while the server was down", got)
	}
	w.smtp.Restart(t)
	waitFor(t, 20*time.Second, "every mail sent", func() bool { return w.outboxCount("sent") == n && w.mailer.Stats().Sent == n })
	// A few more polls must not send anything again.
	time.Sleep(100 * time.Millisecond)
	msgs := w.smtp.Messages()
	if len(msgs) != n || w.mailer.Stats().Sent != n {
		t.Fatalf("%d messages delivered, stats %+v; want exactly %d", len(msgs), w.mailer.Stats(), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		key := m.Header.Get("X-Flashstock-Mail-Key")
		if seen[key] || !strings.HasPrefix(key, "low_stock:test-") {
			t.Errorf("message key %q duplicated or unknown", key)
		}
		seen[key] = true
	}
	if w.outboxCount("pending") != 0 || w.outboxCount("dead") != 0 {
		t.Errorf("outbox not drained: %d pending, %d dead", w.outboxCount("pending"), w.outboxCount("dead"))
	}
}

// TestMailDeadLetterThenRetry: a mail that fails every attempt lands in the
// dead letters with its payload and error; a retry delivers it once, and a
// second retry is refused.
func TestMailDeadLetterThenRetry(t *testing.T) {
	t.Parallel()
	w := newMailerWorld(t, actors.MailerConfig{PollInterval: 20 * time.Millisecond, AttemptsMax: 3,
		Backoff: engine.Backoff{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}, SendTimeout: 2 * time.Second})
	w.smtp.FailNext(3, 451) // temporary failures: retried until attempts run out
	if _, err := w.store.EnqueueMails(t.Context(), testMails(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the mail dead-lettered", func() bool { return w.outboxCount("dead") == 1 })
	dls, err := w.store.DeadLetters(t.Context(), engine.DeadLetterQuery{Status: engine.DeadLetterDead, Limit: 10})
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters = %v, %v", dls, err)
	}
	dl := dls[0]
	if dl.Source != engine.DeadMail || dl.Kind != string(engine.MailLowStock) || dl.Attempts != 3 ||
		!strings.Contains(dl.Error, "451") || !strings.Contains(string(dl.Payload), "low_stock:test-0") {
		t.Errorf("dead letter %+v (payload %s)", dl, dl.Payload)
	}
	if len(w.smtp.Messages()) != 0 {
		t.Fatal("a failed mail was delivered")
	}
	svc, err := actors.NewDeadLetters(w.store, nil, false, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.RetryDeadLetter(t.Context(), dl.ID, "tester")
	if err != nil || got.Status != engine.DeadLetterRetried || got.RetriedBy != "tester" || got.RetriedAt.IsZero() {
		t.Fatalf("retry = %+v, %v", got, err)
	}
	w.smtp.WaitMessages(t, 1, 20*time.Second)
	waitFor(t, 10*time.Second, "the retried mail recorded sent", func() bool { return w.outboxCount("sent") == 1 })
	if _, err := svc.RetryDeadLetter(t.Context(), dl.ID, "tester"); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("second retry: %v, want ErrConflict", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(w.smtp.Messages()); n != 1 {
		t.Errorf("%d messages after retry, want exactly 1", n)
	}
}

// TestTaskRunOnceAcrossNodes: two nodes (runners over the same database
// and Redis) start the same run at once; it runs exactly once, and neither
// node runs it again afterwards.
func TestTaskRunOnceAcrossNodes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	url, prefix := testenv.RedisURL(t)
	var runs atomic.Int32
	task := actors.Task{Name: "count", Schedule: engine.Schedule{Every: time.Minute},
		Run: func(context.Context, time.Time) (any, error) {
			runs.Add(1)
			time.Sleep(50 * time.Millisecond) // long enough for the other node to try meanwhile
			return nil, nil
		}}
	var nodes []*actors.TaskRunner
	for _, name := range []string{"node-a", "node-b"} {
		r, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		runner, err := actors.NewTaskRunner([]actors.Task{task}, w.store, r, actors.RunnerConfig{Node: name}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, runner)
	}
	slot := time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC)
	key := engine.RunKey("count", slot)
	for round := range 2 {
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { _, errs[i] = n.Run(t.Context(), "count", key, slot) })
		}
		wg.Wait()
		skipped := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, actors.ErrRunSkipped):
				skipped++
			case err != nil:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if want := len(nodes) - 1 + round; skipped != want {
			t.Errorf("round %d: %d nodes skipped, want %d", round, skipped, want)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the run ran %d times, want once", n)
	}
	var node, status string
	if err := w.sql.QueryRow(t.Context(), "SELECT node, status FROM task_runs WHERE run_key = $1", key).Scan(&node, &status); err != nil {
		t.Fatal(err)
	}
	if status != "done" || (node != "node-a" && node != "node-b") {
		t.Errorf("run recorded %s by %q", status, node)
	}
}
