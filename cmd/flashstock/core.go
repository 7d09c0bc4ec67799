package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// core is the running inventory: the hollywood system, the SKU actors, the
// order coordinator, its repair loop and the idempotency-key purge.
type core struct {
	system     *actor.Engine
	inv        *actors.Inventory
	orders     *actors.Orders
	stopRepair context.CancelFunc
	repairDone chan struct{}
}

// startCore starts the actors over the store and the repair loop, which
// returns units left held by a crash (at once, then periodically).
func startCore(c config, store *persist.Store, log zerolog.Logger) (*core, error) {
	// hollywood logs through the default slog logger: route it into ours.
	slog.SetDefault(slog.New(zerolog.NewSlogHandler(log.With().Str("component", "hollywood").Logger())))
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		return nil, fmt.Errorf("actor system: %w", err)
	}
	inv, err := actors.NewInventory(system, store, c.actorsConfig(), log)
	if err != nil {
		return nil, err
	}
	orders, err := actors.NewOrders(inv, store, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &core{system: system, inv: inv, orders: orders, stopRepair: cancel, repairDone: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { orders.RunRepair(ctx, store) })
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

// stop ends the repair loop and stops every actor after its queued work,
// within ctx.
func (k *core) stop(ctx context.Context) error {
	k.stopRepair()
	<-k.repairDone
	return k.inv.Close(ctx)
}

// catalogue is the httpd Products port: reads and creation from the store,
// every change of an existing product through its SKU actor (the only
// writer of its stock).
type catalogue struct {
	*persist.Store
	inv *actors.Inventory
}

// UpdateProduct goes through the product's actor.
func (c catalogue) UpdateProduct(ctx context.Context, id engine.ID,
	change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	return c.inv.UpdateProduct(ctx, id, change)
}
