package main

import (
	"strings"
	"testing"
)

// TestHeaderLimitEndToEnd: FLASHSTOCK_HEADER_BYTES_MAX reaches the
// transport. A request whose line and headers fit is served; one over the
// limit is 431 header_too_large, with an X-Request-ID.
func TestHeaderLimitEndToEnd(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, testEnv(t, "FLASHSTOCK_HEADER_BYTES_MAX", "2048"))
	cookie := func(n int) map[string]string { return map[string]string{"Cookie": "s=" + strings.Repeat("c", n)} }
	if status, body, _ := call(t, "GET", base+"/healthz", "", cookie(1024), nil); status != 200 {
		t.Errorf("1 KiB cookie: %d %v, want 200", status, body)
	}
	status, body, hdr := call(t, "GET", base+"/healthz", "", cookie(3072), nil)
	if status != 431 || body["code"] != "header_too_large" || hdr.Get("X-Request-ID") == "" {
		t.Errorf("3 KiB cookie: %d %v (X-Request-ID %q), want 431 header_too_large with an id", status, body, hdr.Get("X-Request-ID"))
	}
}
