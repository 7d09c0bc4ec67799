package httpd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

var (
	_ Idempotency = (*memIdempotency)(nil)
	_ Idempotency = (*idempotencyFake)(nil)
)

// memIdempotency is a correct in-memory Idempotency: the engine's rules
// (IdempotencyClaim.Resolve) under one mutex, copies in and out.
type memIdempotency struct {
	mu      sync.Mutex // guards records
	records map[idemRecordKey]engine.IdempotencyRecord
}

type idemRecordKey struct {
	user engine.ID
	key  string
}

func newMemIdempotency() *memIdempotency {
	return &memIdempotency{records: map[idemRecordKey]engine.IdempotencyRecord{}}
}

func (m *memIdempotency) BeginIdempotent(_ context.Context, c engine.IdempotencyClaim) (engine.IdempotencyState, error) {
	if err := c.Validate(); err != nil {
		return engine.IdempotencyState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := idemRecordKey{c.UserID, c.Key}
	var cur *engine.IdempotencyRecord
	if r, ok := m.records[k]; ok {
		cur = &r
	}
	st, next := c.Resolve(cur)
	if next != nil {
		m.records[k] = *next
	}
	st.Body = slices.Clone(st.Body)
	return st, nil
}

func (m *memIdempotency) CompleteIdempotent(_ context.Context, user engine.ID, key string, attempt engine.ID, status int, body []byte) error {
	if err := engine.ValidateIdempotentResponse(status, body); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := idemRecordKey{user, key}
	r, ok := m.records[k]
	if !ok || r.Phase != engine.IdempotencyPhaseInFlight || r.Attempt != attempt {
		return nil
	}
	r.Phase, r.Status, r.Body = engine.IdempotencyPhaseDone, status, append([]byte{}, body...)
	m.records[k] = r
	return nil
}

func (m *memIdempotency) ReleaseIdempotent(_ context.Context, user engine.ID, key string, attempt engine.ID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := idemRecordKey{user, key}
	if r, ok := m.records[k]; ok && r.Phase == engine.IdempotencyPhaseInFlight && r.Attempt == attempt {
		delete(m.records, k)
	}
	return nil
}

// expireLease ends the lease of the key's in-flight record, as if its
// attempt had died long ago.
func (m *memIdempotency) expireLease(t *testing.T, user engine.ID, key string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := idemRecordKey{user, key}
	r, ok := m.records[k]
	if !ok || r.Phase != engine.IdempotencyPhaseInFlight {
		t.Fatalf("no in-flight record for %q", key)
	}
	r.LockedUntil = r.CreatedAt.Add(-time.Second)
	m.records[k] = r
}

// idempotencyFake is an Idempotency whose behaviour each test sets; a
// method whose func is nil fails with errFakeUnset.
type idempotencyFake struct {
	BeginIdempotentFunc    func(ctx context.Context, c engine.IdempotencyClaim) (engine.IdempotencyState, error)
	CompleteIdempotentFunc func(ctx context.Context, user engine.ID, key string, attempt engine.ID, status int, body []byte) error
	ReleaseIdempotentFunc  func(ctx context.Context, user engine.ID, key string, attempt engine.ID) error
}

func (f *idempotencyFake) BeginIdempotent(ctx context.Context, c engine.IdempotencyClaim) (engine.IdempotencyState, error) {
	if f.BeginIdempotentFunc == nil {
		return engine.IdempotencyState{}, errFakeUnset
	}
	return f.BeginIdempotentFunc(ctx, c)
}

func (f *idempotencyFake) CompleteIdempotent(ctx context.Context, user engine.ID, key string, attempt engine.ID, status int, body []byte) error {
	if f.CompleteIdempotentFunc == nil {
		return errFakeUnset
	}
	return f.CompleteIdempotentFunc(ctx, user, key, attempt, status, body)
}

func (f *idempotencyFake) ReleaseIdempotent(ctx context.Context, user engine.ID, key string, attempt engine.ID) error {
	if f.ReleaseIdempotentFunc == nil {
		return errFakeUnset
	}
	return f.ReleaseIdempotentFunc(ctx, user, key, attempt)
}

// idemFixture serves POST /idem/ through Server.idempotent. The user is
// the X-Test-User header. The work "creates" a resource named by the
// attempt id (work decides what happens; by default it succeeds with 201),
// and the lookup for an earlier attempt finds the resources created so far.
type idemFixture struct {
	*testServer
	idem *memIdempotency

	mu       sync.Mutex // guards the fields below
	work     func(c *call, attempt engine.ID) error
	runs     int
	created  map[engine.ID]bool
	lookedUp []engine.ID
}

const idemPath = "/idem/"

var (
	idemAlice = engine.ID{0xa1, 15: 1}
	idemBob   = engine.ID{0xb0, 15: 2}
)

func newIdemFixture(t *testing.T, idem Idempotency) *idemFixture {
	t.Helper()
	mem, _ := idem.(*memIdempotency)
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Idempotency = idem })
	f := &idemFixture{testServer: ts, idem: mem, created: map[engine.ID]bool{}}
	f.work = f.create
	// Registered before the first request: the request's trip through the
	// in-memory listener orders it before the server reads the router.
	ts.srv.handle("POST", idemPath, f.handle)
	return f
}

