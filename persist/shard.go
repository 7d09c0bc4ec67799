package persist

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Shard ownership (migration 0007): one row per shard with its epoch and
// owner. Acquiring bumps the epoch; every stock commit is fenced against
// the epochs its node holds (flashstock_fence, first in the commit's
// pipeline).

// fencedState is the SQLSTATE flashstock_fence raises for stale epochs.
const fencedState = "FS001"

// EnsureShards makes the shard_owners rows of n shards if there are none
// (the first start of the first node), and refuses a node configured with
// another number of shards than the table has: every node of a cluster
// must agree, or products would hash to different shards.
func (s *Store) EnsureShards(ctx context.Context, n int) error {
	if n < 1 || n > engine.ShardsMax {
		return engine.Invalid("shards", fmt.Sprintf("must be between 1 and %d", engine.ShardsMax))
	}
	const op = "ensure shards"
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		// One node makes the rows; a second starting at once waits here.
		if _, err := tx.Exec(ctx, "LOCK TABLE shard_owners IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM shard_owners").Scan(&have); err != nil {
			return err
		}
		switch {
		case have == n:
			return nil
		case have != 0:
			return engine.Invalid("shards", fmt.Sprintf("this node is configured with %d shards but the cluster has %d (FLASHSTOCK_SHARDS must be the same on every node)", n, have))
		}
		_, err := tx.Exec(ctx, "INSERT INTO shard_owners (shard_id) SELECT generate_series(0, $1 - 1)", n)
		return err
	})
}

// AcquireShards makes node (advertised at url) the owner of shards, bumping
// each one's epoch, in one statement (rows locked in shard order), and
// returns the new epochs in shard order. It waits for the commits in flight
// on those shards (they share-lock the rows); once it returns, any commit
// fenced with an older epoch writes nothing.
func (s *Store) AcquireShards(ctx context.Context, shards []int, node, url string) ([]engine.ShardEpoch, error) {
	const op = "acquire shards"
	if node == "" || url == "" {
		return nil, engine.Invalid("node", "node id and url are required")
	}
	ids := make([]int32, len(shards))
	for i, n := range shards {
		ids[i] = int32(n)
	}
	rows, err := s.pool.Query(ctx, `UPDATE shard_owners SET epoch = epoch + 1, owner_node = $2, owner_url = $3, updated_at = now()
WHERE shard_id = ANY($1::integer[]) RETURNING shard_id, epoch`, ids, node, url)
	if err != nil {
		return nil, wrapError(op, err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.ShardEpoch, error) {
		var e engine.ShardEpoch
		var shard int32
		err := r.Scan(&shard, &e.Epoch)
		e.Shard = int(shard)
		return e, err
	})
	if err != nil {
		return nil, wrapError(op, err)
	}
	if len(got) != len(ids) {
		return nil, fmt.Errorf("%s: %d of %d shards exist: %w", op, len(got), len(ids), engine.ErrNotFound)
	}
	slices.SortFunc(got, func(a, b engine.ShardEpoch) int { return cmp.Compare(a.Shard, b.Shard) })
	return got, nil
}

// ReleaseShard clears the owner of a shard that node holds at epoch (a
// graceful handoff), keeping the epoch; it does nothing if the shard has
// moved on since. It reports whether it released it.
func (s *Store) ReleaseShard(ctx context.Context, shard engine.ShardEpoch, node string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE shard_owners SET owner_node = NULL, owner_url = NULL, updated_at = now()
WHERE shard_id = $1 AND epoch = $2 AND owner_node = $3`, int32(shard.Shard), shard.Epoch, node)
	if err != nil {
		return false, wrapError("release shard", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ShardOwners returns every shard's row, in shard order.
func (s *Store) ShardOwners(ctx context.Context) ([]engine.ShardOwner, error) {
	const op = "shard owners"
	rows, err := s.pool.Query(ctx, `SELECT shard_id, epoch, coalesce(owner_node, ''), coalesce(owner_url, ''), updated_at
FROM shard_owners ORDER BY shard_id`)
	if err != nil {
		return nil, wrapError(op, err)
	}
	owners, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.ShardOwner, error) {
		var o engine.ShardOwner
		var shard int32
		err := r.Scan(&shard, &o.Epoch, &o.Node, &o.URL, &o.UpdatedAt)
		o.Shard = int(shard)
		return o, err
	})
	if err != nil {
		return nil, wrapError(op, err)
	}
	return owners, nil
}

// queueFence adds the fencing check of c to batch, first.
func queueFence(batch *pgx.Batch, fence []engine.ShardEpoch) {
	shards, epochs := make([]int32, len(fence)), make(int8Column, len(fence))
	for i, f := range fence {
		shards[i], epochs[i] = int32(f.Shard), f.Epoch
	}
	batch.Queue("SELECT flashstock_fence($1::integer[], $2::bigint[])", shards, epochs)
}
