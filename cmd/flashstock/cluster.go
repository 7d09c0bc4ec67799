package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/cluster"
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

// clusterView is httpd's Cluster port: this node, the live nodes (the
// announced ones; without leases, this node alone) and every shard's row
// of shard_owners.
type clusterView struct {
	store   *persist.Store
	inv     *actors.Inventory
	id, url string        // set once listening, before serving
	node    *cluster.Node // nil without leases; set before serving
}

// ClusterView returns this node's view of the cluster.
func (v *clusterView) ClusterView(ctx context.Context) (engine.ClusterView, error) {
	shards, err := v.store.ShardOwners(ctx)
	if err != nil {
		return engine.ClusterView{}, err
	}
	view := engine.ClusterView{NodeID: v.id, Shards: shards}
	if v.node == nil {
		view.Nodes = []engine.ClusterNode{{ID: v.id, URL: v.url, ShardsOwned: v.inv.ShardsOwned()}}
		return view, nil
	}
	owned := map[string]int{}
	for _, sh := range shards {
		if sh.Node != "" {
			owned[sh.Node]++
		}
	}
	for _, n := range v.node.LiveNodes() {
		view.Nodes = append(view.Nodes, engine.ClusterNode{ID: n.ID, URL: n.URL, ShardsOwned: owned[n.ID]})
	}
	return view, nil
}

// openLeases opens the shard leases' store: FLASHSTOCK_LEASE_REDIS_URLS, or
// FLASHSTOCK_REDIS_URL.
func openLeases(c config) (*persist.Leases, error) {
	urls := []string{c.RedisURL}
	if c.LeaseRedisURLs != "" {
		urls = nil
		for _, u := range strings.Split(c.LeaseRedisURLs, ",") {
			urls = append(urls, strings.TrimSpace(u))
		}
	}
	l, err := persist.NewLeases(persist.LeaseConfig{URLs: urls, Prefix: c.RedisPrefix, TTL: c.LeaseTTL})
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	return l, nil
}

// startOwnership makes this node serve its shards before it serves
// requests. With leases (Redis), it joins the cluster: a first round of
// the control loop takes the free shards rendezvous hashing gives it
// (all of them for a lone node), then the loop runs until leave, which
// hands them over gracefully. Without Redis, it takes every shard through
// epochs alone (takeAllShards). leave never fails and may be called once.
func startOwnership(ctx context.Context, c config, d *deps, k *core, obs *observability, view *clusterView,
	log zerolog.Logger) (leave func(), err error) {
	if d.leases == nil {
		return func() {}, takeAllShards(ctx, c, d.store, k.inv, view.id, view.url, log)
	}
	node, err := cluster.NewNode(cluster.Config{Node: view.id, URL: view.url, Shards: c.Shards, TTL: c.LeaseTTL,
		Observer: obs.metrics}, d.leases, d.store, k.inv, log.With().Str("component", "cluster").Logger())
	if err != nil {
		return nil, err
	}
	view.node = node
	node.Round(ctx)
	log.Info().Str("node_id", view.id).Str("advertise_url", view.url).Int("shards", len(node.Held())).
		Stringer("lease_ttl", c.LeaseTTL).Msg("joined the cluster (shard leases in Redis)")
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		node.Run(runCtx, c.ShutdownTimeout)
	}()
	return func() { stop(); <-done }, nil
}