func (f *idemFixture) handle(c *call) error {
	user, err := engine.ParseID(string(c.ctx.Request.Header.Peek("X-Test-User")))
	if err != nil {
		return err
	}
	attempt, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		return err
	}
	return c.srv.idempotent(c, user, attempt,
		func(attempt engine.ID) error {
			f.mu.Lock()
			f.runs++
			work := f.work
			f.mu.Unlock()
			return work(c, attempt)
		},
		func(prev engine.ID) (bool, error) {
			f.mu.Lock()
			f.lookedUp = append(f.lookedUp, prev)
			found := f.created[prev]
			f.mu.Unlock()
			if !found {
				return false, nil
			}
			return true, c.respond(fasthttp.StatusCreated, map[string]string{"id": prev.String(), "found": "true"})
		})
}

// create is the default work: store the resource and answer 201.
func (f *idemFixture) create(c *call, attempt engine.ID) error {
	f.mu.Lock()
	f.created[attempt] = true
	f.mu.Unlock()
	return c.respond(fasthttp.StatusCreated, map[string]string{"id": attempt.String(), "body": string(c.ctx.Request.Body())})
}

func (f *idemFixture) setWork(work func(c *call, attempt engine.ID) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.work = work
}

func (f *idemFixture) runCount() int {
	runs, _ := f.counts()
	return runs
}

// counts returns how often the work ran and which earlier attempts were
// looked up.
func (f *idemFixture) counts() (runs int, lookedUp []engine.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs, slices.Clone(f.lookedUp)
}

// post sends body as user with the given Idempotency-Key ("" = none).
func (f *idemFixture) post(user engine.ID, key, body string) (int, []byte, []byte) {
	headers := []string{"X-Test-User", user.String()}
	if key != "" {
		headers = append(headers, headerIdempotencyKey, key)
	}
	return f.do("POST", idemPath, body, headers...)
}

// wantFresh checks a first response: 201 and not marked as replayed.
func wantFresh(t *testing.T, status int, hdr, body []byte) {
	t.Helper()
	if status != fasthttp.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", status, body)
	}
	if v := headerValue(hdr, headerIdempotentReplayed); v != "" {
		t.Errorf("%s = %q on a first response", headerIdempotentReplayed, v)
	}
}

// wantReplay checks that a response repeats want (status, body and
// content type) and is marked as replayed.
func wantReplay(t *testing.T, status int, hdr, body []byte, wantStatus int, wantBody []byte, wantType string) {
	t.Helper()
	if status != wantStatus || string(body) != string(wantBody) {
		t.Fatalf("replay = %d %s, want %d %s", status, body, wantStatus, wantBody)
	}
	if v := headerValue(hdr, headerIdempotentReplayed); v != "true" {
		t.Errorf("%s = %q, want true", headerIdempotentReplayed, v)
	}
	if ct := headerValue(hdr, "Content-Type"); ct != wantType {
		t.Errorf("Content-Type = %q, want %q", ct, wantType)
	}
}

