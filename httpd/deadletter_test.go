package httpd

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Dead-letter admin endpoints in memory, against deadLettersFake.

// deadLetterFixture is a test server with a deadLettersFake, a non-admin
// user and an admin. The fake's funcs fail until a test sets them.
type deadLetterFixture struct {
	*testServer
	dead                 *deadLettersFake
	admin                engine.User
	buyerAuth, adminAuth []string
}

func newDeadLetterFixture(t *testing.T) *deadLetterFixture {
	t.Helper()
	f := &deadLetterFixture{dead: &deadLettersFake{}}
	f.testServer = newTestServer(t, func(_ *Config, d *Deps) { d.DeadLetters = f.dead })
	_, token := f.account(t, "buyer", false)
	f.buyerAuth = authHeader(token)
	f.admin, token = f.account(t, "root", true)
	f.adminAuth = authHeader(token)
	return f
}

// deadLetterID returns a distinct, valid dead-letter id for n.
func deadLetterID(n byte) engine.ID { return engine.ID{0x01, 0x90, 0xc0, 6: 0x70, 8: 0x80, 15: n} }

var deadLetterAt = time.Date(2030, 3, 4, 5, 6, 7, 890000000, orderZone)

// storedDeadLetter is a dead mail n.
func storedDeadLetter(n byte) engine.DeadLetter {
	return engine.DeadLetter{ID: deadLetterID(n), Source: engine.DeadMail, Kind: "order_confirmed",
		Ref: fmt.Sprintf("outbox-%d", n), Payload: []byte(`{"to":"a@example.com","n":` + fmt.Sprint(n) + `}`),
		Error: "smtp: 550 mailbox unavailable", Attempts: 8, Status: engine.DeadLetterDead, CreatedAt: deadLetterAt}
}

// retried is d as a retry by `by` leaves it.
func retried(d engine.DeadLetter, by string) engine.DeadLetter {
	d.Status, d.RetriedAt, d.RetriedBy = engine.DeadLetterRetried, deadLetterAt.Add(time.Hour), by
	return d
}

// deadLetterWire is d as the API must render it, built independently of
// newDeadLetterJSON and decoded generically.
func deadLetterWire(t *testing.T, d engine.DeadLetter) map[string]any {
	var payload any
	if len(d.Payload) > 0 {
		mustJSON(t, d.Payload, &payload)
	}
	var retriedAt any
	if !d.RetriedAt.IsZero() {
		retriedAt = d.RetriedAt.UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{"id": d.ID.String(), "source": string(d.Source), "kind": d.Kind, "ref": d.Ref,
		"payload": payload, "error": d.Error, "attempts": float64(d.Attempts), "status": string(d.Status),
		"created_at": d.CreatedAt.UTC().Format(time.RFC3339Nano), "retried_at": retriedAt, "retried_by": d.RetriedBy}
}

var deadLetterRoutes = []struct{ method, path string }{
	{"GET", "/admin/dead-letters"},
	{"POST", "/admin/dead-letters/" + deadLetterID(1).String() + "/retry"},
	{"POST", "/admin/dead-letters/retry"},
}

func TestDeadLettersNeedAnAdmin(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t) // every fake func unset: reaching the port would be a 500
	for _, r := range deadLetterRoutes {
		status, hdr, body := f.do(r.method, r.path, nil)
		wantProblem(t, status, hdr, body, fasthttp.StatusUnauthorized, "unauthorized")
		status, hdr, body = f.do(r.method, r.path, nil, "Authorization", "Bearer not-a-token")
		wantProblem(t, status, hdr, body, fasthttp.StatusUnauthorized, "unauthorized")
		status, hdr, body = f.do(r.method, r.path, nil, f.buyerAuth...)
		wantProblem(t, status, hdr, body, fasthttp.StatusForbidden, "forbidden")
	}
}

