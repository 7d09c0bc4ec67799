package persist_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

const idemLease = 30 * time.Second

// idemUser stores a user for the idempotency records to belong to.
func idemUser(t *testing.T, s *persist.Store, username string) engine.ID {
	t.Helper()
	u := engine.User{ID: newID(t), Username: username, PasswordHash: []byte("$2a$10$hash"), CreatedAt: now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u.ID
}

// idemClaim claims key for user with a new attempt id at at; body stands
// for the request the fingerprint covers.
func idemClaim(t *testing.T, user engine.ID, key, body string, at time.Time) engine.IdempotencyClaim {
	t.Helper()
	return engine.IdempotencyClaim{UserID: user, Key: key, Fingerprint: sha256.Sum256([]byte(body)),
		Attempt: newID(t), Now: at, Lease: idemLease, TTL: engine.IdempotencyTTLDefault}
}

// begin runs BeginIdempotent and checks the outcome.
func begin(t *testing.T, s *persist.Store, c engine.IdempotencyClaim, want engine.IdempotencyOutcome) engine.IdempotencyState {
	t.Helper()
	st, err := s.BeginIdempotent(t.Context(), c)
	if err != nil {
		t.Fatalf("BeginIdempotent(%s at %s): %v", c.Key, c.Now.Format(time.TimeOnly), err)
	}
	if st.Outcome != want {
		t.Fatalf("BeginIdempotent(%s at %s) = %v, want %v", c.Key, c.Now.Format(time.TimeOnly), st.Outcome, want)
	}
	return st
}

func complete(t *testing.T, s *persist.Store, c engine.IdempotencyClaim, status int, body string) {
	t.Helper()
	if err := s.CompleteIdempotent(t.Context(), c.UserID, c.Key, c.Attempt, status, []byte(body)); err != nil {
		t.Fatalf("CompleteIdempotent: %v", err)
	}
}

func TestIdempotentOutcomes(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	alice, bob := idemUser(t, s, "alice"), idemUser(t, s, "bob")
	t0 := now()

	first := idemClaim(t, alice, "k1", `{"items":1}`, t0)
	begin(t, s, first, engine.IdempotencyStarted)
	begin(t, s, idemClaim(t, alice, "k1", `{"items":1}`, t0.Add(time.Second)), engine.IdempotencyInFlight)
	begin(t, s, idemClaim(t, alice, "k1", `{"items":2}`, t0.Add(time.Second)), engine.IdempotencyMismatch)
	// Keys are per user, and distinct keys are distinct records.
	begin(t, s, idemClaim(t, bob, "k1", `{"items":2}`, t0.Add(time.Second)), engine.IdempotencyStarted)
	begin(t, s, idemClaim(t, alice, "k2", `{"items":2}`, t0.Add(time.Second)), engine.IdempotencyStarted)

	complete(t, s, first, 201, `{"id":"o1"}`)
	st := begin(t, s, idemClaim(t, alice, "k1", `{"items":1}`, t0.Add(time.Hour)), engine.IdempotencyReplay)
	if want := (engine.IdempotencyState{Outcome: engine.IdempotencyReplay, Status: 201, Body: []byte(`{"id":"o1"}`)}); !reflect.DeepEqual(st, want) {
		t.Errorf("replay = %+v, want %+v", st, want)
	}
	begin(t, s, idemClaim(t, alice, "k1", `{"items":2}`, t0.Add(time.Hour)), engine.IdempotencyMismatch)
	// A second Complete of a done record changes nothing.
	complete(t, s, first, 500, `{}`)
	if st := begin(t, s, idemClaim(t, alice, "k1", `{"items":1}`, t0.Add(time.Hour)), engine.IdempotencyReplay); st.Status != 201 {
		t.Errorf("status after a second Complete = %d, want 201", st.Status)
	}
}

// TestIdempotentTakeover: when an attempt's lease runs out, the next claim
// takes the key over and continues that same attempt (same id, new lease);
// a Complete under any other attempt id is ignored.
func TestIdempotentTakeover(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	t0 := now()
	first := idemClaim(t, user, "k", "body", t0)
	begin(t, s, first, engine.IdempotencyStarted)
	begin(t, s, idemClaim(t, user, "k", "body", t0.Add(idemLease-time.Millisecond)), engine.IdempotencyInFlight)

	second := idemClaim(t, user, "k", "body", t0.Add(idemLease))
	if st := begin(t, s, second, engine.IdempotencyTakenOver); st.PrevAttempt != first.Attempt {
		t.Errorf("PrevAttempt = %s, want the first attempt %s", st.PrevAttempt, first.Attempt)
	}
	// The takeover renewed the lease.
	begin(t, s, idemClaim(t, user, "k", "body", t0.Add(2*idemLease-time.Millisecond)), engine.IdempotencyInFlight)
	begin(t, s, idemClaim(t, user, "k", "other", t0.Add(2*idemLease-time.Millisecond)), engine.IdempotencyMismatch)

	complete(t, s, second, 201, `{"from":"second"}`) // not the key's attempt: ignored
	if err := s.ReleaseIdempotent(t.Context(), user, "k", second.Attempt); err != nil {
		t.Fatalf("ReleaseIdempotent(other attempt): %v", err)
	}
	begin(t, s, idemClaim(t, user, "k", "body", t0.Add(idemLease+time.Second)), engine.IdempotencyInFlight)

	// The taker continues the first attempt: it completes under its id.
	complete(t, s, first, 201, `{"from":"first attempt, continued"}`)
	st := begin(t, s, idemClaim(t, user, "k", "body", t0.Add(3*idemLease)), engine.IdempotencyReplay)
	if string(st.Body) != `{"from":"first attempt, continued"}` {
		t.Errorf("replayed %s, want the continued attempt's response", st.Body)
	}
}

// TestIdempotentExpiry: a record past expires_at is replaced by the next
// claim, whatever its body.
func TestIdempotentExpiry(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	t0 := now()
	first := idemClaim(t, user, "k", "body", t0)
	begin(t, s, first, engine.IdempotencyStarted)
	complete(t, s, first, 201, `{"n":1}`)
	expiry := t0.Add(engine.IdempotencyTTLDefault)
	begin(t, s, idemClaim(t, user, "k", "body", expiry.Add(-time.Millisecond)), engine.IdempotencyReplay)

	again := idemClaim(t, user, "k", "new body", expiry)
	begin(t, s, again, engine.IdempotencyStarted)
	begin(t, s, idemClaim(t, user, "k", "new body", expiry.Add(time.Second)), engine.IdempotencyInFlight)
	complete(t, s, first, 201, `{"n":1}`) // the old attempt no longer holds the key
	complete(t, s, again, 400, `{"code":"validation_failed"}`)
	st := begin(t, s, idemClaim(t, user, "k", "new body", expiry.Add(time.Second)), engine.IdempotencyReplay)
	if st.Status != 400 || string(st.Body) != `{"code":"validation_failed"}` {
		t.Errorf("replay = %d %s, want the renewed record's response", st.Status, st.Body)
	}
}

func TestIdempotentRelease(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	ctx, t0 := t.Context(), now()
	first := idemClaim(t, user, "k", "body", t0)
	begin(t, s, first, engine.IdempotencyStarted)
	if err := s.ReleaseIdempotent(ctx, user, "k", newID(t)); err != nil {
		t.Fatalf("ReleaseIdempotent(other attempt): %v", err)
	}
	begin(t, s, idemClaim(t, user, "k", "body", t0.Add(time.Second)), engine.IdempotencyInFlight)

	if err := s.ReleaseIdempotent(ctx, user, "k", first.Attempt); err != nil {
		t.Fatalf("ReleaseIdempotent: %v", err)
	}
	second := idemClaim(t, user, "k", "other body", t0.Add(time.Second))
	begin(t, s, second, engine.IdempotencyStarted)
	complete(t, s, second, 201, `{}`)
	// A done record is never released.
	if err := s.ReleaseIdempotent(ctx, user, "k", second.Attempt); err != nil {
		t.Fatalf("ReleaseIdempotent(done): %v", err)
	}
	begin(t, s, idemClaim(t, user, "k", "other body", t0.Add(time.Minute)), engine.IdempotencyReplay)
}

func TestIdempotentCompleteLimits(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	ctx, t0 := t.Context(), now()
	c := idemClaim(t, user, "k", "body", t0)
	begin(t, s, c, engine.IdempotencyStarted)
	for name, tc := range map[string]struct {
		status int
		body   []byte
	}{
		"status 99":  {99, nil},
		"status 600": {600, nil},
		"big body":   {201, make([]byte, engine.IdempotencyBodyBytesMax+1)},
	} {
		if err := s.CompleteIdempotent(ctx, user, "k", c.Attempt, tc.status, tc.body); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: CompleteIdempotent = %v, want ErrInvalid", name, err)
		}
	}
	begin(t, s, idemClaim(t, user, "k", "body", t0.Add(time.Second)), engine.IdempotencyInFlight)

	// No body (a 204, say) is stored as an empty one.
	if err := s.CompleteIdempotent(ctx, user, "k", c.Attempt, 204, nil); err != nil {
		t.Fatalf("CompleteIdempotent(204, nil): %v", err)
	}
	st := begin(t, s, idemClaim(t, user, "k", "body", t0.Add(time.Second)), engine.IdempotencyReplay)
	if st.Status != 204 || st.Body == nil || len(st.Body) != 0 {
		t.Errorf("replay = %d %#v, want 204 and an empty body", st.Status, st.Body)
	}

	big := idemClaim(t, user, "big", "body", t0)
	begin(t, s, big, engine.IdempotencyStarted)
	body := bytes.Repeat([]byte("x"), engine.IdempotencyBodyBytesMax)
	complete(t, s, big, 201, string(body))
	if st := begin(t, s, idemClaim(t, user, "big", "body", t0.Add(time.Second)), engine.IdempotencyReplay); !bytes.Equal(st.Body, body) {
		t.Errorf("replayed %d bytes, want the %d stored", len(st.Body), len(body))
	}
}

