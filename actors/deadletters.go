package actors

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// DeadLetterRecorder stores every message hollywood could not deliver
// (actor.DeadLetterEvent on the event stream: a message to a stopped or
// unknown actor) as a dead letter of source actor, for inspection. They
// cannot be retried: the caller of such a message has already been failed
// (every request here has a deadline), and re-sending it could act twice.
//
// Protocol of the recorder actor (one per process): it subscribes to the
// event stream at Started and handles actor.DeadLetterEvent (every other
// event is ignored). Writes are bounded to recordsPerMinuteMax; beyond it,
// dead letters are counted and logged, not stored, so that a storm cannot
// flood the database.
type DeadLetterRecorder struct {
	system *actor.Engine
	pid    *actor.PID
}

// Dead-letter recording bounds.
const (
	recordsPerMinuteMax   = 100
	recordTimeout         = 2 * time.Second
	deadMessageBytesMax   = 4096
	deadLetterRetryAllMax = 1000
)

// StartDeadLetterRecorder spawns the recorder over store;
// obs (nil = NopObserver) counts each one recorded.
func StartDeadLetterRecorder(system *actor.Engine, store DeadLetterStore, obs Observer, log zerolog.Logger) (*DeadLetterRecorder, error) {
	if system == nil || store == nil {
		return nil, errors.New("actors: StartDeadLetterRecorder needs a system and a store")
	}
	orDefault(&obs, Observer(NopObserver{}))
	a := &recorderActor{store: store, obs: obs, log: log.With().Str("component", "dead_letters").Logger()}
	r := &DeadLetterRecorder{system: system}
	r.pid = system.Spawn(func() actor.Receiver { return a }, "deadletters", actor.WithID("deadletters"))
	return r, nil
}

// Stop unsubscribes the recorder and stops it after what it has queued.
func (r *DeadLetterRecorder) Stop(ctx context.Context) error {
	r.system.Unsubscribe(r.pid)
	<-r.system.PoisonCtx(ctx, r.pid).Done()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("actors: stopping the dead-letter recorder: %w", err)
	}
	return nil
}

type recorderActor struct {
	store DeadLetterStore
	obs   Observer
	log   zerolog.Logger

	windowStart time.Time // start of the current minute of recording
	recorded    int       // stored in the current minute
	skipped     int       // not stored in the current minute
}

// Receive handles one message; see the protocol on DeadLetterRecorder.
func (a *recorderActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		c.Engine().Subscribe(c.PID())
	case actor.DeadLetterEvent:
		a.record(m, time.Now())
	}
}

func (a *recorderActor) record(ev actor.DeadLetterEvent, now time.Time) {
	if now.Sub(a.windowStart) >= time.Minute {
		if a.skipped > 0 {
			a.log.Error().Int("skipped", a.skipped).Int("recorded", a.recorded).Msg("dead letters over the recording bound were not stored")
		}
		a.windowStart, a.recorded, a.skipped = now, 0, 0
	}
	if a.recorded >= recordsPerMinuteMax {
		a.skipped++
		return
	}
	a.recorded++
	d := actorDeadLetter(ev, now)
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := a.store.AddDeadLetter(ctx, d); err != nil {
		a.log.Error().Err(err).Str("kind", d.Kind).Str("target", d.Ref).Msg("recording a dead letter failed")
		return
	}
	a.obs.DeadLetter(engine.DeadActor)
	a.log.Warn().Str("dead_letter_id", d.ID.String()).Str("kind", d.Kind).Str("target", d.Ref).Msg("undeliverable actor message recorded")
}

// actorDeadLetter describes an undelivered message.
func actorDeadLetter(ev actor.DeadLetterEvent, now time.Time) engine.DeadLetter {
	target, sender := "", ""
	if ev.Target != nil {
		target = ev.Target.String()
	}
	if ev.Sender != nil {
		sender = ev.Sender.String()
	}
	kind := fmt.Sprintf("%T", ev.Message)
	payload, _ := json.Marshal(map[string]string{"type": kind, "target": target, "sender": sender,
		"message": truncate(fmt.Sprintf("%+v", ev.Message), deadMessageBytesMax)})
	id, err := engine.NewID(now, cryptorand.Reader)
	if err != nil {
		id = engine.FirstIDAt(now)
	}
	return engine.DeadLetter{ID: id, Source: engine.DeadActor, Kind: kind, Ref: target, Payload: payload,
		Error: "no live actor to deliver to", Attempts: 1, Status: engine.DeadLetterDead, CreatedAt: now}
}

