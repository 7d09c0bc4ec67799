package httpd

import (
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Cluster endpoint (DESIGN.md "Cluster"): admin only; this node's view of
// shard ownership.

func (s *Server) registerCluster() {
	s.handle("GET", "/admin/cluster", s.clusterView)
}

// errClusterOff answers GET /admin/cluster on a server built without
// Deps.Cluster (after authentication, so that only admins learn it).
var errClusterOff = engine.WithDetail(engine.ErrNotFound, "the cluster view is not enabled on this server")

// clusterView serves this node's view of the cluster.
func (s *Server) clusterView(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	if s.deps.Cluster == nil {
		return errClusterOff
	}
	v, err := s.deps.Cluster.ClusterView(c.context)
	if err != nil {
		return fmt.Errorf("cluster view: %w", err)
	}
	return c.respond(fasthttp.StatusOK, newClusterJSON(v))
}

// clusterJSON is GET /admin/cluster's answer.
type clusterJSON struct {
	NodeID string             `json:"node_id"`
	Nodes  []clusterNodeJSON  `json:"nodes"`
	Shards []clusterShardJSON `json:"shards"`
}

type clusterNodeJSON struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	ShardsOwned int    `json:"shards_owned"`
}

type clusterShardJSON struct {
	Shard int     `json:"shard"`
	Owner *string `json:"owner"` // null while no node owns it
	Epoch int64   `json:"epoch"`
}

func newClusterJSON(v engine.ClusterView) clusterJSON {
	out := clusterJSON{NodeID: v.NodeID, Nodes: make([]clusterNodeJSON, len(v.Nodes)),
		Shards: make([]clusterShardJSON, len(v.Shards))}
	for i, n := range v.Nodes {
		out.Nodes[i] = clusterNodeJSON{ID: n.ID, URL: n.URL, ShardsOwned: n.ShardsOwned}
	}
	for i, sh := range v.Shards {
		out.Shards[i] = clusterShardJSON{Shard: sh.Shard, Epoch: sh.Epoch}
		if sh.Node != "" {
			owner := sh.Node
			out.Shards[i].Owner = &owner
		}
	}
	return out
}
