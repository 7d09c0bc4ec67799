package httpd

import (
	"context"
	"sync"
	"time"
)

// requestContext is the context.Context of a request, bounded by
// Config.RequestTimeout, whose timer is made only when something waits: the
// first Done, Err or Value makes the context.WithDeadline it stands for.
// A request answered from memory (GET /products/{id} of a live product)
// waits on nothing and so costs no timer: context.WithTimeout was 4 of the
// 10 allocations and about 15% of the CPU of that request's handling.
// Deadline needs no timer. The wrapper ends it when the request ends; a
// context that was never waited on is then ended without a timer. Safe for
// concurrent use.
type requestContext struct {
	deadline time.Time
	once     sync.Once
	ctx      context.Context    // set by once: the timed context, or endedContext
	cancel   context.CancelFunc // set by once with the timed context; nil otherwise
}

// endedContext is the context of every request that ended before anything
// waited on it: canceled, as the timed context is once the request ends.
var endedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// timed returns the context r stands for, making it on first use.
func (r *requestContext) timed() context.Context {
	r.once.Do(func() { r.ctx, r.cancel = context.WithDeadline(context.Background(), r.deadline) })
	return r.ctx
}

// Deadline implements context.Context.
func (r *requestContext) Deadline() (time.Time, bool) { return r.deadline, true }

// Done implements context.Context.
func (r *requestContext) Done() <-chan struct{} { return r.timed().Done() }

// Err implements context.Context.
func (r *requestContext) Err() error { return r.timed().Err() }

// Value implements context.Context. It makes the timed context too: a
// context derived from r (context.WithCancel) asks Done and then Value for
// the parent's cancellation, and must get the timed context's.
func (r *requestContext) Value(key any) any { return r.timed().Value(key) }

// end cancels r, once the request has been answered; anything waiting on it
// later finds it canceled.
func (r *requestContext) end() {
	r.once.Do(func() { r.ctx = endedContext })
	if r.cancel != nil {
		r.cancel()
	}
}