// DeadLetters lists and retries dead letters; it satisfies httpd's
// DeadLetters port and backs `flashstock dlq`. A retry is recorded on the
// dead letter (when, by whom) and happens once: a mail goes back to the
// outbox with fresh attempts (the mailer sends it; its key keeps it from
// being sent twice), a task run is run again under its run key (a key done
// meanwhile is not run again). A retry that fails again makes a new dead
// letter.
type DeadLetters struct {
	store  DeadLetterStore
	runner *TaskRunner // nil = task dead letters cannot be retried here
	// background runs task retries on their own goroutine (the server);
	// otherwise RetryDeadLetter waits for the run (the CLI).
	background bool
	log        zerolog.Logger

	bgCtx    context.Context // ends at Close
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // background task retries
	bgSlots  chan struct{}  // bounds the background retries running at once
}

// backgroundRetriesMax bounds the task retries the server runs at once.
const backgroundRetriesMax = 4

// NewDeadLetters builds the service; runner may be nil.
func NewDeadLetters(store DeadLetterStore, runner *TaskRunner, background bool, log zerolog.Logger) (*DeadLetters, error) {
	if store == nil {
		return nil, errors.New("actors: NewDeadLetters needs a store")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &DeadLetters{store: store, runner: runner, background: background, log: log,
		bgCtx: ctx, bgCancel: cancel, bgSlots: make(chan struct{}, backgroundRetriesMax)}, nil
}

// Close cancels the background task retries and waits for them until ctx
// ends (a cancelled run is recorded failed and can be retried again).
func (d *DeadLetters) Close(ctx context.Context) error {
	d.bgCancel()
	if err := waitGroupCtx(ctx, &d.bg); err != nil {
		return fmt.Errorf("actors: stopping dead-letter retries: %w", err)
	}
	return nil
}

// DeadLetters returns one page, newest first.
func (d *DeadLetters) DeadLetters(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
	return d.store.DeadLetters(ctx, q)
}

// RetryDeadLetter retries one dead letter on behalf of by.
// engine.ErrNotFound, or engine.ErrConflict when it was retried already or
// cannot be retried.
func (d *DeadLetters) RetryDeadLetter(ctx context.Context, id engine.ID, by string) (engine.DeadLetter, error) {
	cur, err := d.store.DeadLetter(ctx, id)
	if err != nil {
		return engine.DeadLetter{}, err
	}
	if cur.Source == engine.DeadTask && d.runner == nil {
		return engine.DeadLetter{}, fmt.Errorf("%w: task dead letters are retried by a running flashstock", engine.ErrUnavailable)
	}
	var p taskPayload
	if cur.Source == engine.DeadTask {
		if err := json.Unmarshal(cur.Payload, &p); err != nil || p.Task == "" || p.RunKey == "" {
			return engine.DeadLetter{}, fmt.Errorf("%w: dead letter %s has no task to run", engine.ErrConflict, id)
		}
	}
	dl, err := d.store.RetryDeadLetter(ctx, id, by, time.Now().UTC())
	if err != nil {
		return engine.DeadLetter{}, err
	}
	d.log.Info().Str("dead_letter_id", id.String()).Str("source", string(dl.Source)).Str("kind", dl.Kind).
		Str("by", by).Msg("dead letter retried")
	if dl.Source != engine.DeadTask {
		return dl, nil
	}
	run := func(ctx context.Context) error {
		_, err := d.runner.Run(ctx, p.Task, p.RunKey, p.Slot)
		return err
	}
	if d.background {
		d.bg.Go(func() {
			select {
			case d.bgSlots <- struct{}{}:
				defer func() { <-d.bgSlots }()
			case <-d.bgCtx.Done():
				return
			}
			if err := run(d.bgCtx); err != nil && !errors.Is(err, ErrRunSkipped) {
				d.log.Warn().Err(err).Str("dead_letter_id", id.String()).Msg("retried task failed again")
			}
		})
		return dl, nil
	}
	if err := run(ctx); err != nil && !errors.Is(err, ErrRunSkipped) {
		return dl, fmt.Errorf("retried task %s: %w", p.RunKey, err)
	}
	return dl, nil
}

// RetryDeadLetters retries up to max retryable dead letters in status dead,
// newest first, and reports each outcome; More says whether others wait.
func (d *DeadLetters) RetryDeadLetters(ctx context.Context, by string, max int) (engine.RetrySummary, error) {
	if max < 1 || max > deadLetterRetryAllMax {
		return engine.RetrySummary{}, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", deadLetterRetryAllMax))
	}
	page, err := d.store.DeadLetters(ctx, engine.DeadLetterQuery{Status: engine.DeadLetterDead, RetryableOnly: true, Limit: max + 1})
	if err != nil {
		return engine.RetrySummary{}, err
	}
	var s engine.RetrySummary
	if len(page) > max {
		page, s.More = page[:max], true
	}
	for _, dl := range page {
		if _, err := d.RetryDeadLetter(ctx, dl.ID, by); err != nil {
			s.Failed = append(s.Failed, engine.RetryFailure{ID: dl.ID, Error: err.Error()})
			continue
		}
		s.Retried = append(s.Retried, dl.ID)
	}
	return s, nil
}
