package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Shard ownership (DESIGN.md "Cluster"): products hash into a fixed number
// of shards (ShardOf); each shard has at most one owner node at a time.
// Safety comes from the shard's epoch: a node that takes a shard bumps it,
// and every commit checks, in its own transaction, that the epochs of the
// shards it writes are still the ones its node holds — a stale owner's
// commit writes nothing (it is fenced).

// ShardsMax bounds the number of shards a cluster is configured with.
const ShardsMax = 1 << 16

// ShardOwner is one shard's row of ownership: its epoch (bumped by every
// acquisition; the first owner writes under epoch 1) and its owner, if any.
type ShardOwner struct {
	Shard     int
	Epoch     int64
	Node      string // "" while no node owns it
	URL       string // the owner's advertised base URL
	UpdatedAt time.Time
}

// ShardEpoch is the epoch at which a node holds a shard: what its commits
// for that shard are fenced against.
type ShardEpoch struct {
	Shard int
	Epoch int64
}

// ErrFenced means a commit named a shard whose epoch has moved on: another
// node took it (or this one re-took it) since. Nothing was written. It
// matches ErrUnavailable too: the caller may retry, and the new owner
// will answer.
var ErrFenced = errors.New("shard epoch moved on")

// FencedError lists the shards a commit was fenced for, sorted.
type FencedError struct {
	Shards []int
}

// Error names the stale shards.
func (e *FencedError) Error() string {
	s := make([]string, len(e.Shards))
	for i, n := range e.Shards {
		s[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("%v: shards %s", ErrFenced, strings.Join(s, ","))
}

// Is makes errors.Is(err, ErrFenced) and errors.Is(err, ErrUnavailable)
// true for a *FencedError.
func (e *FencedError) Is(target error) bool { return target == ErrFenced || target == ErrUnavailable }

// ParseFencedShards reads the comma-separated shard list of a fencing
// refusal (as the database reports it) into a sorted FencedError.
func ParseFencedShards(list string) (*FencedError, error) {
	var shards []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n >= ShardsMax {
			return nil, fmt.Errorf("fenced shard list %q: %w", list, ErrInvalid)
		}
		shards = append(shards, n)
	}
	slices.Sort(shards)
	return &FencedError{Shards: slices.Compact(shards)}, nil
}

// ClusterNode is a live node as the cluster sees it.
type ClusterNode struct {
	ID          string
	URL         string
	ShardsOwned int
}

// ClusterView is one node's view of the cluster: itself, the live nodes,
// and every shard's owner and epoch (GET /admin/cluster).
type ClusterView struct {
	NodeID string
	Nodes  []ClusterNode
	Shards []ShardOwner
}
