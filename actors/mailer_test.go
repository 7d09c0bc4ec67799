package actors_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/internal/testenv"
)

// Tests of the mailer actor over an in-memory outbox and a scripted sender,
// with a real hollywood system and durations in milliseconds. Delivery
// through real SMTP and the outbox in PostgreSQL are tested elsewhere.

var (
	errTemporary = errors.New("451 try again later")
	errRejected  = errors.New("550 no such mailbox")
)

// fastMailerConfig polls every 10 ms and backs off 1 to 5 ms.
func fastMailerConfig() actors.MailerConfig {
	return actors.MailerConfig{
		PollInterval: 10 * time.Millisecond,
		BatchMax:     10,
		Lease:        2 * time.Minute,
		AttemptsMax:  3,
		Backoff:      engine.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
		SendTimeout:  5 * time.Second,
	}
}

func testMail(i int) engine.Mail {
	return engine.Mail{Kind: engine.MailOrderConfirmed, Key: fmt.Sprintf("order_confirmed:%d", i),
		To: []string{"buyer@example.com"}, Subject: fmt.Sprintf("Order %d confirmed", i), Text: "Thank you."}
}

// testMailer is a started mailer that the test stops at most once (a
// second Stop would stop its repeater twice).
type testMailer struct {
	*actors.Mailer
	once sync.Once
}

// stop stops the mailer unless it was stopped before (then it returns nil).
func (m *testMailer) stop(ctx context.Context) error {
	var err error
	m.once.Do(func() { err = m.Mailer.Stop(ctx) })
	return err
}