func TestBeginIdempotentRejects(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	bad := idemClaim(t, user, "", "body", now())
	if _, err := s.BeginIdempotent(t.Context(), bad); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("BeginIdempotent(empty key) = %v, want ErrInvalid", err)
	}
	bad = idemClaim(t, user, "k", "body", now())
	bad.Lease = 0
	if _, err := s.BeginIdempotent(t.Context(), bad); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("BeginIdempotent(no lease) = %v, want ErrInvalid", err)
	}
	if _, err := s.BeginIdempotent(t.Context(), idemClaim(t, newID(t), "k", "body", now())); err == nil {
		t.Error("BeginIdempotent(unknown user) succeeded")
	}
}

// TestIdempotencyTableChecks: the table refuses rows that break the
// record's invariants, whoever writes them.
func TestIdempotencyTableChecks(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	user := idemUser(t, s, "alice")
	c := idemClaim(t, user, "k", "body", now())
	begin(t, s, c, engine.IdempotencyStarted)
	conn := rawConn(t, url)
	for _, stmt := range []string{
		"UPDATE idempotency_keys SET state = 'done'",          // done without a response
		"UPDATE idempotency_keys SET status = 201, body = ''", // in flight with one
		"UPDATE idempotency_keys SET state = 'gone'",          // unknown state
		"UPDATE idempotency_keys SET key = E'a\\nb'",          // not printable
		"UPDATE idempotency_keys SET key = repeat('k', 256)",  // too long
		"UPDATE idempotency_keys SET fingerprint = '\\x00'",   // not 32 bytes
		"UPDATE idempotency_keys SET expires_at = created_at", // expires at birth
		"UPDATE idempotency_keys SET state = 'done', status = 99, body = ''",
		"UPDATE idempotency_keys SET state = 'done', status = 201, body = repeat('x', 65537)::bytea",
	} {
		_, err := conn.Exec(t.Context(), stmt)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" {
			t.Errorf("%s: %v, want check_violation", stmt, err)
		}
	}
	begin(t, s, idemClaim(t, user, "k", "body", now()), engine.IdempotencyInFlight)
}

func TestPurgeIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	ctx, t0 := t.Context(), now()
	keys := []string{"a", "b", "c", "d", "e"}
	for i, k := range keys { // a is created first and so expires first
		c := idemClaim(t, user, k, "body", t0.Add(time.Duration(i)*time.Minute))
		begin(t, s, c, engine.IdempotencyStarted)
		if i%2 == 0 {
			complete(t, s, c, 201, `{}`)
		}
	}
	if _, err := s.PurgeIdempotent(ctx, t0, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("PurgeIdempotent(limit 0) = %v, want ErrInvalid", err)
	}
	// At t0 + TTL + 3 min, a, b, c and d have expired (d exactly now).
	at := t0.Add(engine.IdempotencyTTLDefault + 3*time.Minute)
	if n, err := s.PurgeIdempotent(ctx, at, 3); err != nil || n != 3 {
		t.Fatalf("PurgeIdempotent(limit 3) = %d, %v; want 3", n, err)
	}
	// The oldest went first: d is still there (a claim before its expiry
	// with another body finds it).
	begin(t, s, idemClaim(t, user, "d", "other", t0), engine.IdempotencyMismatch)
	if n, err := s.PurgeIdempotent(ctx, at, 3); err != nil || n != 1 {
		t.Fatalf("second PurgeIdempotent = %d, %v; want 1", n, err)
	}
	if n, err := s.PurgeIdempotent(ctx, at, 3); err != nil || n != 0 {
		t.Fatalf("third PurgeIdempotent = %d, %v; want 0", n, err)
	}
	// e has not expired and keeps answering; the purged keys start afresh.
	begin(t, s, idemClaim(t, user, "e", "body", at), engine.IdempotencyReplay)
	for _, k := range keys[:4] {
		begin(t, s, idemClaim(t, user, k, "new", t0), engine.IdempotencyStarted)
	}
}