func TestIdempotentWithoutKey(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	for range 2 {
		status, hdr, body := f.post(idemAlice, "", `{"n":1}`)
		wantFresh(t, status, hdr, body)
	}
	if n := f.runCount(); n != 2 {
		t.Errorf("work ran %d times, want 2", n)
	}

	// Without an Idempotency store the header is ignored.
	g := newIdemFixture(t, nil)
	for range 2 {
		status, hdr, body := g.post(idemAlice, "k", `{"n":1}`)
		wantFresh(t, status, hdr, body)
	}
	if n := g.runCount(); n != 2 {
		t.Errorf("without a store: work ran %d times, want 2", n)
	}
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	status, hdr, first := f.post(idemAlice, "k1", `{"n":1}`)
	wantFresh(t, status, hdr, first)
	status, hdr, again := f.post(idemAlice, "k1", `{"n":1}`)
	wantReplay(t, status, hdr, again, fasthttp.StatusCreated, first, "application/json")
	// The path is compared as routed: with or without the trailing slash.
	status, hdr, again = f.do("POST", strings.TrimSuffix(idemPath, "/"), `{"n":1}`,
		"X-Test-User", idemAlice.String(), headerIdempotencyKey, "k1")
	wantReplay(t, status, hdr, again, fasthttp.StatusCreated, first, "application/json")
	if n := f.runCount(); n != 1 {
		t.Errorf("work ran %d times, want 1", n)
	}

	// Keys are per user; another key is another request.
	status, hdr, body := f.post(idemBob, "k1", `{"n":1}`)
	wantFresh(t, status, hdr, body)
	status, hdr, body = f.post(idemAlice, "k2", `{"n":1}`)
	wantFresh(t, status, hdr, body)
	if n := f.runCount(); n != 3 {
		t.Errorf("work ran %d times, want 3", n)
	}
}