// startMailer starts a mailer on a system of the test's own; it is stopped
// at the end of the test, after the sender is released.
func startMailer(t *testing.T, outbox *memOutbox, sender *scriptSender, cfg actors.MailerConfig) *testMailer {
	t.Helper()
	m, err := actors.StartMailer(newSystem(t), outbox, sender, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tm := &testMailer{Mailer: m}
	t.Cleanup(func() {
		if err := tm.stop(testCtx(t)); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	t.Cleanup(sender.release) // runs first
	return tm
}

// waitClaims waits until the mailer has looked at the outbox n more times:
// whatever it would have done with the mails by then, it has done.
func waitClaims(t *testing.T, outbox *memOutbox, n int) {
	t.Helper()
	target := outbox.claimCount() + n
	waitFor(t, fmt.Sprintf("%d more outbox polls", n), func() bool { return outbox.claimCount() >= target })
}

// Every queued mail is sent exactly once and recorded sent, across
// several full batches.
func TestMailerSendsEachMailOnce(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	const mails = 25 // batches of 10, 10 and 5
	ids := make([]engine.ID, mails)
	for i := range ids {
		ids[i] = outbox.add(t, testMail(i), 0)
	}
	m := startMailer(t, outbox, sender, fastMailerConfig())
	waitFor(t, "every mail recorded sent", func() bool { return outbox.countStatus(mailSent) == mails })
	waitClaims(t, outbox, 3)

	perKey := sender.perKey()
	for i, id := range ids {
		if n := perKey[testMail(i).Key]; n != 1 {
			t.Errorf("mail %d sent %d times, want once", i, n)
		}
		if r := outbox.row(id); r.sentCalls != 1 || r.mail.Attempts != 1 {
			t.Errorf("mail %d: recorded sent %d times with %d attempts, want 1 and 1", i, r.sentCalls, r.mail.Attempts)
		}
	}
	if got, want := m.Stats(), (actors.MailerStats{Sent: mails}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// A mail whose first two sends fail is retried after the back-off, and
// delivered once.
func TestMailerRetriesAfterBackoff(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.failNext(2, errTemporary)
	id := outbox.add(t, testMail(1), 0)
	cfg := fastMailerConfig()
	m := startMailer(t, outbox, sender, cfg)
	waitFor(t, "the mail recorded sent", func() bool { return outbox.row(id).status == mailSent })
	waitClaims(t, outbox, 2)

	sends, r := sender.records(), outbox.row(id)
	if len(sends) != 3 || sends[0].err == nil || sends[1].err == nil || sends[2].err != nil {
		t.Fatalf("sends %+v, want two failures then a success", sends)
	}
	if r.mail.Attempts != 3 || len(r.failures) != 2 || r.sentCalls != 1 {
		t.Fatalf("outbox row: %d attempts, %d failures, sent %d times; want 3, 2, 1", r.mail.Attempts, len(r.failures), r.sentCalls)
	}
	for i, f := range r.failures {
		retry := i + 1
		if f.reason != errTemporary.Error() {
			t.Errorf("failure %d reason %q, want the send error", retry, f.reason)
		}
		// next = (a time after the send started) + Delay(retry, jitter),
		// recorded after that time was taken.
		if lo := cfg.Backoff.Delay(retry, 0); f.next.Sub(sends[i].start) < lo {
			t.Errorf("retry %d due %v after its send, want at least %v", retry, f.next.Sub(sends[i].start), lo)
		}
		if hi := cfg.Backoff.Delay(retry, 1); f.next.Sub(f.at) > hi {
			t.Errorf("retry %d due %v after it was recorded, want at most %v", retry, f.next.Sub(f.at), hi)
		}
		if sends[i+1].start.Before(f.next) {
			t.Errorf("send %d started %v before it was due", i+2, f.next.Sub(sends[i+1].start))
		}
	}
	if got, want := m.Stats(), (actors.MailerStats{Sent: 1, Failed: 2}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// A mail that fails every time is dead-lettered after exactly AttemptsMax
// sends, once, and not sent again.
func TestMailerDeadLettersAfterAttemptsMax(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.failNext(-1, errTemporary)
	id := outbox.add(t, testMail(1), 0)
	cfg := fastMailerConfig()
	m := startMailer(t, outbox, sender, cfg)
	waitFor(t, "the mail dead", func() bool { return outbox.row(id).status == mailDead })
	waitClaims(t, outbox, 3)

	if n := len(sender.records()); n != cfg.AttemptsMax {
		t.Errorf("%d sends, want AttemptsMax = %d", n, cfg.AttemptsMax)
	}
	r := outbox.row(id)
	if r.deadCalls != 1 || len(r.failures) != cfg.AttemptsMax-1 || r.mail.Attempts != cfg.AttemptsMax {
		t.Errorf("outbox row: MailDead %d times, %d failures, %d attempts; want 1, %d, %d",
			r.deadCalls, len(r.failures), r.mail.Attempts, cfg.AttemptsMax-1, cfg.AttemptsMax)
	}
	if got, want := m.Stats(), (actors.MailerStats{Failed: uint64(cfg.AttemptsMax - 1), Dead: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// A permanent rejection dead-letters the mail after one send.
func TestMailerPermanentErrorDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.failNext(-1, fmt.Errorf("rcpt: %w", errRejected))
	id := outbox.add(t, testMail(1), 0)
	cfg := fastMailerConfig()
	cfg.AttemptsMax = 5
	cfg.Permanent = func(err error) bool { return errors.Is(err, errRejected) }
	m := startMailer(t, outbox, sender, cfg)
	waitFor(t, "the mail dead", func() bool { return outbox.row(id).status == mailDead })
	waitClaims(t, outbox, 2)

	if n := len(sender.records()); n != 1 {
		t.Errorf("%d sends, want 1", n)
	}
	if r := outbox.row(id); r.deadCalls != 1 || len(r.failures) != 0 {
		t.Errorf("MailDead %d times after %d failures, want once after none", r.deadCalls, len(r.failures))
	}
	if got, want := m.Stats(), (actors.MailerStats{Dead: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// While a drain is blocked in a send, pokes and ticks start no second
// drain; once released, every mail is sent once.
func TestMailerSendsOnceWhileTicksArriveDuringADrain(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.block(false)
	const mails = 3
	for i := range mails {
		outbox.add(t, testMail(i), 0)
	}
	cfg := fastMailerConfig()
	m := startMailer(t, outbox, sender, cfg)
	waitFor(t, "the first send blocked", func() bool { return sender.started() == 1 })
	for range 5 {
		m.Poke()
	}
	ticksFrom := time.Now()
	waitFor(t, "five poll intervals to pass", func() bool { return time.Since(ticksFrom) > 5*cfg.PollInterval })
	if n := outbox.claimCount(); n != 1 {
		t.Errorf("%d outbox claims while the first drain was blocked, want 1", n)
	}
	sender.release()
	waitFor(t, "every mail recorded sent", func() bool { return outbox.countStatus(mailSent) == mails })
	waitClaims(t, outbox, 3)

	for key, n := range sender.perKey() {
		if n != 1 {
			t.Errorf("mail %s sent %d times, want once", key, n)
		}
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if len(sender.sends) != mails || sender.inflightMax != 1 {
		t.Errorf("%d sends, at most %d at once; want %d, one at a time", len(sender.sends), sender.inflightMax, mails)
	}
}

// Stop cancels the context of a send in progress and returns once it
// ended; the mail stays in the outbox.
func TestMailerStopCancelsABlockedSend(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.block(false)
	id := outbox.add(t, testMail(1), 0)
	m := startMailer(t, outbox, sender, fastMailerConfig())
	waitFor(t, "the send blocked", func() bool { return sender.started() == 1 })

	if err := m.stop(testCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	sends := sender.records()
	if len(sends) != 1 || !errors.Is(sends[0].ctxErr, context.Canceled) {
		t.Fatalf("sends %+v, want one whose context Stop cancelled", sends)
	}
	if r := outbox.row(id); r.status != mailPending || r.lockedUntil.After(time.Now()) {
		t.Errorf("mail %s, leased until %v; want pending and free for the next start", r.status, r.lockedUntil)
	}
}

// A send cut short by Stop is not the mail's last attempt: a mail on its
// final attempt stays in the outbox instead of being dead-lettered.
func TestMailerStopDoesNotDeadLetterALastAttempt(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.block(false)
	cfg := fastMailerConfig()
	id := outbox.add(t, testMail(1), cfg.AttemptsMax-1)
	m := startMailer(t, outbox, sender, cfg)
	waitFor(t, "the send blocked", func() bool { return sender.started() == 1 })

	if err := m.stop(testCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r := outbox.row(id)
	if r.status != mailPending || r.deadCalls != 0 {
		t.Errorf("mail %s after %d MailDead calls; want pending: a stop is not a delivery failure", r.status, r.deadCalls)
	}
	if len(r.failures) == 1 && r.failures[0].next.After(r.failures[0].at) {
		t.Errorf("interrupted mail due again in %v, want at once", r.failures[0].next.Sub(r.failures[0].at))
	}
	if s := m.Stats(); s.Dead != 0 {
		t.Errorf("Stats = %+v, want no dead mail", s)
	}
}

// Stop waits for a send that ignores its context only as long as its own
// context allows.
func TestMailerStopGivesUpAtItsDeadline(t *testing.T) {
	t.Parallel()
	outbox, sender := newMemOutbox(), &scriptSender{}
	sender.block(true)
	id := outbox.add(t, testMail(1), 0)
	m := startMailer(t, outbox, sender, fastMailerConfig())
	waitFor(t, "the send blocked", func() bool { return sender.started() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a stuck send = %v, want the deadline", err)
	}
	sender.release()
	waitFor(t, "the released send recorded", func() bool { return outbox.row(id).status == mailSent })
}

func TestMailerConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (actors.MailerConfig{}).Validate(); err != nil {
		t.Errorf("zero config (defaults) = %v", err)
	}
	if err := fastMailerConfig().Validate(); err != nil {
		t.Errorf("test config = %v", err)
	}
	for name, c := range map[string]actors.MailerConfig{
		"lease shorter than a batch of sends and records": {BatchMax: 10, SendTimeout: time.Second, Lease: 19 * time.Second},
		"batch":                  {BatchMax: 1001},
		"attempts":               {AttemptsMax: 101},
		"negative poll":          {PollInterval: -time.Second},
		"backoff max under base": {Backoff: engine.Backoff{Base: time.Second, Max: time.Millisecond}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	if _, err := actors.StartMailer(newSystem(t), newMemOutbox(), &scriptSender{},
		actors.MailerConfig{BatchMax: 10, SendTimeout: time.Second, Lease: time.Second}, zerolog.Nop()); err == nil {
		t.Error("StartMailer accepted a lease shorter than a batch of sends")
	}
	if _, err := actors.StartMailer(newSystem(t), nil, &scriptSender{}, actors.MailerConfig{}, zerolog.Nop()); err == nil {
		t.Error("StartMailer accepted no outbox")
	}
}

// In development mails go to the log (smtpmail.LogSender): each mail makes
// exactly one line at info, the sender's, which says it was not sent; the
// mailer adds no "mail sent" of its own.
func TestMailerLeavesTheLineToALoggingSender(t *testing.T) {
	t.Parallel()
	var logs testenv.SyncBuffer
	log := zerolog.New(&logs).Level(zerolog.InfoLevel)
	outbox := newMemOutbox()
	const mails = 3
	for i := range mails {
		outbox.add(t, testMail(i), 0)
	}
	m, err := actors.StartMailer(newSystem(t), outbox, smtpmail.NewLogSender(log), fastMailerConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(testCtx(t)); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	waitFor(t, "every mail recorded delivered", func() bool { return outbox.countStatus(mailSent) == mails })
	waitClaims(t, outbox, 2) // the drain that delivered them has ended: its lines are written
	for i := range mails {
		key := testMail(i).Key
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if strings.Contains(line, `"`+key+`"`) {
				lines = append(lines, line)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], "not sent") {
			t.Errorf("mail %s: %d log lines, want one that says it was not sent:\n%s", key, len(lines), strings.Join(lines, "\n"))
		}
	}
}
