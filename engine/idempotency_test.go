package engine_test

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestParseIdempotencyKey(t *testing.T) {
	t.Parallel()
	ok := []string{"a", "order-2026-11-25/1", " spaced key ", "~!@#$%^&*()", strings.Repeat("k", 255),
		"550e8400-e29b-41d4-a716-446655440000"}
	for _, s := range ok {
		if got, err := engine.ParseIdempotencyKey(s); err != nil || got != s {
			t.Errorf("ParseIdempotencyKey(%q) = %q, %v; want it unchanged", s, got, err)
		}
	}
	bad := []string{"", strings.Repeat("k", 256), "tab\there", "new\nline", "nul\x00", "del\x7f",
		"é", "\xff", "emoji 🙂"}
	for _, s := range bad {
		got, err := engine.ParseIdempotencyKey(s)
		if got != "" || !slices.Equal(fieldNames(fieldErrors(t, err)), []string{"Idempotency-Key"}) {
			t.Errorf("ParseIdempotencyKey(%q) = %q, %v; want ErrInvalid on Idempotency-Key", s, got, err)
		}
	}
}

func FuzzParseIdempotencyKey(f *testing.F) {
	for _, s := range []string{"", "k", " ", "~", "\x1f", "\x7f", "é", strings.Repeat("x", 255), strings.Repeat("x", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := engine.ParseIdempotencyKey(s)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || got != "" {
				t.Fatalf("ParseIdempotencyKey(%q) = %q, %v", s, got, err)
			}
			return
		}
		if got != s || len(s) < 1 || len(s) > engine.IdempotencyKeyBytesMax {
			t.Fatalf("ParseIdempotencyKey(%q) = %q, accepted", s, got)
		}
		for _, c := range []byte(s) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("ParseIdempotencyKey(%q) accepted byte %#x", s, c)
			}
		}
	})
}

// idemIDs are fixed ids for the idempotency tests.
var idemIDs = struct{ user, first, second engine.ID }{
	user:   engine.ID{0x01, 15: 1},
	first:  engine.ID{0x02, 15: 2},
	second: engine.ID{0x03, 15: 3},
}

var idemStart = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func idemClaim(attempt engine.ID, body string, now time.Time) engine.IdempotencyClaim {
	return engine.IdempotencyClaim{UserID: idemIDs.user, Key: "key-1",
		Fingerprint: sha256.Sum256([]byte(body)), Attempt: attempt, Now: now,
		Lease: 30 * time.Second, TTL: engine.IdempotencyTTLDefault}
}

func TestIdempotencyClaimValidate(t *testing.T) {
	t.Parallel()
	good := idemClaim(idemIDs.first, "{}", idemStart)
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := map[string]struct {
		change func(*engine.IdempotencyClaim)
		field  string
	}{
		"no user":      {func(c *engine.IdempotencyClaim) { c.UserID = engine.NilID }, "user_id"},
		"empty key":    {func(c *engine.IdempotencyClaim) { c.Key = "" }, "key"},
		"long key":     {func(c *engine.IdempotencyClaim) { c.Key = strings.Repeat("k", 256) }, "key"},
		"no attempt":   {func(c *engine.IdempotencyClaim) { c.Attempt = engine.NilID }, "attempt"},
		"no time":      {func(c *engine.IdempotencyClaim) { c.Now = time.Time{} }, "now"},
		"no lease":     {func(c *engine.IdempotencyClaim) { c.Lease = 0 }, "lease"},
		"ttl <= lease": {func(c *engine.IdempotencyClaim) { c.TTL = c.Lease }, "ttl"},
	}
	for name, tt := range tests {
		c := good
		tt.change(&c)
		if got := fieldNames(fieldErrors(t, c.Validate())); !slices.Equal(got, []string{tt.field}) {
			t.Errorf("%s: fields %v, want [%s]", name, got, tt.field)
		}
	}
}

