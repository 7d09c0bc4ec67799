package main

import (
	"fmt"
	"maps"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// clusterTTL is the lease TTL of the cluster tests: short, so that
// failovers are quick, and long enough for a loaded machine.
const clusterTTL = 2 * time.Second

// clusterNode is one process of a test cluster.
type clusterNode struct {
	base string
	vars map[string]string
	proc *serverProcess
}

// startCluster starts n processes of the binary on one database, one Redis
// and one key prefix, each on its own address.
func startCluster(t *testing.T, n int) (*crashServer, []*clusterNode) {
	t.Helper()
	first := startCrashServer(t, "FLASHSTOCK_LEASE_TTL", clusterTTL.String())
	nodes := []*clusterNode{{base: first.base, vars: first.vars, proc: first.proc}}
	for range n - 1 {
		vars := maps.Clone(first.vars)
		addr := freeAddr(t)
		vars["FLASHSTOCK_HTTP_ADDR"] = addr
		nodes = append(nodes, &clusterNode{base: "http://" + addr, vars: vars, proc: startProcess(t, first.bin, "http://"+addr, vars)})
	}
	return first, nodes
}

// shardRow is one row of shard_owners.
type shardRow struct {
	owner string
	epoch int64
}

// shardOwners reads shard_owners.
func shardOwners(t *testing.T, conn *pgx.Conn) map[int]shardRow {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT shard_id, coalesce(owner_node, ''), epoch FROM shard_owners")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]shardRow{}
	for rows.Next() {
		var s int
		var r shardRow
		if err := rows.Scan(&s, &r.owner, &r.epoch); err != nil {
			t.Fatal(err)
		}
		out[s] = r
	}
	return out
}

// clusterNodes returns the node ids /admin/cluster of base lists, with the
// shards each owns.
func clusterNodes(t *testing.T, base, admin string) map[string]int {
	t.Helper()
	status, view := api(t, "GET", base+"/admin/cluster", admin, nil)
	if status != 200 {
		return nil
	}
	out := map[string]int{}
	nodes, _ := view["nodes"].([]any)
	for _, n := range nodes {
		m := n.(map[string]any)
		out[m["id"].(string)] = int(m["shards_owned"].(float64))
	}
	return out
}

// waitFair polls until every shard has an owner among want (node ids),
// each owning between N/(2k) and 2N/k, and /admin/cluster of base lists
// exactly want; it returns the shard owners then.
func waitFair(t *testing.T, conn *pgx.Conn, base, admin string, want []string, within time.Duration) map[int]shardRow {
	t.Helper()
	deadline := time.Now().Add(within)
	k := len(want)
	for {
		rows := shardOwners(t, conn)
		count := map[string]int{}
		for _, r := range rows {
			count[r.owner]++
		}
		fair := len(rows) == 256 && count[""] == 0
		for _, id := range want {
			fair = fair && count[id] >= 256/(2*k) && count[id] <= 2*256/k
		}
		listed := clusterNodes(t, base, admin)
		fair = fair && len(listed) == k
		for _, id := range want {
			fair = fair && listed[id] == count[id]
		}
		if fair && len(count) == k {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: owners %v, /admin/cluster %v; want every shard owned, fairly, by %v", within, count, listed, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nodeIDs returns the node ids the cluster view of base lists, sorted by
// the order of bases (the id is the host name and the HTTP port).
func nodeIDOf(t *testing.T, base, admin string) string {
	t.Helper()
	status, view := api(t, "GET", base+"/admin/cluster", admin, nil)
	expectStatus(t, "cluster view", status, 200, view)
	return view["node_id"].(string)
}

// Three processes on one database and one Redis share the shards: within
// 2 × TTL + 5 s every shard has exactly one owner, shares are fair, and
// shard_owners and every node's /admin/cluster agree. A node killed with
// SIGKILL loses its shards to the others within TTL + 5 s, each under a
// higher epoch, and leaves the live nodes; epochs never decrease.
func TestClusterSharesShardsAndFailsOver(t *testing.T) {
	t.Parallel()
	first, nodes := startCluster(t, 3)
	admin := adminToken(t, first.vars, first.base)
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = nodeIDOf(t, n.base, admin)
	}
	conn := auditConn(t, first.vars)
	before := waitFair(t, conn, first.base, admin, ids, 2*clusterTTL+5*time.Second)
	for _, n := range nodes[1:] {
		if got := clusterNodes(t, n.base, admin); len(got) != 3 {
			t.Errorf("%s sees %v, want the 3 nodes", n.base, got)
		}
	}

	victim := nodes[2]
	if err := victim.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.proc.done
	killedAt := time.Now()
	after := waitFair(t, conn, first.base, admin, ids[:2], clusterTTL+5*time.Second+time.Second)
	t.Logf("the killed node's shards were owned again after %v", time.Since(killedAt).Round(10*time.Millisecond))
	for s, r := range after {
		if r.epoch < before[s].epoch || before[s].owner == ids[2] && r.epoch <= before[s].epoch {
			t.Errorf("shard %d: epoch %d → %d (owner %s → %s); epochs never decrease, and a move bumps it",
				s, before[s].epoch, r.epoch, before[s].owner, r.owner)
		}
	}
}

// A node paused (SIGSTOP) past its lease while it serves loses its shards
// to the other, under new epochs; resumed (SIGCONT), it writes nothing for
// them: orders it receives for them are refused (503: its ownership ended
// with its lease's validity, and any commit would be fenced by the new
// epoch), and the database shows no unit sold twice and every acknowledged
// order stored.
func TestClusterPausedNodeWritesNothing(t *testing.T) {
	t.Parallel()
	first, nodes := startCluster(t, 2)
	admin := adminToken(t, first.vars, first.base)
	ids := []string{nodeIDOf(t, nodes[0].base, admin), nodeIDOf(t, nodes[1].base, admin)}
	conn := auditConn(t, first.vars)
	owners := waitFair(t, conn, first.base, admin, ids, 2*clusterTTL+5*time.Second)

	// A product whose shard the node to be paused owns.
	paused := nodes[1]
	var product string
	for i := 0; product == ""; i++ {
		id := newProduct(t, first.base, admin, fmt.Sprintf("PAUSE-%d", i), 100, 20)
		if owners[shardOfID(t, id)].owner == ids[1] {
			product = id
		}
	}
	buyer := register(t, first.base, "pauser")
	status, body := api(t, "POST", paused.base+"/orders/", buyer, orderBody(product, 1))
	expectStatus(t, "order on the owner before the pause", status, 201, body)
	acked := 1

	if err := paused.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	shard := shardOfID(t, product)
	deadline := time.Now().Add(clusterTTL + 5*time.Second + time.Second)
	for shardOwners(t, conn)[shard].owner != ids[0] {
		if time.Now().After(deadline) {
			t.Fatalf("the paused node's shard %d was not taken over within TTL + 5 s", shard)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The live node sells the product now (under the new epoch).
	for range 2 {
		status, body := api(t, "POST", nodes[0].base+"/orders/", buyer, orderBody(product, 1))
		expectStatus(t, "order on the new owner", status, 201, body)
		acked++
	}
	if err := paused.proc.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		status, body := api(t, "POST", paused.base+"/orders/", buyer, orderBody(product, 1))
		if status == 201 {
			t.Fatalf("the resumed node sold a unit of a shard it no longer owns: %v", body)
		}
		if status != http.StatusServiceUnavailable {
			t.Errorf("order on the resumed node = %d %v, want 503", status, body)
		}
	}
	var stock, sold int64
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT stock FROM products WHERE id = $1),
  (SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = $1)`, product).Scan(&stock, &sold); err != nil {
		t.Fatal(err)
	}
	if sold != int64(acked) || stock+sold != 20 {
		t.Errorf("stock %d, sold %d; want exactly the %d acknowledged units sold and stock + sold = 20", stock, sold, acked)
	}
}

// shardOfID is the shard of a product id in a cluster of 256 shards.
func shardOfID(t *testing.T, id string) int {
	t.Helper()
	pid, err := engine.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	return engine.ShardOf(pid, 256)
}
