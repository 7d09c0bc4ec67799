package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Mailer sends the mails of the transactional outbox. The transaction that
// causes a mail inserts it in the outbox (persist), so nothing is sent
// before that commit; the mailer then delivers it at least once, and
// records it sent only after the SMTP server accepted it.
//
// Protocol of the mailer actor (one per process):
//
//	mailTick   every PollInterval (SendRepeat), and on Poke: start a drain
//	           unless one is running (then remember to drain again after it).
//	drainDone  from the drain goroutine: the drain ended; if it found a full
//	           batch or a poke came meanwhile, start another at once.
//	mailerStop from Stop: cancel the running drain, start no other.
//
// A drain runs on its own goroutine, so that SMTP round trips never block
// the inbox: it claims due mails from the outbox (leased, so that another
// node's mailer does not send them meanwhile), sends them one by one and
// records each outcome — sent; failed, retried after an exponential
// back-off with jitter; or, after the last attempt (or a permanent
// rejection), dead: moved to the dead letters for an operator to retry.
//
// Mails are idempotent per key (kind and subject, e.g. the order): the
// outbox holds one row per key, and the key is the Message-ID, so a mail
// sent again after a crash between the send and its record reads as one
// to the receiver.
type Mailer struct {
	system *actor.Engine
	pid    *actor.PID
	repeat actor.SendRepeater
	stats  mailerStats
	done   sync.WaitGroup // running drains
}

// MailerConfig tunes the mailer. Zero fields take the defaults below.
type MailerConfig struct {
	PollInterval time.Duration  // how often the outbox is looked at
	BatchMax     int            // mails claimed per drain round
	Lease        time.Duration  // how long a claimed mail is ours to send
	AttemptsMax  int            // deliveries tried before a mail is dead
	Backoff      engine.Backoff // wait before retry n
	SendTimeout  time.Duration  // bound on one delivery
	// Permanent reports whether a send error is a permanent rejection
	// (retrying cannot help): the mail is dead-lettered at once. Nil =
	// every error is temporary.
	Permanent func(error) bool
	// Observer receives delivery results; nil = NopObserver.
	Observer Observer
}

// Mailer defaults.
const (
	MailPollIntervalDefault = time.Second
	MailBatchMaxDefault     = 20
	MailLeaseDefault        = 10 * time.Minute
	MailAttemptsMaxDefault  = 8
	MailBackoffBaseDefault  = 5 * time.Second
	MailBackoffMaxDefault   = 30 * time.Minute
	MailSendTimeoutDefault  = 15 * time.Second
	mailErrorBytesMax       = 2000
)

func (c MailerConfig) withDefaults() MailerConfig {
	orDefault(&c.PollInterval, MailPollIntervalDefault)
	orDefault(&c.Lease, MailLeaseDefault)
	orDefault(&c.Backoff.Base, MailBackoffBaseDefault)
	orDefault(&c.Backoff.Max, MailBackoffMaxDefault)
	orDefault(&c.SendTimeout, MailSendTimeoutDefault)
	orDefault(&c.BatchMax, MailBatchMaxDefault)
	orDefault(&c.AttemptsMax, MailAttemptsMaxDefault)
	orDefault(&c.Observer, Observer(NopObserver{}))
	return c
}