func TestIdempotencyRecordValidate(t *testing.T) {
	t.Parallel()
	_, fresh := idemClaim(idemIDs.first, "{}", idemStart).Resolve(nil)
	if err := fresh.Validate(); err != nil {
		t.Fatalf("Validate(fresh) = %v", err)
	}
	done := *fresh
	done.Phase, done.Status, done.Body = engine.IdempotencyPhaseDone, 201, []byte{}
	if err := done.Validate(); err != nil {
		t.Fatalf("Validate(done, empty body) = %v", err)
	}
	tests := map[string]struct {
		base   engine.IdempotencyRecord
		change func(*engine.IdempotencyRecord)
		fields []string
	}{
		"in flight with status": {*fresh, func(r *engine.IdempotencyRecord) { r.Status = 200 }, []string{"status"}},
		"done without body":     {done, func(r *engine.IdempotencyRecord) { r.Body = nil }, []string{"body"}},
		"done status 0":         {done, func(r *engine.IdempotencyRecord) { r.Status = 0 }, []string{"status"}},
		"done status 600":       {done, func(r *engine.IdempotencyRecord) { r.Status = 600 }, []string{"status"}},
		"body too big": {done, func(r *engine.IdempotencyRecord) {
			r.Body = make([]byte, engine.IdempotencyBodyBytesMax+1)
		}, []string{"body"}},
		"unknown phase":    {done, func(r *engine.IdempotencyRecord) { r.Phase = "gone" }, []string{"state"}},
		"expired at birth": {done, func(r *engine.IdempotencyRecord) { r.ExpiresAt = r.CreatedAt }, []string{"expires_at"}},
		"bad key":          {done, func(r *engine.IdempotencyRecord) { r.Key = "\n" }, []string{"key"}},
		"no attempt":       {done, func(r *engine.IdempotencyRecord) { r.Attempt = engine.NilID }, []string{"attempt"}},
	}
	for name, tt := range tests {
		r := tt.base
		tt.change(&r)
		if got := fieldNames(fieldErrors(t, r.Validate())); !slices.Equal(got, tt.fields) {
			t.Errorf("%s: fields %v, want %v", name, got, tt.fields)
		}
	}
}

func TestValidateIdempotentResponse(t *testing.T) {
	t.Parallel()
	for _, status := range []int{100, 201, 422, 599} {
		if err := engine.ValidateIdempotentResponse(status, make([]byte, engine.IdempotencyBodyBytesMax)); err != nil {
			t.Errorf("status %d, max body: %v", status, err)
		}
	}
	if got := fieldNames(fieldErrors(t, engine.ValidateIdempotentResponse(99, make([]byte, engine.IdempotencyBodyBytesMax+1)))); !slices.Equal(got, []string{"status", "body"}) {
		t.Errorf("fields %v, want [status body]", got)
	}
}

