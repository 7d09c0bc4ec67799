package engine_test

import (
	"fmt"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// With k nodes each owns between N/(2k) and 2N/k of N shards (DESIGN.md's
// fairness bound), and a node leaving moves only the shards it owned.
func TestRendezvousOwnerFairAndStable(t *testing.T) {
	const shards = 256
	for _, k := range []int{2, 3, 5} {
		var nodes []string
		for i := range k {
			nodes = append(nodes, fmt.Sprintf("host-%d-808%d", i, i))
		}
		count := map[string]int{}
		owner := make([]string, shards)
		for s := range shards {
			owner[s] = engine.RendezvousOwner(s, nodes)
			count[owner[s]]++
		}
		for _, n := range nodes {
			if c := count[n]; c < shards/(2*k) || c > 2*shards/k {
				t.Errorf("%d nodes: %s owns %d shards, want between %d and %d", k, n, c, shards/(2*k), 2*shards/k)
			}
		}
		gone := nodes[0]
		for s := range shards {
			after := engine.RendezvousOwner(s, nodes[1:])
			if owner[s] != gone && after != owner[s] {
				t.Errorf("%d nodes: shard %d moved from %s to %s although %s stayed", k, s, owner[s], after, owner[s])
			}
		}
	}
	if got := engine.RendezvousOwner(7, nil); got != "" {
		t.Errorf("no nodes: %q, want none", got)
	}
	if a, b := engine.RendezvousOwner(9, []string{"a", "b", "c"}), engine.RendezvousOwner(9, []string{"c", "a", "b"}); a != b {
		t.Errorf("the order of the node list changed the owner: %s vs %s", a, b)
	}
}