func TestDeadLetterList(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	letters := []engine.DeadLetter{ // newest first, as the port returns them
		retried(storedDeadLetter(9), "root"), storedDeadLetter(8), storedDeadLetter(7),
	}
	letters[1].Payload = nil
	var queries recorder[engine.DeadLetterQuery]
	var reply []engine.DeadLetter
	f.dead.DeadLettersFunc = func(_ context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
		queries.add(q)
		return reply, nil
	}
	type page struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	list := func(path string) (page, engine.DeadLetterQuery) {
		t.Helper()
		n := len(queries.all())
		status, _, body := f.do("GET", path, nil, f.adminAuth...)
		if status != fasthttp.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, status, body)
		}
		var pg page
		mustJSON(t, body, &pg)
		qs := queries.all()
		if len(qs) != n+1 {
			t.Fatalf("GET %s: DeadLetters called %d times, want once", path, len(qs)-n)
		}
		return pg, qs[n]
	}

	reply = letters
	pg, q := list("/admin/dead-letters?limit=2")
	if want := (engine.DeadLetterQuery{Limit: 3}); q != want {
		t.Errorf("query = %+v, want %+v", q, want)
	}
	if len(pg.Items) != 2 {
		t.Fatalf("page has %d items, want 2", len(pg.Items))
	}
	for i := range pg.Items {
		if want := deadLetterWire(t, letters[i]); !reflect.DeepEqual(pg.Items[i], want) {
			t.Errorf("item %d =\n  %v\nwant\n  %v", i, pg.Items[i], want)
		}
	}
	if pg.NextCursor == nil || *pg.NextCursor != encodeCursor(letters[1].ID) {
		t.Fatalf("next_cursor = %v, want the cursor of the last item shown", pg.NextCursor)
	}

	reply = letters[2:]
	pg, q = list("/admin/dead-letters/?status=dead&limit=2&cursor=" + *pg.NextCursor)
	if want := (engine.DeadLetterQuery{Status: engine.DeadLetterDead, Before: letters[1].ID, Limit: 3}); q != want {
		t.Errorf("second page query = %+v, want %+v", q, want)
	}
	if len(pg.Items) != 1 || pg.Items[0]["id"] != letters[2].ID.String() || pg.NextCursor != nil {
		t.Errorf("last page = %v, next_cursor %v; want the third item and null", pg.Items, pg.NextCursor)
	}

	reply = nil
	if _, q = list("/admin/dead-letters?status=retried"); q != (engine.DeadLetterQuery{Status: engine.DeadLetterRetried,
		Limit: engine.PageLimitDefault + 1}) {
		t.Errorf("?status=retried: query %+v", q)
	}
	if status, _, body := f.do("GET", "/admin/dead-letters", nil, f.adminAuth...); status != fasthttp.StatusOK ||
		string(body) != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty list: %d %s", status, body)
	}

	n := len(queries.all())
	for _, tc := range []struct{ query, field string }{
		{"?status=", "status"}, {"?status=DEAD", "status"}, {"?status=pending", "status"},
		{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?cursor=nope", "cursor"},
	} {
		status, hdr, body := f.do("GET", "/admin/dead-letters"+tc.query, nil, f.adminAuth...)
		wantFieldErrors(t, wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed"), tc.field)
	}
	if got := len(queries.all()); got != n {
		t.Errorf("DeadLetters called %d times for bad queries, want 0", got-n)
	}
}

// A payload that is not JSON still renders (as a string) instead of
// failing the page.
func TestDeadLetterPayloadNotJSON(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	d := storedDeadLetter(1)
	d.Payload = []byte("not json")
	f.dead.DeadLettersFunc = func(context.Context, engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
		return []engine.DeadLetter{d}, nil
	}
	status, _, body := f.do("GET", "/admin/dead-letters", nil, f.adminAuth...)
	if status != fasthttp.StatusOK || !strings.Contains(string(body), `"payload":"not json"`) {
		t.Errorf("answer %d %s", status, body)
	}
}

func TestDeadLetterRetryOne(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	type retry struct {
		id engine.ID
		by string
	}
	var calls recorder[retry]
	f.dead.RetryDeadLetterFunc = func(_ context.Context, id engine.ID, by string) (engine.DeadLetter, error) {
		calls.add(retry{id, by})
		switch id {
		case deadLetterID(1):
			return retried(storedDeadLetter(1), by), nil
		case deadLetterID(2):
			return engine.DeadLetter{}, fmt.Errorf("dead letter %s: not dead: %w", id, engine.ErrConflict)
		}
		return engine.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, engine.ErrNotFound)
	}
	for _, path := range []string{"/admin/dead-letters/" + deadLetterID(1).String() + "/retry",
		"/admin/dead-letters/" + deadLetterID(1).String() + "/retry/"} {
		status, _, body := f.do("POST", path, nil, f.adminAuth...)
		if status != fasthttp.StatusOK {
			t.Fatalf("POST %s: status %d: %s", path, status, body)
		}
		var got map[string]any
		mustJSON(t, body, &got)
		if want := deadLetterWire(t, retried(storedDeadLetter(1), "root")); !reflect.DeepEqual(got, want) {
			t.Errorf("answer =\n  %v\nwant\n  %v", got, want)
		}
	}
	if got := calls.all(); len(got) != 2 || got[0] != (retry{deadLetterID(1), "root"}) {
		t.Errorf("port calls = %+v, want dead letter 1 by the admin's username", got)
	}

	status, hdr, body := f.do("POST", "/admin/dead-letters/"+deadLetterID(2).String()+"/retry", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusConflict, "conflict")
	status, hdr, body = f.do("POST", "/admin/dead-letters/"+deadLetterID(3).String()+"/retry", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	n := len(calls.all())
	status, hdr, body = f.do("POST", "/admin/dead-letters/nope/retry", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	if got := len(calls.all()); got != n {
		t.Errorf("a non-id reached the port")
	}
}

func TestDeadLetterRetryAll(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	type retry struct {
		by  string
		max int
	}
	var calls recorder[retry]
	var reply engine.RetrySummary
	f.dead.RetryDeadLettersFunc = func(_ context.Context, by string, max int) (engine.RetrySummary, error) {
		calls.add(retry{by, max})
		return reply, nil
	}
	reply = engine.RetrySummary{Retried: []engine.ID{deadLetterID(1), deadLetterID(2)},
		Failed: []engine.RetryFailure{{ID: deadLetterID(3), Error: "actor messages cannot be retried"}}, More: true}
	status, hdr, body := f.do("POST", "/admin/dead-letters/retry", nil, f.adminAuth...)
	want := fmt.Sprintf(`{"retried":["%s","%s"],"failed":[{"id":"%s","error":"actor messages cannot be retried"}],"more":true}`,
		deadLetterID(1), deadLetterID(2), deadLetterID(3))
	if status != fasthttp.StatusOK || string(body) != want {
		t.Errorf("answer %d %s, want 200 %s", status, body, want)
	}
	if ct := headerValue(hdr, "Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	reply = engine.RetrySummary{}
	status, _, body = f.do("POST", "/admin/dead-letters/retry/", nil, f.adminAuth...)
	if status != fasthttp.StatusOK || string(body) != `{"retried":[],"failed":[],"more":false}` {
		t.Errorf("empty summary: %d %s", status, body)
	}
	if got := calls.all(); len(got) != 2 || got[0] != (retry{"root", deadLettersRetryMax}) || deadLettersRetryMax != 100 {
		t.Errorf("port calls = %+v, want by the admin's username, at most 100", got)
	}
}

// A retry is recorded under the account as stored now: a demoted admin is
// forbidden, a deleted one unauthorized, even with a still-valid token.
func TestDeadLetterRetryRechecksTheAdmin(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	f.dead.RetryDeadLettersFunc = func(context.Context, string, int) (engine.RetrySummary, error) {
		return engine.RetrySummary{}, nil
	}
	f.store.setAdmin(f.admin.ID, false)
	status, hdr, body := f.do("POST", "/admin/dead-letters/retry", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusForbidden, "forbidden")
	f.store.deleteUser(f.admin.ID)
	status, hdr, body = f.do("POST", "/admin/dead-letters/"+deadLetterID(1).String()+"/retry", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusUnauthorized, "unauthorized")
}

func TestDeadLetterPortErrors(t *testing.T) {
	t.Parallel()
	f := newDeadLetterFixture(t)
	down := fmt.Errorf("query: %w", engine.ErrUnavailable)
	f.dead.DeadLettersFunc = func(context.Context, engine.DeadLetterQuery) ([]engine.DeadLetter, error) { return nil, down }
	f.dead.RetryDeadLetterFunc = func(context.Context, engine.ID, string) (engine.DeadLetter, error) {
		return engine.DeadLetter{}, down
	}
	f.dead.RetryDeadLettersFunc = func(context.Context, string, int) (engine.RetrySummary, error) {
		return engine.RetrySummary{}, down
	}
	for _, r := range deadLetterRoutes {
		status, hdr, body := f.do(r.method, r.path, nil, f.adminAuth...)
		wantProblem(t, status, hdr, body, fasthttp.StatusServiceUnavailable, "unavailable")
		if headerValue(hdr, "Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", r.method, r.path)
		}
	}
}

// Without a DeadLetters port the routes exist but answer not_found, to
// admins only.
func TestDeadLettersOff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, token := ts.account(t, "root", true)
	for _, r := range deadLetterRoutes {
		status, hdr, body := ts.do(r.method, r.path, nil)
		wantProblem(t, status, hdr, body, fasthttp.StatusUnauthorized, "unauthorized")
		status, hdr, body = ts.do(r.method, r.path, nil, authHeader(token)...)
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	}
}
