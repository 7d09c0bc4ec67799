package httpd

import (
	"context"
	"reflect"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// clusterFake is a Cluster that answers ClusterViewFunc.
type clusterFake struct {
	ClusterViewFunc func(ctx context.Context) (engine.ClusterView, error)
}

var _ Cluster = (*clusterFake)(nil)

func (f *clusterFake) ClusterView(ctx context.Context) (engine.ClusterView, error) {
	return f.ClusterViewFunc(ctx)
}

// GET /admin/cluster: admin only, the contract's shape (DESIGN.md
// "Cluster"): owner null for a shard nobody owns; 404 when not wired.
func TestAdminCluster(t *testing.T) {
	t.Parallel()
	view := engine.ClusterView{NodeID: "node-a",
		Nodes:  []engine.ClusterNode{{ID: "node-a", URL: "http://127.0.0.1:8080", ShardsOwned: 1}},
		Shards: []engine.ShardOwner{{Shard: 0, Epoch: 3, Node: "node-a", URL: "http://127.0.0.1:8080"}, {Shard: 1, Epoch: 2}}}
	f := newOrderFixture(t, func(_ *Config, d *Deps) {
		d.Cluster = &clusterFake{ClusterViewFunc: func(context.Context) (engine.ClusterView, error) { return view, nil }}
	})
	status, _, body := f.do("GET", "/admin/cluster", nil, f.adminAuth...)
	if status != 200 {
		t.Fatalf("GET /admin/cluster: %d %s", status, body)
	}
	var got map[string]any
	mustJSON(t, body, &got)
	want := map[string]any{
		"node_id": "node-a",
		"nodes":   []any{map[string]any{"id": "node-a", "url": "http://127.0.0.1:8080", "shards_owned": 1.0}},
		"shards": []any{
			map[string]any{"shard": 0.0, "owner": "node-a", "epoch": 3.0},
			map[string]any{"shard": 1.0, "owner": nil, "epoch": 2.0},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET /admin/cluster =\n  %v\nwant\n  %v", got, want)
	}
	if status, _, _ := f.do("GET", "/admin/cluster", nil, f.buyerAuth...); status != 403 {
		t.Errorf("a buyer: %d, want 403", status)
	}
	off := newOrderFixture(t)
	if status, _, _ := off.do("GET", "/admin/cluster", nil, off.adminAuth...); status != 404 {
		t.Errorf("not wired: %d, want 404", status)
	}
}
