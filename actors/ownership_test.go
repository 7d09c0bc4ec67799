package actors_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// fencingStore is a gatedStore whose shards have epochs, as shard_owners
// does: a commit fenced with an epoch that moved on writes nothing and
// names the stale shards. Guarded by mu.
type fencingStore struct {
	*gatedStore
	mu     sync.Mutex
	epochs map[int]int64
	fenced int
}

func (s *fencingStore) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	s.mu.Lock()
	var stale []int
	for _, f := range c.Fence {
		if s.epochs[f.Shard] != f.Epoch {
			stale = append(stale, f.Shard)
		}
	}
	if stale != nil {
		s.fenced++
	}
	s.mu.Unlock()
	if stale != nil {
		return nil, &engine.FencedError{Shards: stale}
	}
	return s.gatedStore.CommitStock(ctx, c)
}

// twoShards returns two products of different shards (of the default 256).
func twoShards(t *testing.T) (a, b engine.Product) {
	t.Helper()
	a = testProduct(t, 10)
	for b = testProduct(t, 10); engine.ShardOf(b.ID, actors.ShardsDefault) == engine.ShardOf(a.ID, actors.ShardsDefault); b = testProduct(t, 10) {
	}
	return a, b
}

// Once this node owns shards, a product of another shard is refused at
// once; a commit fenced for one shard (another node took it) fails that
// shard's orders with a retryable error and commits the other shard's
// orders of the same transaction; the shard is lost from then on.
func TestFencingLosesOnlyTheStaleShard(t *testing.T) {
	t.Parallel()
	a, b := twoShards(t)
	sa, sb := engine.ShardOf(a.ID, actors.ShardsDefault), engine.ShardOf(b.ID, actors.ShardsDefault)
	shardOf := func(p engine.Product) int { return engine.ShardOf(p.ID, actors.ShardsDefault) }
	newIn := func(taken ...int) engine.Product { // a product of a shard other than taken
		for {
			if p := testProduct(t, 10); !slices.Contains(taken, shardOf(p)) {
				return p
			}
		}
	}
	other, c := newIn(sa, sb), newIn(sa, sb)
	for shardOf(c) == shardOf(other) {
		c = newIn(sa, sb)
	}
	sc := shardOf(c)
	store := &fencingStore{gatedStore: &gatedStore{product: a, more: []engine.Product{b, c, other},
		gate: make(chan struct{}), entered: make(chan int, 10)}, epochs: map[int]int64{sa: 1, sb: 1, sc: 1}}
	inv := newInventory(t, store, actors.Config{})
	inv.Own([]engine.ShardEpoch{{Shard: sa, Epoch: 1}, {Shard: sb, Epoch: 1}, {Shard: sc, Epoch: 1}}, time.Time{})
	if got := inv.Stats().ShardsOwned; got != 3 {
		t.Fatalf("ShardsOwned = %d, want 3", got)
	}
	if err := placeOn(t, inv, other); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("order of a shard not owned = %v, want ErrUnavailable", err)
	}

	first := make(chan error, 1)
	go func() { first <- placeID(inv, c, newID(t)) }()
	<-store.entered // held open: the next two orders form one transaction
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { errA = placeID(inv, a, newID(t)) })
	wg.Go(func() { errB = placeID(inv, b, newID(t)) })
	waitFor(t, "both orders queued", func() bool { return inv.Stats().CommitQueued == 2 })
	store.mu.Lock()
	store.epochs[sa] = 2 // another node takes a's shard
	store.mu.Unlock()
	store.gatedStore.mu.Lock()
	close(store.gate)
	store.gatedStore.mu.Unlock()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(errA, engine.ErrUnavailable) || errB != nil {
		t.Fatalf("in the fenced transaction: a = %v (want ErrUnavailable), b = %v (want committed)", errA, errB)
	}
	if s := inv.Stats(); s.ShardsOwned != 2 || s.FencingRejections != 1 {
		t.Errorf("after the fence: %d shards owned, %d rejections; want 2 and 1", s.ShardsOwned, s.FencingRejections)
	}
	if got := store.stockOf(a.ID); got != 10 {
		t.Errorf("stock of the fenced product = %d, want 10 (nothing written)", got)
	}
	if err := placeOn(t, inv, a); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("order of the lost shard = %v, want ErrUnavailable at once", err)
	}
	if _, ok := inv.Product(a.ID); ok {
		t.Errorf("a product of a lost shard is still answered from memory")
	}
	if err := placeOn(t, inv, b); err != nil {
		t.Errorf("the shard still owned sells on: %v", err)
	}
}

// A graceful handoff refuses new work for the shard at once, lets the work
// in flight finish (its commit answers), then stops the shard's actors.
func TestHandOffDrainsThenStops(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	shard := engine.ShardOf(p.ID, actors.ShardsDefault)
	store := &gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 10)}
	inv := newInventory(t, store, actors.Config{})
	inv.Own([]engine.ShardEpoch{{Shard: shard, Epoch: 1}}, time.Time{})
	inFlight := make(chan error, 1)
	go func() { inFlight <- placeID(inv, p, newID(t)) }()
	<-store.entered // its commit is held open
	handed := make(chan []int, 1)
	go func() {
		shards, err := inv.HandOff(context.Background(), []int{shard})
		if err != nil {
			t.Errorf("HandOff: %v", err)
		}
		handed <- shards
	}()
	waitFor(t, "the shard given up", func() bool { return inv.Stats().ShardsOwned == 0 })
	if err := placeOn(t, inv, p); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("a new order during the handoff = %v, want ErrUnavailable at once", err)
	}
	select {
	case <-handed:
		t.Fatal("the handoff ended with a commit still in flight")
	default:
	}
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	if err := <-inFlight; err != nil {
		t.Errorf("the order in flight during the handoff: %v, want committed", err)
	}
	if got := <-handed; !slices.Equal(got, []int{shard}) {
		t.Errorf("handed off %v, want [%d]", got, shard)
	}
	waitFor(t, "the shard's actor stopped", func() bool { return inv.Stats().LiveActors == 0 })
}

// Ownership ends at its lease's validity unless extended: past it, work
// for the shard is refused even though nothing else happened (a paused
// process that resumes writes nothing); extended, it is owned again.
func TestOwnershipEndsAtItsValidity(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	shard := engine.ShardOf(p.ID, actors.ShardsDefault)
	inv := newInventory(t, &gatedStore{product: p}, actors.Config{})
	inv.Own([]engine.ShardEpoch{{Shard: shard, Epoch: 1}}, time.Now().Add(time.Hour))
	if err := placeOn(t, inv, p); err != nil {
		t.Fatalf("order within the validity: %v", err)
	}
	inv.ExtendOwnership([]int{shard}, time.Now().Add(-time.Millisecond))
	if err := placeOn(t, inv, p); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("order past the validity = %v, want ErrUnavailable", err)
	}
	if _, ok := inv.Product(p.ID); ok {
		t.Errorf("a product past its shard's validity is answered from memory")
	}
	inv.ExtendOwnership([]int{shard}, time.Now().Add(time.Hour))
	if err := placeOn(t, inv, p); err != nil {
		t.Errorf("order after the renewal: %v", err)
	}
}
