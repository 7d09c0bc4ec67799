//go:build !race

package httpd

import "testing"

// Under the race detector sync.Pool drops some of what it is given back,
// and a dropped buffer is an allocation: the budget is checked without it.

// TestProductDetailAllocations holds the read path's allocation budget:
// the call, its request id and request-id context, and the router's path
// parameter (3). The body is encoded into a pooled buffer and the request's
// deadline makes no timer (requestContext).
func TestProductDetailAllocations(t *testing.T) {
	read := newProductReader(t)
	if n := testing.AllocsPerRun(200, read); n > 6 {
		t.Errorf("GET /products/{id} allocates %v times, want at most 6", n)
	}
}
