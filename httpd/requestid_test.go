package httpd

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

var generatedRequestID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestNewRequestIDs: generated ids are 32 lowercase hex characters and do
// not repeat, made concurrently as the server's workers make them.
func TestNewRequestIDs(t *testing.T) {
	const workers, perWorker = 4, 2000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range perWorker {
				ids[w] = append(ids[w], string(appendNewRequestID(nil)))
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, workers*perWorker)
	for _, batch := range ids {
		for _, id := range batch {
			if !generatedRequestID.MatchString(id) {
				t.Fatalf("generated id %q is not 32 lowercase hex characters", id)
			}
			if seen[id] {
				t.Fatalf("id %q generated twice", id)
			}
			seen[id] = true
		}
	}
	if b := appendNewRequestID([]byte("prefix")); !strings.HasPrefix(string(b), "prefix") || len(b) != len("prefix")+32 {
		t.Errorf("appendNewRequestID does not append: %q", b)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = appendNewRequestID(buf[:0]) }); n != 0 {
		t.Errorf("appendNewRequestID into a roomy buffer allocates %v times", n)
	}
}

// TestSetRequestID: a sane client id is kept; no id, an empty, oversized or
// unprintable one is replaced by a generated id, different each time.
func TestSetRequestID(t *testing.T) {
	set := func(client string, given bool) string {
		var ctx fasthttp.RequestCtx
		if given {
			ctx.Request.Header.Set(headerRequestID, client)
		}
		setRequestID(&ctx)
		return string(ctx.Response.Header.Peek(headerRequestID))
	}
	for _, id := range []string{"abc-123", "~", strings.Repeat("x", requestIDBytesMax)} {
		if got := set(id, true); got != id {
			t.Errorf("client id %q answered as %q", id, got)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", requestIDBytesMax+1), "with space", "tab\t", "é"} {
		first, second := set(id, id != ""), set(id, id != "")
		if !generatedRequestID.MatchString(first) || !generatedRequestID.MatchString(second) || first == second {
			t.Errorf("client id %q: generated %q then %q, want two different 32-hex ids", id, first, second)
		}
	}
}
