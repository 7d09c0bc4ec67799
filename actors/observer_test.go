package actors_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
)

// countingObserver records what it is told. Guarded by mu.
type countingObserver struct {
	actors.NopObserver
	mu      sync.Mutex
	commits []int // operations per commit
	failed  int
}

func (o *countingObserver) CommitDone(ops int, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits = append(o.commits, ops)
	if err != nil {
		o.failed++
	}
}

// failingStore fails every commit.
type failingStore struct{ gatedStore }

func (s *failingStore) CommitStock(context.Context, engine.StockCommit) ([]engine.StockCommitted, error) {
	return nil, errors.New("disk on fire")
}

// A commit is observed, and a failed one is logged with the request ids of
// the orders it carried.
func TestCommitObservedAndLoggedWithRequestIDs(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	obs := &countingObserver{}
	var logs testenv.SyncBuffer
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{gatedStore{product: p}}
	inv, err := actors.NewInventory(system, store, actors.Config{Observer: obs}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inv.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(engine.WithRequestID(context.Background(), "req-abc-123"), 5*time.Second)
	defer cancel()
	_, err = inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: newID(t), UserID: engine.ID{7},
		Items: []engine.ItemRequest{{ProductID: p.ID, Quantity: 1}}, Now: time.Now()})
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("order on a failing store: %v", err)
	}
	obs.mu.Lock()
	commits, failed := obs.commits, obs.failed
	obs.mu.Unlock()
	if len(commits) != 1 || commits[0] != 1 || failed != 1 {
		t.Errorf("observed commits %v, %d failed; want one failed commit of 1 operation", commits, failed)
	}
	if line := logs.String(); !strings.Contains(line, `"request_ids":["req-abc-123"]`) || !strings.Contains(line, "group commit failed") {
		t.Errorf("commit failure log lacks the request id: %s", line)
	}
}

// Hottest lists live SKU actors by requests admitted, most first.
func TestHottestSKUs(t *testing.T) {
	t.Parallel()
	hot, cold := testProduct(t, 100), testProduct(t, 100)
	store := &gatedStore{product: hot, more: []engine.Product{cold}}
	inv := newInventory(t, store, actors.Config{})
	for range 3 {
		if _, err := placeOne(inv, t, hot); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := placeOne(inv, t, cold); err != nil {
		t.Fatal(err)
	}
	got := inv.Hottest(10)
	if len(got) != 2 || got[0].ProductID != hot.ID || got[0].Requests != 3 || got[1].Requests != 1 || got[0].Inflight != 0 {
		t.Fatalf("Hottest = %+v; want the hot product (3 requests) before the cold one (1)", got)
	}
	if one := inv.Hottest(1); len(one) != 1 || one[0].ProductID != hot.ID {
		t.Errorf("Hottest(1) = %+v", one)
	}
	if none := inv.Hottest(-1); len(none) != 0 {
		t.Errorf("Hottest(-1) = %+v", none)
	}
}
