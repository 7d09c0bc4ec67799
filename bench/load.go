package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Limits of the load generator.
const (
	connectionsMax  = 4096
	requestTimeout  = 10 * time.Second // per request; a slower answer counts as an error
	latencyMin      = time.Microsecond
	latencyMax      = time.Minute // longer latencies are clamped to this
	latencySigFigs  = 3
	orderIDBytes    = 36 // a UUID in its text form
	problemCodeMax  = 64 // bytes of a problem code we keep when classifying errors
	progressEvery   = 2 * time.Second
	openLoopLateMax = 2 * time.Second // an open-loop run stops sending this long after its end
)

// Request is one HTTP request a scenario sends. Requests are built before
// the run and shared read-only by the workers.
type Request struct {
	Method string
	Path   string // with a leading slash, for example /orders/
	Auth   string // the whole Authorization header value; empty for none
	Body   []byte
	// Expect is the status of a successful answer (201 for an order).
	Expect int
	// Order marks order creations: the ids of their 201 answers are kept
	// for the audit.
	Order bool
	// Tag is kept beside the id of an order's 201 answer (Outcome.OrderTags):
	// the product-block scenarios put the product's index there.
	Tag int32
}

// Source picks the next request. It is called concurrently, each worker
// with its own random source.
type Source func(r *rand.Rand) Request

// Load says how to drive one run.
type Load struct {
	URL         string // the target's base URL, http://host:port
	Connections int    // closed loop: concurrency; open loop: most requests in flight
	// Rate > 0 makes the run open-loop at Rate requests per second;
	// 0 is closed-loop.
	Rate     float64
	Duration time.Duration
	// Requests > 0 stops the run after that many requests (whichever of
	// it and Duration comes first).
	Requests int64
	// Progress receives a line every few seconds; nil for none.
	Progress func(Snapshot)
}

// Snapshot is the state of a run in progress.
type Snapshot struct {
	Elapsed  time.Duration
	Requests int64
	OK       int64
	Errors   int64
	Rate     float64 // answers per second since the previous snapshot
	P99      time.Duration
}

// Outcome is what a run measured.
type Outcome struct {
	Elapsed  time.Duration
	Requests int64
	OK       int64
	Errors   map[string]int64
	// Unsent counts open-loop requests whose intended send time passed
	// while every connection was busy and that were never sent.
	Unsent    int64
	Latency   *hdrhistogram.Histogram // microseconds
	OrderIDs  []string                // from the 201 answers of order requests
	OrderTags []int32                 // the Tag of each of OrderIDs' requests, in the same order
}

// Generate drives load at l.URL with requests from src until the duration
// or request count is reached or ctx ends.
func Generate(ctx context.Context, l Load, src Source) (Outcome, error) {
	u, err := url.Parse(l.URL)
	if err != nil || u.Host == "" {
		return Outcome{}, fmt.Errorf("bench: target URL %q: not http://host:port", l.URL)
	}
	if l.Connections < 1 || l.Connections > connectionsMax {
		return Outcome{}, fmt.Errorf("bench: connections must be between 1 and %d", connectionsMax)
	}
	if l.Duration <= 0 {
		return Outcome{}, errors.New("bench: duration must be positive")
	}
	client := &fasthttp.HostClient{Addr: u.Host, MaxConns: l.Connections, ReadTimeout: requestTimeout,
		WriteTimeout: requestTimeout, MaxIdemponentCallAttempts: 1, NoDefaultUserAgentHeader: true}
	defer client.CloseIdleConnections()
	g := &generator{load: l, client: client, src: src, host: u.Host, start: time.Now()}
	if l.Rate > 0 {
		g.interval = time.Duration(float64(time.Second) / l.Rate)
		if g.interval <= 0 {
			return Outcome{}, errors.New("bench: rate too high")
		}
	}
	g.end = g.start.Add(l.Duration)
	ctx, cancel := context.WithDeadline(ctx, g.end.Add(openLoopLateMax+requestTimeout))
	defer cancel()
	g.workers = make([]*worker, l.Connections)
	var wg sync.WaitGroup
	for i := range g.workers {
		w := newWorker(g, uint64(i))
		g.workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.loop(ctx) }()
	}
	stopProgress := g.reportProgress()
	wg.Wait()
	stopProgress()
	return g.outcome(time.Since(g.start)), nil
}

// generator is the shared state of one run.
type generator struct {
	load       Load
	client     *fasthttp.HostClient
	src        Source
	host       string
	start, end time.Time
	interval   time.Duration // open loop: between intended sends
	next       atomic.Int64  // sequence number of the next request
	unsent     atomic.Int64
	workers    []*worker
}

// claim returns the next request's sequence number and, open-loop, its
// intended send time; ok is false when the run is over.
func (g *generator) claim() (seq int64, intended time.Time, ok bool) {
	seq = g.next.Add(1) - 1
	if g.load.Requests > 0 && seq >= g.load.Requests {
		return 0, time.Time{}, false
	}
	if g.interval == 0 {
		return seq, time.Time{}, time.Now().Before(g.end)
	}
	intended = g.start.Add(time.Duration(seq) * g.interval)
	if !intended.Before(g.end) {
		return 0, time.Time{}, false
	}
	if time.Since(intended) > openLoopLateMax {
		// Far behind: stop rather than run on long after the end, and say
		// how many intended requests were never sent.
		if total := int64(g.load.Duration / g.interval); total > seq {
			g.unsent.Store(total - seq)
		}
		g.next.Store(1 << 62)
		return 0, time.Time{}, false
	}
	return seq, intended, true
}

// outcome merges the workers' results.
func (g *generator) outcome(elapsed time.Duration) Outcome {
	o := Outcome{Elapsed: elapsed, Errors: map[string]int64{}, Unsent: g.unsent.Load(), Latency: newHistogram()}
	for _, w := range g.workers {
		w.mu.Lock()
		o.Requests += w.requests
		o.OK += w.ok
		o.Latency.Merge(w.hist)
		for k, n := range w.errors {
			o.Errors[k] += n
		}
		o.OrderIDs = append(o.OrderIDs, w.orderIDs...)
		o.OrderTags = append(o.OrderTags, w.orderTags...)
		w.mu.Unlock()
	}
	if o.Unsent > 0 {
		o.Errors["unsent (generator behind schedule)"] = o.Unsent
	}
	return o
}

// reportProgress calls Load.Progress every few seconds until the returned
// function is called.
func (g *generator) reportProgress() (stop func()) {
	if g.load.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		var last int64
		lastAt := g.start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s := g.snapshot(now)
				s.Rate = float64(s.Requests-last) / now.Sub(lastAt).Seconds()
				last, lastAt = s.Requests, now
				g.load.Progress(s)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// snapshot sums the workers' counters and latencies so far.
func (g *generator) snapshot(now time.Time) Snapshot {
	s := Snapshot{Elapsed: now.Sub(g.start)}
	h := newHistogram()
	for _, w := range g.workers {
		w.mu.Lock()
		s.Requests += w.requests
		s.OK += w.ok
		s.Errors += w.requests - w.ok
		h.Merge(w.hist)
		w.mu.Unlock()
	}
	s.P99 = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
	return s
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(int64(latencyMin/time.Microsecond), int64(latencyMax/time.Microsecond), latencySigFigs)
}
