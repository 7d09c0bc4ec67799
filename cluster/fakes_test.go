package cluster_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/flashstock/flashstock/cluster"
	"github.com/flashstock/flashstock/engine"
)

var (
	_ cluster.Leases = (*memLeases)(nil)
	_ cluster.Epochs = (*memEpochs)(nil)
	_ cluster.Owner  = (*memOwner)(nil)
)

// memLeases is a lease store in memory with real expiry, shared by the
// nodes of a test. Guarded by mu.
type memLeases struct {
	mu     sync.Mutex
	ttl    time.Duration
	leases map[int]engine.Lease // by shard, Until = expiry in the store
	nodes  map[string]memNode
	token  int
	down   bool
}

type memNode struct {
	url     string
	expires time.Time
}

func newMemLeases(ttl time.Duration) *memLeases {
	return &memLeases{ttl: ttl, leases: map[int]engine.Lease{}, nodes: map[string]memNode{}}
}

func (m *memLeases) TryAcquire(_ context.Context, shard int, node, url string) (engine.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return engine.Lease{}, engine.ErrUnavailable
	}
	if l, ok := m.leases[shard]; ok && time.Now().Before(l.Until) {
		return engine.Lease{}, engine.ErrConflict
	}
	m.token++
	l := engine.Lease{Shard: shard, Node: node, URL: url, Until: time.Now().Add(m.ttl), Token: strconv.Itoa(m.token)}
	m.leases[shard] = l
	return l, nil
}

func (m *memLeases) ExtendAll(_ context.Context, leases []engine.Lease, _ int) []engine.LeaseResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]engine.LeaseResult, len(leases))
	for i, l := range leases {
		cur, ok := m.leases[l.Shard]
		switch {
		case m.down:
			out[i] = engine.LeaseResult{Lease: l, Err: engine.ErrUnavailable}
		case !ok || cur.Token != l.Token || !time.Now().Before(cur.Until) || !time.Now().Before(l.Until):
			out[i] = engine.LeaseResult{Lease: l, Err: engine.ErrLeaseLost}
		default:
			cur.Until = time.Now().Add(m.ttl)
			m.leases[l.Shard] = cur
			out[i] = engine.LeaseResult{Lease: cur}
		}
	}
	return out
}

func (m *memLeases) Release(_ context.Context, l engine.Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Shard]; ok && cur.Token == l.Token {
		delete(m.leases, l.Shard)
		return nil
	}
	return engine.ErrLeaseLost
}

func (m *memLeases) Announce(_ context.Context, node, url string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return engine.ErrUnavailable
	}
	m.nodes[node] = memNode{url: url, expires: time.Now().Add(m.ttl)}
	return nil
}

func (m *memLeases) Withdraw(_ context.Context, node string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.nodes, node)
	return nil
}

func (m *memLeases) LiveNodes(context.Context) ([]engine.LiveNode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, engine.ErrUnavailable
	}
	var out []engine.LiveNode
	for id, n := range m.nodes {
		if time.Now().Before(n.expires) {
			out = append(out, engine.LiveNode{ID: id, URL: n.url})
		}
	}
	slices.SortFunc(out, func(a, b engine.LiveNode) int { return compare(a.ID, b.ID) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// holder returns who holds shard's lease now ("" when nobody).
func (m *memLeases) holder(shard int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[shard]; ok && time.Now().Before(l.Until) {
		return l.Node
	}
	return ""
}

// memEpochs is shard_owners in memory. Guarded by mu.
type memEpochs struct {
	mu     sync.Mutex
	epochs map[int]int64
	owners map[int]string
}

func newMemEpochs() *memEpochs { return &memEpochs{epochs: map[int]int64{}, owners: map[int]string{}} }

func (m *memEpochs) AcquireShards(_ context.Context, shards []int, node, _ string) ([]engine.ShardEpoch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]engine.ShardEpoch, 0, len(shards))
	for _, s := range slices.Sorted(slices.Values(shards)) {
		m.epochs[s]++
		m.owners[s] = node
		out = append(out, engine.ShardEpoch{Shard: s, Epoch: m.epochs[s]})
	}
	return out, nil
}

func (m *memEpochs) ReleaseShard(_ context.Context, e engine.ShardEpoch, node string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epochs[e.Shard] != e.Epoch || m.owners[e.Shard] != node {
		return false, nil
	}
	delete(m.owners, e.Shard)
	return true, nil
}

func (m *memEpochs) epoch(shard int) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epochs[shard]
}

// memOwner records what the inventory was told. Guarded by mu.
type memOwner struct {
	mu       sync.Mutex
	owned    map[int]int64 // shard → epoch
	handoffs int
	lost     []int
}

func newMemOwner() *memOwner { return &memOwner{owned: map[int]int64{}} }

func (o *memOwner) Own(held []engine.ShardEpoch, _ time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, h := range held {
		o.owned[h.Shard] = h.Epoch
	}
}

func (o *memOwner) ExtendOwnership([]int, time.Time) {}

func (o *memOwner) HandOff(_ context.Context, shards []int) ([]int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handoffs += len(shards)
	for _, s := range shards {
		delete(o.owned, s)
	}
	return shards, nil
}

func (o *memOwner) Lose(shards []int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lost = append(o.lost, shards...)
	for _, s := range shards {
		delete(o.owned, s)
	}
}

func (o *memOwner) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.owned)
}

func (o *memOwner) owns(shard int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.owned[shard]
	return ok
}
