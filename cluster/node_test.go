package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/cluster"
)

const testShards = 64

type member struct {
	node  *cluster.Node
	owner *memOwner
	id    string
}

func newMember(t *testing.T, id string, leases *memLeases, epochs *memEpochs, moves int) member {
	t.Helper()
	owner := newMemOwner()
	n, err := cluster.NewNode(cluster.Config{Node: id, URL: "http://" + id, Shards: testShards, TTL: leases.ttl,
		MovesPerRound: moves}, leases, epochs, owner, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return member{node: n, owner: owner, id: id}
}

// rounds runs one round of each member, n times.
func rounds(ctx context.Context, n int, ms ...member) {
	for range n {
		for _, m := range ms {
			m.node.Round(ctx)
		}
	}
}

// checkExactlyOnce fails unless every shard is owned by exactly one member,
// the one holding its lease, and shares are fair.
func checkExactlyOnce(t *testing.T, leases *memLeases, ms ...member) {
	t.Helper()
	for s := range testShards {
		var owners []string
		for _, m := range ms {
			if m.owner.owns(s) {
				owners = append(owners, m.id)
			}
		}
		if len(owners) != 1 || leases.holder(s) != owners[0] {
			t.Errorf("shard %d: served by %v, lease held by %q; want exactly one, the holder", s, owners, leases.holder(s))
		}
	}
	k := len(ms)
	for _, m := range ms {
		if c := m.owner.count(); c < testShards/(2*k) || c > 2*testShards/k {
			t.Errorf("%s serves %d shards, want between %d and %d", m.id, c, testShards/(2*k), 2*testShards/k)
		}
	}
}

// Three nodes starting together end with every shard served by exactly one
// of them, a fair share each; a node joining later gets its share, moved a
// bounded number per round, each move a new epoch.
func TestNodesShareShardsAndRebalance(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	leases, epochs := newMemLeases(time.Minute), newMemEpochs()
	a, b, c := newMember(t, "a", leases, epochs, 8), newMember(t, "b", leases, epochs, 8), newMember(t, "c", leases, epochs, 8)
	for _, m := range []member{a, b, c} { // announce first, as nodes starting together do
		m.node.Round(ctx)
	}
	rounds(ctx, testShards/8+2, a, b, c)
	checkExactlyOnce(t, leases, a, b, c)

	d := newMember(t, "d", leases, epochs, 8)
	d.node.Round(ctx)
	before := map[int]int64{}
	for s := range testShards {
		before[s] = epochs.epoch(s)
	}
	h0 := a.owner.handoffs
	a.node.Round(ctx) // a hands back at most 8 of d's shards this round
	if h := a.owner.handoffs - h0; h < 1 || h > 8 {
		t.Errorf("a handed %d shards back in one round, want 1 to 8", h)
	}
	rounds(ctx, testShards/8+2, a, b, c, d)
	checkExactlyOnce(t, leases, a, b, c, d)
	for _, s := range d.node.Held() {
		if epochs.epoch(s) <= before[s] {
			t.Errorf("shard %d moved to d without a new epoch", s)
		}
	}
}

// A node that stops (killed: no withdrawal, no handoff) loses its shards to
// the others once its announcement and leases expire; one that leaves
// gracefully hands them over at once.
func TestFailoverAndGracefulLeave(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ttl = 300 * time.Millisecond
	leases, epochs := newMemLeases(ttl), newMemEpochs()
	a, b, c := newMember(t, "a", leases, epochs, testShards), newMember(t, "b", leases, epochs, testShards), newMember(t, "c", leases, epochs, testShards)
	rounds(ctx, 3, a, b, c)
	checkExactlyOnce(t, leases, a, b, c)

	dead := c.node.Held() // c is killed: it runs no more rounds
	deadline := time.Now().Add(10 * ttl)
	for {
		rounds(ctx, 1, a, b)
		taken := 0
		for _, s := range dead {
			if a.owner.owns(s) || b.owner.owns(s) {
				taken++
			}
		}
		if taken == len(dead) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the dead node's %d shards taken after %v", taken, len(dead), 10*ttl)
		}
		time.Sleep(ttl / 10)
	}

	b.node.Leave(ctx) // graceful: a takes everything in its next round
	if got := b.owner.count(); got != 0 {
		t.Errorf("b serves %d shards after leaving", got)
	}
	a.node.Round(ctx)
	if got := a.owner.count(); got != testShards {
		t.Errorf("a serves %d shards the round after b left, want all %d", got, testShards)
	}
}

// A node whose leases cannot be renewed stops serving once they expire (its
// ownership is told the lease validity), and with the lease store down no
// shard moves.
func TestLeaseStoreDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	leases, epochs := newMemLeases(200*time.Millisecond), newMemEpochs()
	a := newMember(t, "a", leases, epochs, testShards)
	a.node.Round(ctx)
	if a.owner.count() != testShards {
		t.Fatalf("a alone serves %d shards, want all", a.owner.count())
	}
	leases.mu.Lock()
	leases.down = true
	leases.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // the leases' validity passes
	a.node.Round(ctx)
	if got := len(a.owner.lost); got != testShards {
		t.Errorf("%d shards given up after their leases expired unrenewed, want %d", got, testShards)
	}
	if got := fmt.Sprint(a.node.Held()); got != "[]" {
		t.Errorf("held after losing every lease: %s", got)
	}
}
