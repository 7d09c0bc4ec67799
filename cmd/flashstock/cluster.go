package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// shardsTimeout bounds the start-up steps of shard ownership (an
// acquisition waits for the commits in flight of a node it fences).
const shardsTimeout = 30 * time.Second

// nodeIdentity is this node's id and advertised URL: the configured ones,
// or the host name and port of addr (the listen address, known once
// listening) and http:// + addr.
func nodeIdentity(c config, addr string) (id, url string) {
	id, url = c.NodeID, c.AdvertiseURL
	if id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "flashstock"
		}
		_, port, _ := net.SplitHostPort(addr)
		id = host + "-" + port
	}
	if url == "" {
		url = "http://" + addr
	}
	return id, url
}

// ensureShards makes the shard rows on the first start and refuses to start
// with another number of shards than the cluster has.
func ensureShards(ctx context.Context, c config, store *persist.Store) error {
	ctx, cancel := context.WithTimeout(ctx, shardsTimeout)
	defer cancel()
	if err := store.EnsureShards(ctx, c.Shards); err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	return nil
}

// takeAllShards makes this node the owner of every shard by bumping every
// epoch (DESIGN.md: a node without leases is a single node owning every
// shard through epochs alone), then turns ownership on in the inventory. A
// second process started on the same database by mistake does the same
// and fences this one: its commits are refused, it stops selling.
func takeAllShards(ctx context.Context, c config, store *persist.Store, inv *actors.Inventory,
	id, url string, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, shardsTimeout)
	defer cancel()
	all := make([]int, c.Shards)
	for i := range all {
		all[i] = i
	}
	held, err := store.AcquireShards(ctx, all, id, url)
	if err != nil {
		return fmt.Errorf("taking the shards: %w", err)
	}
	inv.Own(held, time.Time{}) // no lease: owned until fenced
	log.Info().Str("node_id", id).Str("advertise_url", url).Int("shards", len(held)).
		Int64("epoch_min", held[0].Epoch).Msg("owning every shard (single node: fencing epochs, no leases)")
	return nil
}

// shardsReady is /readyz's check of ownership: a node that owns no shard
// (fenced by another, or not started yet) cannot sell.
type shardsReady struct{ inv *actors.Inventory }

// Ping fails while this node owns no shard.
func (r shardsReady) Ping(context.Context) error {
	if r.inv.ShardsOwned() == 0 {
		return errors.New("this node owns no shard")
	}
	return nil
}

// clusterView is httpd's Cluster port: this node (single-node mode: the
// only live node) and every shard's row of shard_owners.
type clusterView struct {
	store   *persist.Store
	inv     *actors.Inventory
	id, url string // set once listening, before serving
}

// ClusterView returns this node's view of the cluster.
func (v *clusterView) ClusterView(ctx context.Context) (engine.ClusterView, error) {
	shards, err := v.store.ShardOwners(ctx)
	if err != nil {
		return engine.ClusterView{}, err
	}
	return engine.ClusterView{NodeID: v.id, Shards: shards,
		Nodes: []engine.ClusterNode{{ID: v.id, URL: v.url, ShardsOwned: v.inv.ShardsOwned()}}}, nil
}
