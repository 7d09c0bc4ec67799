package httpd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// A request's context behaves as context.WithTimeout's would: bounded by
// its deadline when waited on, canceled when the request ends, its
// cancellation reaching derived contexts; but one nothing waits on makes no
// timer.

func wantClosed(t *testing.T, what string, ctx context.Context, err error) {
	t.Helper()
	select {
	case <-ctx.Done():
	default:
		t.Fatalf("%s: Done is open", what)
	}
	if !errors.Is(ctx.Err(), err) {
		t.Fatalf("%s: Err = %v, want %v", what, ctx.Err(), err)
	}
}

func TestRequestContextNotWaitedOn(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	r := &requestContext{deadline: deadline}
	ctx := engine.WithRequestID(r, "req-1")
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Deadline = %v, %v; want %v", d, ok, deadline)
	}
	if got := engine.RequestID(ctx); got != "req-1" {
		t.Fatalf("RequestID = %q", got)
	}
	r.end()
	if r.cancel != nil {
		t.Fatal("a context nobody waited on made a timer")
	}
	wantClosed(t, "after end", ctx, context.Canceled)
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Deadline after end = %v, %v", d, ok)
	}
}

func TestRequestContextWaitedOnIsCanceledAtEnd(t *testing.T) {
	r := &requestContext{deadline: time.Now().Add(time.Hour)}
	ctx := engine.WithRequestID(r, "req-2")
	select {
	case <-ctx.Done():
		t.Fatal("Done closed before the deadline or the end")
	default:
	}
	if ctx.Err() != nil || ctx.Value(testCtxKey{}) != nil {
		t.Fatalf("Err = %v, Value = %v before the end", ctx.Err(), ctx.Value(testCtxKey{}))
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	grandchild, cancel2 := context.WithTimeout(context.WithValue(child, testCtxKey{}, 1), time.Hour)
	defer cancel2()
	r.end()
	wantClosed(t, "request", ctx, context.Canceled)
	wantClosed(t, "derived", child, context.Canceled)
	wantClosed(t, "derived twice", grandchild, context.Canceled)
	late, cancel3 := context.WithCancel(ctx) // derived after the end
	defer cancel3()
	wantClosed(t, "derived after the end", late, context.Canceled)
}

// testCtxKey keys a context value in these tests.
type testCtxKey struct{}

func TestRequestContextDeadline(t *testing.T) {
	past := &requestContext{deadline: time.Now().Add(-time.Nanosecond)}
	wantClosed(t, "past deadline", past, context.DeadlineExceeded)
	past.end()
	wantClosed(t, "past deadline, ended", past, context.DeadlineExceeded)

	soon := &requestContext{deadline: time.Now().Add(10 * time.Millisecond)}
	defer soon.end()
	child, cancel := context.WithCancel(soon)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(time.Minute): // a guard against a hang, not a timing check
		t.Fatal("the deadline did not end a derived context")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) || !errors.Is(soon.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v and %v, want the deadline", child.Err(), soon.Err())
	}
}

// TestRequestContextConcurrentUse: waiting, deriving and ending at once
// (for the race detector) end with every context closed.
func TestRequestContextConcurrentUse(t *testing.T) {
	for range 50 {
		r := &requestContext{deadline: time.Now().Add(time.Hour)}
		var wg sync.WaitGroup
		children := make(chan context.Context, 4)
		for range 4 {
			wg.Go(func() {
				child, cancel := context.WithCancel(r)
				_ = r.Err()
				children <- child
				<-child.Done()
				cancel()
			})
		}
		wg.Go(r.end)
		wg.Wait()
		close(children)
		wantClosed(t, "request", r, context.Canceled)
		for child := range children {
			wantClosed(t, "derived", child, context.Canceled)
		}
	}
}

// TestRequestTimeoutBoundsWork: through the server, work that waits on the
// request's context is ended by Config.RequestTimeout, and a read that waits
// on nothing is answered.
func TestRequestTimeoutBoundsWork(t *testing.T) {
	t.Parallel()
	got := make(chan error, 1)
	var deadline time.Time
	ts := newTestServer(t, func(cfg *Config, d *Deps) {
		cfg.RequestTimeout = 20 * time.Millisecond
		d.Products = &productsFake{ProductFunc: func(ctx context.Context, id engine.ID) (engine.Product, error) {
			deadline, _ = ctx.Deadline()
			<-ctx.Done()
			got <- ctx.Err()
			return engine.Product{}, fmt.Errorf("product %s: %w", id, engine.ErrUnavailable)
		}}
	})
	before := time.Now()
	status, _, body := ts.do("GET", "/products/"+orderProductA.String(), nil)
	if status != 503 {
		t.Fatalf("status %d: %s", status, body)
	}
	if err := <-got; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the handler's context ended with %v, want its deadline", err)
	}
	if deadline.Before(before) || deadline.After(time.Now().Add(20*time.Millisecond)) {
		t.Fatalf("deadline %v is not the request's start plus 20ms (request sent at %v)", deadline, before)
	}
}