// TestIdempotencyResolve walks one key through every outcome.
func TestIdempotencyResolve(t *testing.T) {
	t.Parallel()
	lease := 30 * time.Second
	first := idemClaim(idemIDs.first, `{"a":1}`, idemStart)
	st, rec := first.Resolve(nil)
	if st.Outcome != engine.IdempotencyStarted || rec == nil {
		t.Fatalf("Resolve(nil) = %+v, %v; want Started and a record", st, rec)
	}
	want := engine.IdempotencyRecord{UserID: idemIDs.user, Key: "key-1", Fingerprint: first.Fingerprint,
		Phase: engine.IdempotencyPhaseInFlight, Attempt: idemIDs.first, LockedUntil: idemStart.Add(lease),
		CreatedAt: idemStart, ExpiresAt: idemStart.Add(engine.IdempotencyTTLDefault)}
	if !reflect.DeepEqual(*rec, want) {
		t.Fatalf("new record = %+v, want %+v", *rec, want)
	}
	inFlight := *rec

	tests := []struct {
		name    string
		claim   engine.IdempotencyClaim
		cur     engine.IdempotencyRecord
		want    engine.IdempotencyState
		written func(engine.IdempotencyRecord) *engine.IdempotencyRecord // nil = nothing written
	}{
		{"in flight, lease running", idemClaim(idemIDs.second, `{"a":1}`, idemStart.Add(lease-time.Nanosecond)),
			inFlight, engine.IdempotencyState{Outcome: engine.IdempotencyInFlight}, nil},
		{"other body while in flight", idemClaim(idemIDs.second, `{"a":2}`, idemStart.Add(time.Second)),
			inFlight, engine.IdempotencyState{Outcome: engine.IdempotencyMismatch}, nil},
		{"other body after the lease", idemClaim(idemIDs.second, `{"a":2}`, idemStart.Add(time.Hour)),
			inFlight, engine.IdempotencyState{Outcome: engine.IdempotencyMismatch}, nil},
		{"lease ran out exactly now", idemClaim(idemIDs.second, `{"a":1}`, idemStart.Add(lease)),
			inFlight, engine.IdempotencyState{Outcome: engine.IdempotencyTakenOver, PrevAttempt: idemIDs.first},
			func(r engine.IdempotencyRecord) *engine.IdempotencyRecord {
				r.LockedUntil = idemStart.Add(2 * lease) // the earlier attempt's id is kept
				return &r
			}},
		{"done", idemClaim(idemIDs.second, `{"a":1}`, idemStart.Add(time.Hour)),
			idemDone(inFlight, 201, `{"id":1}`),
			engine.IdempotencyState{Outcome: engine.IdempotencyReplay, Status: 201, Body: []byte(`{"id":1}`)}, nil},
		{"done, other body", idemClaim(idemIDs.second, `{"a":2}`, idemStart.Add(time.Hour)),
			idemDone(inFlight, 201, `{"id":1}`), engine.IdempotencyState{Outcome: engine.IdempotencyMismatch}, nil},
		{"expired done record, other body", idemClaim(idemIDs.second, `{"a":2}`, idemStart.Add(engine.IdempotencyTTLDefault)),
			idemDone(inFlight, 201, `{"id":1}`), engine.IdempotencyState{Outcome: engine.IdempotencyStarted},
			func(r engine.IdempotencyRecord) *engine.IdempotencyRecord {
				now := idemStart.Add(engine.IdempotencyTTLDefault)
				return &engine.IdempotencyRecord{UserID: r.UserID, Key: r.Key, Fingerprint: sha256.Sum256([]byte(`{"a":2}`)),
					Phase: engine.IdempotencyPhaseInFlight, Attempt: idemIDs.second, LockedUntil: now.Add(lease),
					CreatedAt: now, ExpiresAt: now.Add(engine.IdempotencyTTLDefault)}
			}},
	}
	for _, tt := range tests {
		st, rec := tt.claim.Resolve(&tt.cur)
		if !reflect.DeepEqual(st, tt.want) {
			t.Errorf("%s: state %+v, want %+v", tt.name, st, tt.want)
		}
		var wantRec *engine.IdempotencyRecord
		if tt.written != nil {
			wantRec = tt.written(tt.cur)
		}
		if !reflect.DeepEqual(rec, wantRec) {
			t.Errorf("%s: writes %+v, want %+v", tt.name, rec, wantRec)
		}
		if rec != nil {
			if err := rec.Validate(); err != nil {
				t.Errorf("%s: written record is invalid: %v", tt.name, err)
			}
		}
	}
}

func idemDone(r engine.IdempotencyRecord, status int, body string) engine.IdempotencyRecord {
	r.Phase, r.Status, r.Body = engine.IdempotencyPhaseDone, status, []byte(body)
	return r
}

func TestIdempotencyOutcomeString(t *testing.T) {
	t.Parallel()
	want := map[engine.IdempotencyOutcome]string{engine.IdempotencyStarted: "started",
		engine.IdempotencyMismatch: "mismatch", engine.IdempotencyReplay: "replay",
		engine.IdempotencyInFlight: "in_flight", engine.IdempotencyTakenOver: "taken_over",
		0: "IdempotencyOutcome(0)"}
	for o, s := range want {
		if o.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), s)
		}
	}
}