// Validate reports unusable settings, after defaults.
func (c MailerConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.PollInterval <= 0 || c.Lease <= 0 || c.SendTimeout <= 0 || c.Backoff.Base <= 0 || c.Backoff.Max < c.Backoff.Base {
		errs = append(errs, errors.New("durations must be positive, and the back-off maximum at least its base"))
	}
	if c.BatchMax < 1 || c.BatchMax > 1000 {
		errs = append(errs, errors.New("batch: must be between 1 and 1000"))
	}
	if c.AttemptsMax < 1 || c.AttemptsMax > 100 {
		errs = append(errs, errors.New("attempts: must be between 1 and 100"))
	}
	// Each mail of a batch takes up to a send and a record (each bounded by
	// SendTimeout); past the lease another node may claim and send it too.
	if 2*time.Duration(c.BatchMax)*c.SendTimeout > c.Lease {
		errs = append(errs, fmt.Errorf("lease %s must cover a batch of %d sends and records of up to %s each", c.Lease, c.BatchMax, c.SendTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mailer config: %w", err)
	}
	return nil
}

// MailerStats counts what the mailer did since it started.
type MailerStats struct {
	Sent   uint64 // mails delivered
	Failed uint64 // failed attempts that will be retried
	Dead   uint64 // mails dead-lettered
}

type mailerStats struct {
	mu sync.Mutex
	MailerStats
}

// mailTick asks the mailer to look at the outbox.
type mailTick struct{}

// mailerStop ends the running drain and starts no other; ack is closed
// once done.
type mailerStop struct{ ack chan<- struct{} }

// drainDone says a drain ended; full is true when it claimed a full batch
// (more may be due).
type drainDone struct{ full bool }

// StartMailer spawns the mailer actor, which polls outbox every
// PollInterval and sends through sender. Stop ends it.
func StartMailer(system *actor.Engine, outbox Outbox, sender MailSender, cfg MailerConfig, log zerolog.Logger) (*Mailer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if system == nil || outbox == nil || sender == nil {
		return nil, errors.New("actors: StartMailer needs a system, an outbox and a sender")
	}
	m := &Mailer{system: system}
	a := &mailerActor{m: m, outbox: outbox, sender: sender, cfg: cfg, log: log.With().Str("component", "mailer").Logger()}
	m.pid = system.Spawn(func() actor.Receiver { return a }, "mailer", actor.WithID("mailer"))
	m.repeat = system.SendRepeat(m.pid, mailTick{}, cfg.PollInterval)
	system.Send(m.pid, mailTick{})
	return m, nil
}

// Poke makes the mailer look at the outbox now (after a commit that queued
// mail), instead of at the next poll.
func (m *Mailer) Poke() { m.system.Send(m.pid, mailTick{}) }

// Stats returns what the mailer did so far.
func (m *Mailer) Stats() MailerStats {
	m.stats.mu.Lock()
	defer m.stats.mu.Unlock()
	return m.stats.MailerStats
}

// Stop stops polling, cancels a running drain (its current send's context
// ends) and waits for it, then stops the actor, all until ctx ends. Mails
// not sent stay in the outbox for the next start or another node. Call it
// once.
func (m *Mailer) Stop(ctx context.Context) error {
	stop := func(ack chan<- struct{}) any { return mailerStop{ack: ack} }
	if err := stopWorker(ctx, m.system, m.pid, m.repeat, stop, &m.done); err != nil {
		return fmt.Errorf("actors: stopping the mailer: %w", err)
	}
	return nil
}

// stopWorker stops an actor that runs its work on goroutines (the mailer,
// the scheduler): no more ticks; then the message stop makes returns tells
// it to cancel its work and start no more, and the actor closes ack once it
// has (so every goroutine it started is counted in work by then); then
// work is waited for, and only then is the actor stopped, so that the
// goroutines' last messages find it alive (a message to a stopped actor is
// a dead letter). Everything waits until ctx ends.
func stopWorker(ctx context.Context, system *actor.Engine, pid *actor.PID, repeat actor.SendRepeater,
	stop func(ack chan<- struct{}) any, work *sync.WaitGroup) error {
	repeat.Stop()
	ack := make(chan struct{})
	system.Send(pid, stop(ack))
	select {
	case <-ack:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := waitGroupCtx(ctx, work); err != nil {
		return err
	}
	<-system.PoisonCtx(ctx, pid).Done()
	return ctx.Err()
}

// waitGroupCtx waits for wg until ctx ends.
func waitGroupCtx(ctx context.Context, wg *sync.WaitGroup) error {
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mailerActor is the mailer's state, owned by its actor.
type mailerActor struct {
	m      *Mailer
	outbox Outbox
	sender MailSender
	cfg    MailerConfig
	log    zerolog.Logger

	draining bool               // a drain goroutine runs
	again    bool               // a tick came while it ran
	stopped  bool               // mailerStop came: no more drains
	cancel   context.CancelFunc // ends the running drain
}

// Receive handles one message; see the protocol on Mailer.
func (a *mailerActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case mailTick:
		if a.draining || a.stopped {
			a.again = true
			return
		}
		a.startDrain(c)
	case drainDone:
		a.draining = false
		if (msg.full || a.again) && !a.stopped {
			a.again = false
			a.startDrain(c)
		}
	case mailerStop:
		a.stop()
		close(msg.ack)
	case actor.Stopped:
		a.stop()
	}
}

// stop cancels the running drain and starts no other.
func (a *mailerActor) stop() {
	a.stopped = true
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *mailerActor) startDrain(c *actor.Context) {
	a.draining = true
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	self, system := c.PID(), c.Engine()
	a.m.done.Add(1)
	go func() {
		defer a.m.done.Done()
		defer cancel()
		full := a.drain(ctx)
		system.Send(self, drainDone{full: full})
	}()
}

// drain claims one batch of due mails and sends them; it reports whether
// the batch was full.
func (a *mailerActor) drain(ctx context.Context) bool {
	now := time.Now()
	mails, err := a.outbox.DueMails(ctx, now, a.cfg.Lease, a.cfg.BatchMax)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn().Err(err).Msg("reading the outbox failed; will try again")
		}
		return false
	}
	for _, om := range mails {
		if ctx.Err() != nil {
			return false // the lease runs out and the mail is claimed again
		}
		a.deliver(ctx, om)
	}
	return len(mails) == a.cfg.BatchMax
}

// deliver sends one mail and records the outcome.
func (a *mailerActor) deliver(ctx context.Context, om engine.OutboxMail) {
	sctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	err := a.sender.Send(sctx, om.Mail)
	cancel()
	now := time.Now()
	attempt := om.Attempts + 1
	log := a.log.With().Str("mail_id", om.ID.String()).Str("kind", string(om.Mail.Kind)).
		Str("key", om.Mail.Key).Int("attempt", attempt).Logger()
	// Records use their own deadline: a stop must not leave a sent mail
	// unrecorded for lack of time.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.SendTimeout)
	defer rcancel()
	if err == nil {
		if rerr := a.outbox.MailSent(rctx, om.ID, now); rerr != nil {
			log.Error().Err(rerr).Msg("mail sent but not recorded; it will be sent again (same Message-ID)")
			return
		}
		a.count(func(s *MailerStats) { s.Sent++ })
		a.cfg.Observer.MailAttempt(MailResultSent)
		if ml, ok := a.sender.(mailLogger); ok && ml.LogsInsteadOfSending() {
			log.Debug().Msg("mail recorded as delivered (written to the log, not sent)")
		} else {
			log.Info().Msg("mail sent")
		}
		return
	}
	reason := truncate(err.Error(), mailErrorBytesMax)
	permanent := a.cfg.Permanent != nil && a.cfg.Permanent(err)
	// A send cut short by Stop is not the mail's fault: it is never the
	// last attempt, and the mail stays in the outbox, due at once for the
	// next start or another node.
	stopping := ctx.Err() != nil
	if !stopping && (attempt >= a.cfg.AttemptsMax || permanent) {
		dl, rerr := a.outbox.MailDead(rctx, om.ID, reason, now)
		if rerr != nil {
			log.Error().Err(rerr).AnErr("send_error", err).Msg("recording a dead mail failed; it will be tried again")
			return
		}
		a.count(func(s *MailerStats) { s.Dead++ })
		a.cfg.Observer.MailAttempt(MailResultDead)
		a.cfg.Observer.DeadLetter(engine.DeadMail)
		log.Error().Err(err).Bool("permanent", permanent).Str("dead_letter_id", dl.String()).Msg("mail dead-lettered")
		return
	}
	next := now.Add(a.cfg.Backoff.Delay(attempt, rand.Float64()))
	if stopping {
		next = now
	}
	if rerr := a.outbox.MailFailed(rctx, om.ID, reason, next); rerr != nil {
		log.Error().Err(rerr).AnErr("send_error", err).Msg("recording a failed send failed; the lease will expire and it will be retried")
		return
	}
	a.count(func(s *MailerStats) { s.Failed++ })
	a.cfg.Observer.MailAttempt(MailResultRetry)
	log.Warn().Err(err).Time("next_attempt_at", next).Msg("mail not sent; will retry")
}

func (a *mailerActor) count(f func(*MailerStats)) {
	a.m.stats.mu.Lock()
	f(&a.m.stats.MailerStats)
	a.m.stats.mu.Unlock()
}

// truncate cuts s to at most n bytes of valid UTF-8 (PostgreSQL refuses
// invalid text).
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