// TestBeginIdempotentRace: concurrent claims on one key, first on a new
// key and then on a record whose lease ran out: exactly one wins each time.
func TestBeginIdempotentRace(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	user := idemUser(t, s, "alice")
	t0 := now()
	const racers = 20
	// race makes racers concurrent claims at at and returns the claims and
	// the indexes of those with each outcome.
	race := func(at time.Time) ([]engine.IdempotencyClaim, []engine.IdempotencyState, map[engine.IdempotencyOutcome][]int) {
		claims := make([]engine.IdempotencyClaim, racers)
		for i := range claims {
			claims[i] = idemClaim(t, user, "hot", "body", at)
		}
		states := make([]engine.IdempotencyState, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				states[i], errs[i] = s.BeginIdempotent(t.Context(), claims[i])
			})
		}
		close(start)
		wg.Wait()
		byOutcome := map[engine.IdempotencyOutcome][]int{}
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("racer %d: %v", i, errs[i])
			}
			byOutcome[states[i].Outcome] = append(byOutcome[states[i].Outcome], i)
		}
		return claims, states, byOutcome
	}

	claims, _, got := race(t0)
	if len(got[engine.IdempotencyStarted]) != 1 || len(got[engine.IdempotencyInFlight]) != racers-1 {
		t.Fatalf("new key: outcomes %v, want 1 started and %d in flight", counts(got), racers-1)
	}
	winner := claims[got[engine.IdempotencyStarted][0]]
	_, states, got := race(t0.Add(idemLease))
	if len(got[engine.IdempotencyTakenOver]) != 1 || len(got[engine.IdempotencyInFlight]) != racers-1 {
		t.Fatalf("expired lease: outcomes %v, want 1 taken over and %d in flight", counts(got), racers-1)
	}
	if prev := states[got[engine.IdempotencyTakenOver][0]].PrevAttempt; prev != winner.Attempt {
		t.Errorf("PrevAttempt = %s, want the first winner's %s", prev, winner.Attempt)
	}
}

func counts(m map[engine.IdempotencyOutcome][]int) map[string]int {
	out := map[string]int{}
	for o, idx := range m {
		out[o.String()] = len(idx)
	}
	return out
}
