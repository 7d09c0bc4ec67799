package main

import (
	"encoding/base64"
	"maps"
	"net/http"
	"testing"
	"time"
)

// TestSecondProcessFencesTheFirst: two processes started on one database
// without Redis (so without leases) each take every shard by bumping its
// epoch. The newer one
// fences the older: the older's next commit is refused by the database
// (counted in flashstock_fencing_rejections_total), it answers 503 and
// stops selling, and the newer one sells; no unit is sold twice, every
// acknowledged order is stored, and the epochs only ever grew.
func TestSecondProcessFencesTheFirst(t *testing.T) {
	t.Parallel()
	first := startCrashServer(t, "FLASHSTOCK_ENV", "prod", "FLASHSTOCK_REDIS_URL", "",
		"FLASHSTOCK_WEBHOOK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	admin := adminToken(t, first.vars, first.base)
	product := newProduct(t, first.base, admin, "FENCE-1", 500, 50)
	buyer := register(t, first.base, "fenced")
	acked := 0
	for range 3 { // the first process sells, and has the product's actor live
		status, body := api(t, "POST", first.base+"/orders/", buyer, orderBody(product, 1))
		expectStatus(t, "order on the first process", status, 201, body)
		acked++
	}
	conn := auditConn(t, first.vars)
	epochs := func() map[int]int64 {
		rows, err := conn.Query(t.Context(), "SELECT shard_id, epoch FROM shard_owners ORDER BY shard_id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]int64{}
		for rows.Next() {
			var s int
			var e int64
			if err := rows.Scan(&s, &e); err != nil {
				t.Fatal(err)
			}
			out[s] = e
		}
		return out
	}
	before := epochs()
	if len(before) != 256 || before[0] != 1 {
		t.Fatalf("after the first start: %d shards, shard 0 at epoch %d; want 256 at epoch 1", len(before), before[0])
	}

	// The same configuration on another address: a second process by mistake.
	vars := maps.Clone(first.vars)
	addr := freeAddr(t)
	vars["FLASHSTOCK_HTTP_ADDR"] = addr
	second := startProcess(t, first.bin, "http://"+addr, vars)
	after := epochs()
	for s, e := range after {
		if e != before[s]+1 {
			t.Fatalf("shard %d at epoch %d after the second start, want %d", s, e, before[s]+1)
		}
	}

	status, body := api(t, "POST", first.base+"/orders/", buyer, orderBody(product, 1))
	if status != http.StatusServiceUnavailable || body["code"] != "unavailable" {
		t.Fatalf("order on the fenced process = %d %v, want 503 unavailable:\n%s", status, body, first.proc.logs.String())
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if m := readMetrics(client, first.base, []string{"flashstock_fencing_rejections_total", "flashstock_shards_owned"}); m["flashstock_fencing_rejections_total"] < 1 {
		t.Errorf("the fenced process counts %v fencing rejections, want at least 1", m["flashstock_fencing_rejections_total"])
	}
	status, body = api(t, "POST", first.base+"/orders/", buyer, orderBody(product, 1))
	if status != http.StatusServiceUnavailable {
		t.Errorf("a later order on the fenced process = %d %v, want 503 (it no longer owns the shard)", status, body)
	}
	for range 2 {
		status, body := api(t, "POST", "http://"+addr+"/orders/", buyer, orderBody(product, 1))
		expectStatus(t, "order on the second process", status, 201, body)
		acked++
	}
	var stock, sold int64
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT stock FROM products WHERE id = $1),
  (SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = $1)`, product).Scan(&stock, &sold); err != nil {
		t.Fatal(err)
	}
	if sold != int64(acked) || stock+sold != 50 {
		t.Errorf("stock %d, sold %d; want %d sold (every 201, nothing else) and stock + sold = 50", stock, sold, acked)
	}
	// The second process's view: it owns every shard, at epoch 2.
	secondAdmin := login(t, "http://"+addr, "boss", "an-admin-password")
	status, view := api(t, "GET", "http://"+addr+"/admin/cluster", secondAdmin, nil)
	expectStatus(t, "cluster view", status, 200, view)
	id, _ := view["node_id"].(string)
	nodes, _ := view["nodes"].([]any)
	shards, _ := view["shards"].([]any)
	if id == "" || len(nodes) != 1 || len(shards) != 256 {
		t.Fatalf("cluster view: node %q, %d nodes, %d shards; want this node, itself, 256 shards", id, len(nodes), len(shards))
	}
	for _, sh := range shards {
		if m := sh.(map[string]any); m["owner"] != id || m["epoch"] != 2.0 {
			t.Fatalf("shard %v: want owner %s at epoch 2", m, id)
		}
	}
	if n := nodes[0].(map[string]any); n["id"] != id || n["url"] != "http://"+addr || n["shards_owned"] != 256.0 {
		t.Errorf("node %v, want %s at http://%s owning 256 shards", n, id, addr)
	}
	_ = second
}
