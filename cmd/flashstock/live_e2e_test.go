package main

import (
	"testing"
)

// listedStock returns the stock the first page of the product list shows
// for id (-1 when it is not listed).
func listedStock(t *testing.T, base, id string) float64 {
	t.Helper()
	status, page := api(t, "GET", base+"/products/?limit=100", "", nil)
	expectStatus(t, "list products", status, 200, page)
	for _, it := range page["items"].([]any) {
		if p := it.(map[string]any); p["id"] == id {
			return p["stock"].(float64)
		}
	}
	return -1
}

// The product list, cached in Redis, shows stock as live as the detail: an
// order is visible on the very next list request, not after the cache's
// TTL (orders do not invalidate the cache; the stock comes from the SKU
// actor's memory).
func TestListedStockIsLive(t *testing.T) {
	t.Parallel()
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off")
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	id := newProduct(t, base, admin, "LIVE-1", 1000, 10)
	if got := listedStock(t, base, id); got != 10 {
		t.Fatalf("listed stock = %v, want 10", got)
	}
	buyer := register(t, base, "lister")
	for range 3 {
		status, body := api(t, "POST", base+"/orders/", buyer, orderBody(id, 1))
		expectStatus(t, "order", status, 201, body)
		if got, want := listedStock(t, base, id), stockOf(t, base, id); got != want {
			t.Fatalf("listed stock %v, detail %v: the list lags", got, want)
		}
	}
	if got := listedStock(t, base, id); got != 7 {
		t.Errorf("listed stock after 3 orders = %v, want 7", got)
	}
}