func TestIdempotentKeyReused(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
	wantFresh(t, status, hdr, body)
	status, hdr, body = f.post(idemAlice, "k", `{"n":2}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusUnprocessableEntity, "idempotency_key_reused")
	if n := f.runCount(); n != 1 {
		t.Errorf("work ran %d times, want 1", n)
	}
}

func TestIdempotentInFlight(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	started, finish := make(chan struct{}), make(chan struct{})
	f.setWork(func(c *call, attempt engine.ID) error {
		close(started)
		<-finish
		return f.create(c, attempt)
	})
	done := make(chan int)
	go func() {
		status, _, _ := f.post(idemAlice, "k", `{"n":1}`)
		done <- status
	}()
	<-started
	status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusConflict, "conflict")
	close(finish)
	if status := <-done; status != fasthttp.StatusCreated {
		t.Fatalf("first request: status %d, want 201", status)
	}
	status, hdr, body = f.post(idemAlice, "k", `{"n":1}`)
	if status != fasthttp.StatusCreated || headerValue(hdr, headerIdempotentReplayed) != "true" {
		t.Errorf("after the first finished: %d %s, want a replayed 201", status, body)
	}
	if n := f.runCount(); n != 1 {
		t.Errorf("work ran %d times, want 1", n)
	}
}

// TestIdempotentErrorRecorded: a 4xx outcome is recorded as the problem it
// rendered and replayed as is.
func TestIdempotentErrorRecorded(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	f.setWork(func(*call, engine.ID) error { return engine.Invalid("items", "must not be empty") })
	status, hdr, first := f.post(idemAlice, "k", `{"items":[]}`)
	p := wantProblem(t, status, hdr, first, fasthttp.StatusBadRequest, "validation_failed")
	if headerValue(hdr, headerIdempotentReplayed) != "" {
		t.Error("first response marked as replayed")
	}
	status, hdr, again := f.post(idemAlice, "k", `{"items":[]}`)
	wantReplay(t, status, hdr, again, fasthttp.StatusBadRequest, first, "application/problem+json")
	var replayed problem
	mustJSON(t, again, &replayed)
	if replayed.RequestID != p.RequestID || !slices.Equal(problemFields(replayed), []string{"items"}) {
		t.Errorf("replayed problem %+v, want the first one %+v", replayed, p)
	}
	if n := f.runCount(); n != 1 {
		t.Errorf("work ran %d times, want 1", n)
	}
}

// TestIdempotentRefusalReleased: a refusal that did no work (overloaded,
// rate limited) gives the key back, so the retry runs.
func TestIdempotentRefusalReleased(t *testing.T) {
	t.Parallel()
	for name, refusal := range map[string]struct {
		err    error
		status int
		code   string
	}{
		"overloaded":   {fmt.Errorf("sku inbox full: %w", engine.ErrOverloaded), fasthttp.StatusServiceUnavailable, "overloaded"},
		"rate limited": {errRateLimited, fasthttp.StatusTooManyRequests, "rate_limited"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newIdemFixture(t, newMemIdempotency())
			f.setWork(func(*call, engine.ID) error { return refusal.err })
			status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
			wantProblem(t, status, hdr, body, refusal.status, refusal.code)
			f.setWork(f.create)
			status, hdr, body = f.post(idemAlice, "k", `{"n":1}`)
			wantFresh(t, status, hdr, body)
			if n := f.runCount(); n != 2 {
				t.Errorf("work ran %d times, want 2", n)
			}
		})
	}
}

// TestIdempotentUnknownOutcome: a 5xx that may have committed leaves the
// key in flight; once the lease has run out, the next repeat takes the key
// over and answers with the earlier attempt's resource if it exists, or
// runs the work if it does not.
func TestIdempotentUnknownOutcome(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	attempts := make(chan engine.ID, 1)
	f.setWork(func(c *call, attempt engine.ID) error {
		attempts <- attempt
		_ = f.create(c, attempt) // committed, but the request timed out
		return fmt.Errorf("place order: %w", engine.ErrUnavailable)
	})
	status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusServiceUnavailable, "unavailable")
	first := <-attempts
	status, hdr, body = f.post(idemAlice, "k", `{"n":1}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusConflict, "conflict")

	f.idem.expireLease(t, idemAlice, "k")
	f.setWork(f.create)
	status, hdr, found := f.post(idemAlice, "k", `{"n":1}`)
	want := fmt.Sprintf(`{"found":"true","id":%q}`, first)
	wantReplay(t, status, hdr, found, fasthttp.StatusCreated, []byte(want), "application/json")
	// The takeover recorded what it found: later repeats replay it.
	status, hdr, body = f.post(idemAlice, "k", `{"n":1}`)
	wantReplay(t, status, hdr, body, fasthttp.StatusCreated, found, "application/json")
	if runs, lookedUp := f.counts(); runs != 1 || !slices.Equal(lookedUp, []engine.ID{first}) {
		t.Errorf("work ran %d times and looked up %v; want once (the earlier attempt's order exists) and [%s]",
			runs, lookedUp, first)
	}
}

func TestIdempotentTakeOverRuns(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	f.setWork(func(*call, engine.ID) error { return errors.New("crashed before writing") })
	status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusInternalServerError, "internal")

	f.idem.expireLease(t, idemAlice, "k")
	f.setWork(f.create)
	status, hdr, first := f.post(idemAlice, "k", `{"n":1}`)
	wantFresh(t, status, hdr, first)
	status, hdr, again := f.post(idemAlice, "k", `{"n":1}`)
	wantReplay(t, status, hdr, again, fasthttp.StatusCreated, first, "application/json")
	if runs, lookedUp := f.counts(); runs != 2 || len(lookedUp) != 1 {
		t.Errorf("work ran %d times and looked up %v; want 2 runs and one lookup", runs, lookedUp)
	}
}

