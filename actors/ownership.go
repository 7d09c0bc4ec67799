package actors

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/flashstock/flashstock/engine"
)

// ownership is which shards this node owns, and at which epoch
// (DESIGN.md "Cluster"). Until Inventory.Own is first called it enforces
// nothing (one process owns everything: tests, tools). Once enabled, a
// request for a product of a shard the node does not own is refused at
// admission, and every commit is fenced against the epochs held: a commit
// for a shard another node took since writes nothing, the shard is lost,
// and its operations fail with a retryable error. Safe for concurrent use.
type ownership struct {
	enabled    atomic.Bool
	epochs     []atomic.Int64 // by shard; 0 = not owned
	until      []atomic.Int64 // by shard: unix nanoseconds the ownership ends at (its lease's validity); 0 = no end
	owned      atomic.Int64   // shards with an epoch
	rejections atomic.Uint64  // commits (or parts of one) refused by fencing
}

func newOwnership(shards int) *ownership {
	return &ownership{epochs: make([]atomic.Int64, shards), until: make([]atomic.Int64, shards)}
}

// errNotOwner is the error of work for a shard this node does not own.
var errNotOwner = fmt.Errorf("%w: this node does not own the product's shard", engine.ErrUnavailable)

// own records the shards held and turns enforcement on.
func (o *ownership) own(held []engine.ShardEpoch) {
	for _, h := range held {
		if h.Shard < 0 || h.Shard >= len(o.epochs) || h.Epoch < 1 {
			continue
		}
		if o.epochs[h.Shard].Swap(h.Epoch) == 0 {
			o.owned.Add(1)
		}
	}
	o.enabled.Store(true)
}

// lose forgets shards (another node took them) and returns those that
// were owned.
func (o *ownership) lose(shards []int) []int {
	var lost []int
	for _, s := range shards {
		if s >= 0 && s < len(o.epochs) && o.epochs[s].Swap(0) != 0 {
			o.owned.Add(-1)
			lost = append(lost, s)
		}
	}
	return lost
}

// owns reports whether work for a shard may be done here: it is owned and
// its lease (if it has one) is still valid.
func (o *ownership) owns(shard int) bool {
	if !o.enabled.Load() {
		return true
	}
	if o.epochs[shard].Load() == 0 {
		return false
	}
	u := o.until[shard].Load()
	return u == 0 || time.Now().UnixNano() < u
}

// extend moves the end of the ownership of shards (their leases were
// renewed until until); zero = no end.
func (o *ownership) extend(shards []int, until time.Time) {
	var u int64
	if !until.IsZero() {
		u = until.UnixNano()
	}
	for _, s := range shards {
		if s >= 0 && s < len(o.until) {
			o.until[s].Store(u)
		}
	}
}

// fence returns the epochs the shards of products are held at, sorted and
// each once; nil when not enforcing. ok is false when one of them is not
// owned.
func (o *ownership) fence(shards []int) (fence []engine.ShardEpoch, ok bool) {
	if !o.enabled.Load() {
		return nil, true
	}
	slices.Sort(shards)
	for _, s := range slices.Compact(shards) {
		e := o.epochs[s].Load()
		if e == 0 || !o.owns(s) {
			return nil, false
		}
		fence = append(fence, engine.ShardEpoch{Shard: s, Epoch: e})
	}
	return fence, true
}

// Own makes this node the owner of held (shards at the epochs it bumped
// them to, in the database) and turns ownership on: from now on requests
// for other shards are refused with engine.ErrUnavailable, and commits are
// fenced. Call it before serving. until is when the ownership ends unless
// ExtendOwnership moves it (the shards' lease validity, minus a margin
// for clock drift); zero = no end (a single node, fenced by epochs alone).
func (inv *Inventory) Own(held []engine.ShardEpoch, until time.Time) {
	shards := make([]int, len(held))
	for i, h := range held {
		shards[i] = h.Shard
	}
	inv.owners.extend(shards, until)
	inv.owners.own(held)
}

// ExtendOwnership moves the end of the ownership of shards (their leases
// were renewed). Past the end, requests and commits for a shard are
// refused even if nothing else happens (a paused process that resumes
// writes nothing it could no longer prove it may write).
func (inv *Inventory) ExtendOwnership(shards []int, until time.Time) {
	inv.owners.extend(shards, until)
}

// Lose gives shards up at once, without draining (their leases were lost):
// new work is refused, work in flight fails at its commit.
func (inv *Inventory) Lose(shards []int) {
	if lost := inv.owners.lose(shards); len(lost) > 0 {
		inv.log.Warn().Ints("shards", lost).Msg("shards lost: their leases could not be renewed")
		inv.stopShards(lost)
	}
}

// ShardsOwned returns how many shards this node owns (all of them while
// ownership is off).
func (inv *Inventory) ShardsOwned() int {
	if !inv.owners.enabled.Load() {
		return len(inv.shards)
	}
	return int(inv.owners.owned.Load())
}

// shardsLost is the committer's report of shards fenced away: their idle
// actors are stopped now, the others once they are idle (admission
// refuses new work for them).
func (inv *Inventory) shardsLost(shards []int) {
	lost := inv.owners.lose(shards)
	if len(lost) == 0 {
		return
	}
	inv.log.Warn().Ints("shards", lost).Msg("shards lost: another node owns them now (fenced commit)")
	inv.stopShards(lost)
}

// stopShards stops the actors of shards with nothing in flight.
func (inv *Inventory) stopShards(lost []int) {
	now := time.Now()
	var pids []*actor.PID
	for _, s := range lost {
		sh := inv.shards[s]
		sh.mu.Lock()
		for e := sh.oldest; e != nil; {
			newer := e.newer
			if e.inflight.Load() == 0 {
				inv.remove(sh, e, now)
				pids = append(pids, e.pid)
			}
			e = newer
		}
		sh.mu.Unlock()
	}
	for _, pid := range pids {
		inv.system.Poison(pid)
	}
}

// handOffPoll is how often HandOff looks at the work still in flight.
const handOffPoll = 5 * time.Millisecond

// HandOff gives up shards gracefully: new requests for them are refused at
// once (503: the next owner will answer), the work already admitted is
// answered (its commits finish), and then their actors are stopped; only
// then may the caller release the shards' leases and epochs. It returns
// the shards handed off, or ctx's error if work was still in flight when
// ctx ended (the shards are not owned any more either way; work that
// finishes later is still answered, and fenced if another node took the
// shards meanwhile).
func (inv *Inventory) HandOff(ctx context.Context, shards []int) ([]int, error) {
	lost := inv.owners.lose(shards)
	t := time.NewTicker(handOffPoll)
	defer t.Stop()
	for !inv.idle(lost) {
		select {
		case <-ctx.Done():
			return lost, fmt.Errorf("actors: handing off shards %v: %w", lost, ctx.Err())
		case <-t.C:
		}
	}
	inv.stopShards(lost)
	return lost, nil
}

// idle reports whether no actor of shards has work in flight.
func (inv *Inventory) idle(shards []int) bool {
	for _, s := range shards {
		sh := inv.shards[s]
		sh.mu.Lock()
		busy := false
		for e := sh.oldest; e != nil && !busy; e = e.newer {
			busy = e.inflight.Load() > 0
		}
		sh.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}
