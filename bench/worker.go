package bench

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// worker sends requests one at a time over the shared client; a run has
// as many workers as connections.
type worker struct {
	g    *generator
	rng  *rand.Rand
	req  *fasthttp.Request
	resp *fasthttp.Response
	url  []byte // scratch: base URL + path

	mu        sync.Mutex // guards the fields below; the progress reporter reads them
	requests  int64
	ok        int64
	hist      *hdrhistogram.Histogram
	errors    map[string]int64
	orderIDs  []string
	orderTags []int32 // orderIDs' request tags
}

func newWorker(g *generator, seed uint64) *worker {
	return &worker{g: g, rng: rand.New(rand.NewPCG(seed, uint64(g.start.UnixNano()))),
		req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		hist: newHistogram(), errors: map[string]int64{}}
}

// loop sends requests until the run is over.
func (w *worker) loop(ctx context.Context) {
	defer fasthttp.ReleaseRequest(w.req)
	defer fasthttp.ReleaseResponse(w.resp)
	for ctx.Err() == nil {
		_, intended, ok := w.g.claim()
		if !ok {
			return
		}
		if !intended.IsZero() {
			if d := time.Until(intended); d > 0 {
				sleep(ctx, d)
			}
		}
		r := w.g.src(w.rng)
		sent := time.Now()
		err := w.send(&r)
		done := time.Now()
		// Open loop: latency counts from the intended send time, so time
		// spent waiting for a free connection is not hidden (coordinated
		// omission).
		if !intended.IsZero() {
			sent = intended
		}
		w.record(&r, done.Sub(sent), err)
	}
}

// send performs one request; the answer is left in w.resp.
func (w *worker) send(r *Request) error {
	w.req.Reset()
	w.resp.Reset()
	w.url = append(append(w.url[:0], w.g.load.URL...), r.Path...)
	w.req.SetRequestURIBytes(w.url)
	w.req.Header.SetMethod(r.Method)
	if r.Auth != "" {
		w.req.Header.Set(fasthttp.HeaderAuthorization, r.Auth)
	}
	if r.Body != nil {
		w.req.Header.SetContentType("application/json")
		w.req.SetBodyRaw(r.Body)
	}
	return w.g.client.DoTimeout(w.req, w.resp, requestTimeout)
}

// record counts one answer (or transport error) and its latency.
func (w *worker) record(r *Request, latency time.Duration, err error) {
	var id string
	status := w.resp.StatusCode()
	okAnswer := err == nil && status == r.Expect
	if okAnswer && r.Order {
		id = orderID(w.resp.Body())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	_ = w.hist.RecordValue(clampMicros(latency))
	switch {
	case okAnswer:
		w.ok++
		if r.Order {
			w.orderIDs = append(w.orderIDs, id)
			w.orderTags = append(w.orderTags, r.Tag)
		}
	case err != nil:
		w.errors[transportError(err)]++
	default:
		w.countError(status, problemCode(w.resp.Body()))
	}
}

// countError counts an answer by "status code"; the lookup of a key seen
// before does not allocate.
func (w *worker) countError(status int, code []byte) {
	var buf [80]byte
	key := strconv.AppendInt(buf[:0], int64(status), 10)
	if len(code) > 0 {
		key = append(append(key, ' '), code...)
	}
	if _, seen := w.errors[string(key)]; seen {
		w.errors[string(key)]++
		return
	}
	w.errors[string(key)] = 1
}

// orderID returns the "id" of an order answer, or "" when it has none.
func orderID(body []byte) string {
	i := bytes.Index(body, []byte(`"id":"`))
	if i < 0 || len(body) < i+6+orderIDBytes {
		return ""
	}
	return string(body[i+6 : i+6+orderIDBytes])
}

// problemCode returns the "code" of a problem+json body, or nil.
func problemCode(body []byte) []byte {
	i := bytes.Index(body, []byte(`"code":"`))
	if i < 0 {
		return nil
	}
	rest := body[i+8:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || end > problemCodeMax {
		return nil
	}
	return rest[:end]
}

// transportError names a failed request by kind.
func transportError(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return "transport: timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "transport: no free connections"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "transport: connection closed"
	}
	msg := err.Error()
	if len(msg) > problemCodeMax {
		msg = msg[:problemCodeMax]
	}
	return "transport: " + msg
}

func clampMicros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	switch {
	case us < int64(latencyMin/time.Microsecond):
		return int64(latencyMin / time.Microsecond)
	case us > int64(latencyMax/time.Microsecond):
		return int64(latencyMax / time.Microsecond)
	}
	return us
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