func TestIdempotentBadKey(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, newMemIdempotency())
	for _, key := range []string{strings.Repeat("k", engine.IdempotencyKeyBytesMax+1), "caf\xc3\xa9"} {
		status, hdr, body := f.post(idemAlice, key, `{"n":1}`)
		p := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
		if got := problemFields(p); !slices.Equal(got, []string{headerIdempotencyKey}) {
			t.Errorf("key %q: fields %v, want [%s]", key, got, headerIdempotencyKey)
		}
	}
	status, hdr, body := f.post(idemAlice, strings.Repeat("k", engine.IdempotencyKeyBytesMax), `{"n":1}`)
	wantFresh(t, status, hdr, body)
	if n := f.runCount(); n != 1 {
		t.Errorf("work ran %d times, want 1", n)
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	var ctx fasthttp.RequestCtx
	if _, present, err := idempotencyKey(&ctx); present || err != nil {
		t.Errorf("no header: present %v, %v", present, err)
	}
	ctx.Request.Header.Set(headerIdempotencyKey, "abc")
	if key, present, err := idempotencyKey(&ctx); key != "abc" || !present || err != nil {
		t.Errorf("one header: %q, %v, %v", key, present, err)
	}
	ctx.Request.Header.Add(headerIdempotencyKey, "def")
	if _, _, err := idempotencyKey(&ctx); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("two headers: %v, want ErrInvalid", err)
	}
}

func TestRequestFingerprint(t *testing.T) {
	t.Parallel()
	fp := func(method, path, body string) [32]byte {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		ctx.Request.SetBodyString(body)
		return requestFingerprint(&ctx)
	}
	base := fp("POST", "/orders", `{"a":1}`)
	if fp("POST", "/orders", `{"a":1}`) != base {
		t.Error("same request, different fingerprints")
	}
	if fp("POST", "/orders?x=1", `{"a":1}`) != base {
		t.Error("the query string changed the fingerprint")
	}
	for name, other := range map[string][32]byte{
		"method":        fp("PUT", "/orders", `{"a":1}`),
		"path":          fp("POST", "/orders/x", `{"a":1}`),
		"body":          fp("POST", "/orders", `{"a":2}`),
		"shifted bytes": fp("POST", "/orders/", `{"a":1}`[1:]),
	} {
		if other == base {
			t.Errorf("a different %s gives the same fingerprint", name)
		}
	}
}

func TestIdempotentStoreFailures(t *testing.T) {
	t.Parallel()
	fake := &idempotencyFake{BeginIdempotentFunc: func(context.Context, engine.IdempotencyClaim) (engine.IdempotencyState, error) {
		return engine.IdempotencyState{}, errors.New("connection refused")
	}}
	f := newIdemFixture(t, fake)
	status, hdr, body := f.post(idemAlice, "k", `{"n":1}`)
	wantProblem(t, status, hdr, body, fasthttp.StatusServiceUnavailable, "unavailable")
	if n := f.runCount(); n != 0 {
		t.Errorf("work ran %d times after Begin failed, want 0", n)
	}

	// A failed Complete does not fail the request that succeeded.
	var mu sync.Mutex
	var recorded []int // statuses passed to Complete
	var deadline bool  // Complete ran with a deadline
	fake.BeginIdempotentFunc = func(context.Context, engine.IdempotencyClaim) (engine.IdempotencyState, error) {
		return engine.IdempotencyState{Outcome: engine.IdempotencyStarted}, nil
	}
	fake.CompleteIdempotentFunc = func(ctx context.Context, _ engine.ID, _ string, _ engine.ID, status int, _ []byte) error {
		mu.Lock()
		defer mu.Unlock()
		recorded = append(recorded, status)
		_, deadline = ctx.Deadline()
		return fmt.Errorf("%w: connection reset", engine.ErrUnavailable)
	}
	status, hdr, body = f.post(idemAlice, "k", `{"n":1}`)
	wantFresh(t, status, hdr, body)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(recorded, []int{fasthttp.StatusCreated}) || !deadline {
		t.Errorf("Complete got statuses %v (deadline %v), want one 201 with a deadline", recorded, deadline)
	}
}
