package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/persist"
	"github.com/flashstock/flashstock/usecase"
)

// core is the running engine: the hollywood system, the SKU actors, the
// use cases over them (orders, payments, the catalogue), the mailer, the scheduler, the
// dead-letter recorder, the repair loop and the idempotency-key purge.
type core struct {
	system      *actor.Engine
	inv         *actors.Inventory
	orders      *usecase.Orders
	payments    *usecase.Payments
	catalogue   *usecase.Catalogue
	deadLetters *actors.DeadLetters
	mailer      *actors.Mailer
	scheduler   *actors.Scheduler
	recorder    *actors.DeadLetterRecorder
	gauges      *usecase.GaugeBoard
	stopRepair  context.CancelFunc
	repairDone  chan struct{}
}

// observer is what cmd's metrics observe of the actors and the use cases.
type observer interface {
	actors.Observer
	usecase.Observer
}

// startCore starts the actors over the store, the use cases over the
// actors' inventory (their Stock), and the repair loop, which returns units
// left held by a crash (at once, then periodically).
func startCore(c config, d *deps, obs observer, log zerolog.Logger) (*core, error) {
	// hollywood logs through the default slog logger: route it into ours.
	slog.SetDefault(slog.New(zerolog.NewSlogHandler(log.With().Str("component", "hollywood").Logger())))
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		return nil, fmt.Errorf("actor system: %w", err)
	}
	store := d.store
	k := &core{system: system, gauges: &usecase.GaugeBoard{}, repairDone: make(chan struct{})}
	// The recorder first, so that it sees every undeliverable message.
	if k.recorder, err = actors.StartDeadLetterRecorder(system, store, obs, log); err != nil {
		return nil, err
	}
	ac := c.actorsConfig()
	ac.Observer = obs
	if k.inv, err = actors.NewInventory(system, store, ac, log); err != nil {
		return nil, err
	}
	uc := c.usecaseConfig()
	uc.Observer = obs
	if k.orders, err = usecase.NewOrders(k.inv, store, uc, log); err != nil {
		return nil, err
	}
	if k.payments, err = usecase.NewPayments(k.inv, store, uc, log); err != nil {
		return nil, err
	}
	if k.catalogue, err = usecase.NewCatalogue(store, k.inv, k.inv); err != nil {
		return nil, err
	}
	sender, permanent, err := newMailSender(c, log)
	if err != nil {
		return nil, err
	}
	mc := c.mailerConfig()
	mc.Permanent, mc.Observer = permanent, obs
	if k.mailer, err = actors.StartMailer(system, store, sender, mc, log); err != nil {
		return nil, err
	}
	runner, err := newTaskRunner(c, d, k.orders, k.gauges, obs, log)
	if err != nil {
		return nil, err
	}
	if k.deadLetters, err = actors.NewDeadLetters(store, runner, true, log); err != nil {
		return nil, err
	}
	if k.scheduler, err = actors.StartScheduler(system, runner, 0); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.stopRepair = cancel
	var wg sync.WaitGroup
	wg.Go(func() { k.orders.RunRepair(ctx, store) })
	wg.Go(func() { purgeIdempotencyLoop(ctx, store, log) })
	go func() { wg.Wait(); close(k.repairDone) }()
	return k, nil
}

// Purging expired Idempotency-Key records (kept 24 h).
const (
	idempotencyPurgeInterval = time.Hour
	idempotencyPurgeBatch    = 10_000
)

// purgeIdempotencyLoop deletes expired idempotency records at start and
// then hourly, in bounded batches, until ctx ends.
func purgeIdempotencyLoop(ctx context.Context, store *persist.Store, log zerolog.Logger) {
	t := time.NewTicker(idempotencyPurgeInterval)
	defer t.Stop()
	for {
		for {
			n, err := store.PurgeIdempotent(ctx, time.Now(), idempotencyPurgeBatch)
			if err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Msg("purging expired idempotency keys failed")
			}
			if err != nil || n < idempotencyPurgeBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop ends the scheduler, the mailer and the repair loop, then stops every
// actor after its queued work, within ctx.
func (k *core) stop(ctx context.Context) error {
	errs := []error{k.deadLetters.Close(ctx), k.scheduler.Stop(ctx), k.mailer.Stop(ctx)}
	k.stopRepair()
	<-k.repairDone
	errs = append(errs, k.inv.Close(ctx), k.recorder.Stop(ctx))
	return errors.Join(errs...)
}
