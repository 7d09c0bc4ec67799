package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Leases is the lease store (Redis): one lease per shard, and the live
// nodes' announcements.
type Leases interface {
	// TryAcquire takes a shard's lease in a single try: engine.ErrConflict
	// when another node holds it.
	TryAcquire(ctx context.Context, shard int, node, url string) (engine.Lease, error)
	// ExtendAll renews leases, at most concurrency at once; each result is
	// the renewed lease, or engine.ErrLeaseLost, or engine.ErrUnavailable.
	ExtendAll(ctx context.Context, leases []engine.Lease, concurrency int) []engine.LeaseResult
	// Release gives a held lease back.
	Release(ctx context.Context, lease engine.Lease) error
	// Announce says node is live at url for one lease TTL.
	Announce(ctx context.Context, node, url string) error
	// Withdraw takes node's announcement back.
	Withdraw(ctx context.Context, node string) error
	// LiveNodes lists the announced nodes, sorted by id.
	LiveNodes(ctx context.Context) ([]engine.LiveNode, error)
}

// Epochs is the shards' ownership rows (PostgreSQL).
type Epochs interface {
	// AcquireShards bumps the shards' epochs for node and returns them.
	AcquireShards(ctx context.Context, shards []int, node, url string) ([]engine.ShardEpoch, error)
	// ReleaseShard clears the owner of a shard node holds at its epoch.
	ReleaseShard(ctx context.Context, shard engine.ShardEpoch, node string) (bool, error)
}

// Owner is the inventory's side of ownership.
type Owner interface {
	// Own starts serving shards held at their epochs, until until.
	Own(held []engine.ShardEpoch, until time.Time)
	// ExtendOwnership moves the end of the ownership of shards.
	ExtendOwnership(shards []int, until time.Time)
	// HandOff stops intake for shards and waits for their work in flight.
	HandOff(ctx context.Context, shards []int) ([]int, error)
	// Lose stops serving shards at once.
	Lose(shards []int)
}

// Observer is told of lease events (for the metrics).
type Observer interface {
	// LeaseAcquisition counts one acquisition attempt: acquired, taken, error.
	LeaseAcquisition(result string)
	// LeaseRenewal counts one renewal: renewed, lost, error.
	LeaseRenewal(result string)
}

// Results passed to an Observer.
const (
	ResultAcquired = "acquired"
	ResultTaken    = "taken"
	ResultRenewed  = "renewed"
	ResultLost     = "lost"
	ResultError    = "error"
)

// NopObserver observes nothing.
type NopObserver struct{}

// LeaseAcquisition does nothing.
func (NopObserver) LeaseAcquisition(string) {}

// LeaseRenewal does nothing.
func (NopObserver) LeaseRenewal(string) {}

// Defaults of Config.
const (
	MovesPerRoundDefault    = 32
	RenewConcurrencyDefault = 16
	// stepTimeoutMin is the least time one step of a round against the
	// stores may take.
	stepTimeoutMin = time.Second
	// ttlMin bounds the lease TTL from below (the lease store may ask more).
	ttlMin = 100 * time.Millisecond
)

// Config tunes a Node. Zero fields take defaults.
type Config struct {
	Node   string        // this node's id
	URL    string        // this node's advertised URL
	Shards int           // the cluster's shard count
	TTL    time.Duration // the lease TTL; the loop runs every TTL/3
	// Margin is taken off a lease's validity for the ownership's end: the
	// node stops intake for a shard that long before its lease could have
	// expired, covering clock drift between nodes. Default TTL/10.
	Margin time.Duration
	// MovesPerRound bounds the shards handed back per round (a move from
	// one live node to another). Shards this node should own are all tried
	// each round: a free one is taken at once, one another node still holds
	// is taken once that node hands it back or its lease expires.
	MovesPerRound int
	// RenewConcurrency bounds the renewals in flight.
	RenewConcurrency int
	Observer         Observer
}

