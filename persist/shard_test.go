package persist_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestEnsureShards(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.EnsureShards(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureShards(ctx, 8); err != nil {
		t.Fatalf("second start with the same count: %v", err)
	}
	owners, err := s.ShardOwners(ctx)
	if err != nil || len(owners) != 8 {
		t.Fatalf("ShardOwners = %d rows, %v; want 8", len(owners), err)
	}
	for i, o := range owners {
		if o.Shard != i || o.Epoch != 0 || o.Node != "" || o.URL != "" {
			t.Errorf("row %d = %+v, want shard %d at epoch 0 without owner", i, o, i)
		}
	}
	if err := s.EnsureShards(ctx, 16); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("a node with another shard count = %v, want ErrInvalid (refuse to start)", err)
	}
	if err := s.EnsureShards(ctx, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("0 shards = %v, want ErrInvalid", err)
	}
}

func TestAcquireAndReleaseShards(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.EnsureShards(ctx, 4); err != nil {
		t.Fatal(err)
	}
	got, err := s.AcquireShards(ctx, []int{2, 0}, "node-a", "http://127.0.0.1:1")
	if want := []engine.ShardEpoch{{Shard: 0, Epoch: 1}, {Shard: 2, Epoch: 1}}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("first acquisition = %v, %v; want %v (the first owner writes under epoch 1)", got, err, want)
	}
	got, err = s.AcquireShards(ctx, []int{2}, "node-b", "http://127.0.0.1:2")
	if err != nil || len(got) != 1 || got[0].Epoch != 2 {
		t.Fatalf("re-acquisition = %v, %v; want epoch 2", got, err)
	}
	if ok, err := s.ReleaseShard(ctx, engine.ShardEpoch{Shard: 2, Epoch: 1}, "node-a"); err != nil || ok {
		t.Errorf("release by the stale owner = %v, %v; want nothing released", ok, err)
	}
	if ok, err := s.ReleaseShard(ctx, engine.ShardEpoch{Shard: 2, Epoch: 2}, "node-b"); err != nil || !ok {
		t.Errorf("release by the owner = %v, %v; want released", ok, err)
	}
	owners, err := s.ShardOwners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.ShardOwner{{Shard: 0, Epoch: 1, Node: "node-a", URL: "http://127.0.0.1:1"}, {Shard: 1},
		{Shard: 2, Epoch: 2}, {Shard: 3}}
	for i, o := range owners {
		o.UpdatedAt = time.Time{}
		if o != want[i] {
			t.Errorf("shard %d = %+v, want %+v (a release keeps the epoch)", i, o, want[i])
		}
	}
	if _, err := s.AcquireShards(ctx, []int{9}, "node-a", "http://x"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("acquiring a shard that does not exist = %v, want ErrNotFound", err)
	}
}

// A commit fenced with an epoch that has moved on writes nothing and names
// the stale shards (only those); with the current epochs it commits.
func TestCommitStockFencedByEpoch(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	if err := s.EnsureShards(ctx, 4); err != nil {
		t.Fatal(err)
	}
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "FENCED", 10, true)
	held, err := s.AcquireShards(ctx, []int{1, 3}, "node-a", "http://a")
	if err != nil {
		t.Fatal(err)
	}
	ok := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 1})
	if _, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{ok}, Fence: held}); err != nil {
		t.Fatalf("commit under the held epochs: %v", err)
	}
	if _, err := s.AcquireShards(ctx, []int{3}, "node-b", "http://b"); err != nil { // node b takes shard 3
		t.Fatal(err)
	}
	stale := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 2})
	_, err = s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{stale}, Fence: held})
	var fenced *engine.FencedError
	if !errors.As(err, &fenced) || !slices.Equal(fenced.Shards, []int{3}) || !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("commit under a moved-on epoch = %v, want a FencedError naming shard 3 (retryable)", err)
	}
	if _, err := s.Order(ctx, stale.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a fenced commit wrote its order: %v", err)
	}
	if got := stockOf(t, s, p.ID); got != 9 {
		t.Errorf("stock = %d, want 9 (the fenced commit took nothing)", got)
	}
}

// An epoch bump waits for a commit in flight on that shard (the commit
// share-locks the row), so a commit that passed its fence is never
// overtaken by a new owner.
func TestAcquisitionWaitsForFencedCommit(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	if err := s.EnsureShards(ctx, 2); err != nil {
		t.Fatal(err)
	}
	held, err := s.AcquireShards(ctx, []int{0}, "node-a", "http://a")
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, url)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT flashstock_fence($1::integer[], $2::bigint[])", []int32{0}, []int64{held[0].Epoch}); err != nil {
		t.Fatalf("fence in an open transaction: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.AcquireShards(context.WithoutCancel(ctx), []int{0}, "node-b", "http://b")
		done <- err
	}()
	watch := rawConn(t, url)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE shard_owners%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the acquisition did not wait for the commit in flight (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the acquisition never showed as waiting on the row lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("acquisition after the commit: %v", err)
	}
}
