package usecase

import (
	"context"
	"fmt"
	"time"
)

// repairBatchMax bounds the holds one repair pass releases.
const repairBatchMax = 1000

// Repair releases holds left behind once: assembling holds older than
// HoldTimeout (abandoned orders) and returning holds older than
// ReleaseTimeout (lost releases). It returns how many it released.
func (o *Orders) Repair(ctx context.Context, holds HoldStore, now time.Time) (int, error) {
	stale, err := holds.StaleHolds(ctx, now.Add(-o.cfg.HoldTimeout), now.Add(-o.cfg.ReleaseTimeout), repairBatchMax)
	if err != nil {
		return 0, fmt.Errorf("repair: %w", err)
	}
	var released int
	for _, h := range stale {
		if err := o.stock.Release(ctx, h.OrderID, h.ProductID); err != nil {
			return released, fmt.Errorf("repair: release order %s product %s: %w", h.OrderID, h.ProductID, err)
		}
		released++
	}
	return released, nil
}

// RunRepair runs Repair at once and then every RepairInterval until ctx
// ends: the automatic repair, after a crash, of orders interrupted between
// taking and writing or returning their units.
func (o *Orders) RunRepair(ctx context.Context, holds HoldStore) {
	t := time.NewTicker(o.cfg.RepairInterval)
	defer t.Stop()
	for {
		pass, cancel := context.WithTimeout(ctx, o.cfg.RepairInterval)
		n, err := o.Repair(pass, holds, time.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			o.log.Warn().Err(err).Int("released", n).Msg("repair pass failed")
		case n > 0:
			o.log.Info().Int("released", n).Msg("repair released held units")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