// Validate reports an unusable configuration (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Node == "" || c.URL == "" {
		errs = append(errs, errors.New("node id and url are required"))
	}
	if c.Shards < 1 || c.Shards > engine.ShardsMax {
		errs = append(errs, fmt.Errorf("shards: must be between 1 and %d", engine.ShardsMax))
	}
	if c.TTL < ttlMin {
		errs = append(errs, fmt.Errorf("lease ttl: must be at least %v", ttlMin))
	}
	if c.Margin <= 0 || c.Margin >= c.TTL/3 {
		errs = append(errs, errors.New("margin: must be positive and under a third of the lease ttl"))
	}
	if c.MovesPerRound < 1 || c.RenewConcurrency < 1 {
		errs = append(errs, errors.New("moves per round and renew concurrency: must be at least 1"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Margin == 0 {
		c.Margin = c.TTL / 10
	}
	if c.MovesPerRound == 0 {
		c.MovesPerRound = MovesPerRoundDefault
	}
	if c.RenewConcurrency == 0 {
		c.RenewConcurrency = RenewConcurrencyDefault
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	return c
}

// held is a shard this node serves: its lease and its epoch.
type held struct {
	lease engine.Lease
	epoch engine.ShardEpoch
}

// Node is this node's member of the cluster. Run drives it; its methods
// are safe for concurrent use.
type Node struct {
	cfg    Config
	leases Leases
	epochs Epochs
	owner  Owner
	log    zerolog.Logger

	mu    sync.Mutex        // guards held and nodes
	held  map[int]held      // the shards this node serves
	nodes []engine.LiveNode // the live nodes the last round saw
}

// NewNode builds this node's member of the cluster.
func NewNode(cfg Config, leases Leases, epochs Epochs, owner Owner, log zerolog.Logger) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	if leases == nil || epochs == nil || owner == nil {
		return nil, errors.New("cluster: NewNode needs leases, epochs and an owner")
	}
	return &Node{cfg: cfg, leases: leases, epochs: epochs, owner: owner, log: log, held: map[int]held{}}, nil
}

// Period is how often Run runs a round: a third of the lease TTL.
func (n *Node) Period() time.Duration { return n.cfg.TTL / 3 }

// Run runs a round now and then every Period until ctx ends; then it hands
// every shard back (Leave) within leaveTimeout.
func (n *Node) Run(ctx context.Context, leaveTimeout time.Duration) {
	t := time.NewTicker(n.Period())
	defer t.Stop()
	for {
		n.Round(ctx)
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
			n.Leave(lctx)
			cancel()
			return
		case <-t.C:
		}
	}
}

// stepContext bounds one step of a round.
func (n *Node) stepContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, max(n.Period(), stepTimeoutMin))
}

// Round is one turn of the control loop: announce, renew, then move shards
// toward the rendezvous owners among the live nodes (a bounded number).
func (n *Node) Round(ctx context.Context) {
	step, cancel := n.stepContext(ctx)
	defer cancel()
	if err := n.leases.Announce(step, n.cfg.Node, n.cfg.URL); err != nil {
		n.log.Warn().Err(err).Msg("cluster: announcing this node failed")
	}
	n.renew(step)
	live, err := n.leases.LiveNodes(step)
	if err != nil {
		n.log.Warn().Err(err).Msg("cluster: listing live nodes failed; no shard moves this round")
		return
	}
	n.mu.Lock()
	n.nodes = live
	n.mu.Unlock()
	ids := make([]string, 0, len(live)+1)
	for _, l := range live {
		ids = append(ids, l.ID)
	}
	if !slices.Contains(ids, n.cfg.Node) {
		ids = append(ids, n.cfg.Node) // our announcement may not show yet
	}
	give, take := n.plan(ids)
	n.giveBack(ctx, give)
	n.take(ctx, take)
}

// plan returns the shards to hand back (held, another node's by
// rendezvous; at most MovesPerRound) and to take (ours by rendezvous, not
// held).
func (n *Node) plan(ids []string) (give, take []int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for s := range n.cfg.Shards {
		mine := engine.RendezvousOwner(s, ids) == n.cfg.Node
		_, holding := n.held[s]
		switch {
		case holding && !mine && len(give) < n.cfg.MovesPerRound:
			give = append(give, s)
		case !holding && mine:
			take = append(take, s)
		}
	}
	return give, take
}

// renew renews every held lease; a lease lost (or past its validity) makes
// the shard lost at once, a renewal that could not be made leaves the
// ownership to end at the lease's validity.
func (n *Node) renew(ctx context.Context) {
	n.mu.Lock()
	leases := make([]engine.Lease, 0, len(n.held))
	for _, h := range n.held {
		leases = append(leases, h.lease)
	}
	n.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	var lost []int
	renewed := map[time.Time][]int{}
	for _, r := range n.leases.ExtendAll(ctx, leases, n.cfg.RenewConcurrency) {
		switch {
		case r.Err == nil:
			n.cfg.Observer.LeaseRenewal(ResultRenewed)
			n.mu.Lock()
			if h, ok := n.held[r.Lease.Shard]; ok {
				h.lease = r.Lease
				n.held[r.Lease.Shard] = h
			}
			n.mu.Unlock()
			until := r.Lease.Until.Add(-n.cfg.Margin)
			renewed[until] = append(renewed[until], r.Lease.Shard)
		case errors.Is(r.Err, engine.ErrLeaseLost) || !time.Now().Before(r.Lease.Until):
			n.cfg.Observer.LeaseRenewal(ResultLost)
			lost = append(lost, r.Lease.Shard)
		default:
			n.cfg.Observer.LeaseRenewal(ResultError)
		}
	}
	for until, shards := range renewed {
		n.owner.ExtendOwnership(shards, until)
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		n.log.Warn().Ints("shards", lost).Msg("cluster: leases lost; no longer serving these shards")
		n.owner.Lose(lost)
		n.mu.Lock()
		for _, s := range lost {
			delete(n.held, s)
		}
		n.mu.Unlock()
	}
}

// take acquires the leases of shards, then their epochs, then serves them.
func (n *Node) take(ctx context.Context, shards []int) {
	if len(shards) == 0 {
		return
	}
	step, cancel := n.stepContext(ctx)
	defer cancel()
	got := map[int]engine.Lease{}
	var ids []int
	for _, s := range shards {
		l, err := n.leases.TryAcquire(step, s, n.cfg.Node, n.cfg.URL)
		switch {
		case err == nil:
			n.cfg.Observer.LeaseAcquisition(ResultAcquired)
			got[s] = l
			ids = append(ids, s)
		case errors.Is(err, engine.ErrConflict):
			n.cfg.Observer.LeaseAcquisition(ResultTaken) // its holder will hand it back, or its lease expire
		default:
			n.cfg.Observer.LeaseAcquisition(ResultError)
			n.log.Warn().Err(err).Int("shard", s).Msg("cluster: taking a shard's lease failed")
		}
	}
	if len(ids) == 0 {
		return
	}
	epochs, err := n.epochs.AcquireShards(step, ids, n.cfg.Node, n.cfg.URL)
	if err != nil {
		n.log.Warn().Err(err).Ints("shards", ids).Msg("cluster: bumping the shards' epochs failed; giving the leases back")
		for _, l := range got {
			_ = n.leases.Release(step, l)
		}
		return
	}
	byUntil := map[time.Time][]engine.ShardEpoch{}
	n.mu.Lock()
	for _, e := range epochs {
		l := got[e.Shard]
		n.held[e.Shard] = held{lease: l, epoch: e}
		until := l.Until.Add(-n.cfg.Margin)
		byUntil[until] = append(byUntil[until], e)
	}
	n.mu.Unlock()
	for until, es := range byUntil {
		n.owner.Own(es, until)
	}
	n.log.Info().Ints("shards", ids).Msg("cluster: took shards")
}

// giveBack hands shards back gracefully: intake stopped and work in
// flight finished, then the epoch's owner cleared and the lease released.
func (n *Node) giveBack(ctx context.Context, shards []int) {
	if len(shards) == 0 {
		return
	}
	step, cancel := n.stepContext(ctx)
	defer cancel()
	if _, err := n.owner.HandOff(step, shards); err != nil {
		n.log.Warn().Err(err).Ints("shards", shards).Msg("cluster: work still in flight at the end of the handoff")
	}
	n.mu.Lock()
	gone := make([]held, 0, len(shards))
	for _, s := range shards {
		if h, ok := n.held[s]; ok {
			gone = append(gone, h)
			delete(n.held, s)
		}
	}
	n.mu.Unlock()
	for _, h := range gone {
		if _, err := n.epochs.ReleaseShard(step, h.epoch, n.cfg.Node); err != nil {
			n.log.Warn().Err(err).Int("shard", h.epoch.Shard).Msg("cluster: clearing a shard's owner failed")
		}
		if err := n.leases.Release(step, h.lease); err != nil && !errors.Is(err, engine.ErrLeaseLost) {
			n.log.Warn().Err(err).Int("shard", h.epoch.Shard).Msg("cluster: releasing a shard's lease failed (it expires)")
		}
	}
	n.log.Info().Ints("shards", shards).Msg("cluster: handed shards back")
}

// Leave hands every shard back and withdraws the announcement (a graceful
// stop: SIGTERM), so other nodes take the shards at once.
func (n *Node) Leave(ctx context.Context) {
	if err := n.leases.Withdraw(ctx, n.cfg.Node); err != nil {
		n.log.Warn().Err(err).Msg("cluster: withdrawing the announcement failed (it expires)")
	}
	n.mu.Lock()
	all := make([]int, 0, len(n.held))
	for s := range n.held {
		all = append(all, s)
	}
	n.mu.Unlock()
	slices.Sort(all)
	n.giveBack(ctx, all)
}

// Held returns the shards this node serves, sorted.
func (n *Node) Held() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]int, 0, len(n.held))
	for s := range n.held {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// LiveNodes returns the live nodes the last round saw.
func (n *Node) LiveNodes() []engine.LiveNode {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.nodes)
}
