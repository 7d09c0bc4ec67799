package engine

import (
	"fmt"
	"time"
)

// Idempotency keys (DESIGN.md "Orders"): a client may send POST /orders/
// with an Idempotency-Key; a repeat of the same request under the same key
// gets the first response again instead of a second order.
//
// One record exists per (user, key). An attempt claims the key (Begin),
// does its work and then records the response (Complete) or, if it
// certainly wrote nothing, gives the key back (Release). A claim holds the
// key for a lease; a record whose lease ran out while in flight belongs to
// an attempt that died or timed out, and the next claim takes it over,
// first checking whether that attempt's resource exists. The rules that
// pick the outcome of a claim are Resolve's; stores apply them atomically.

// Limits of idempotency records.
const (
	// IdempotencyKeyBytesMax is the longest Idempotency-Key.
	IdempotencyKeyBytesMax = 255
	// IdempotencyTTLDefault is how long a record is kept, counted from its
	// creation: repeats within it are answered from the record.
	IdempotencyTTLDefault = 24 * time.Hour
	// IdempotencyBodyBytesMax is the largest response body a record stores.
	IdempotencyBodyBytesMax = 64 << 10
	// IdempotencyStatusMin is the lowest HTTP status a record stores.
	IdempotencyStatusMin = 100
	// IdempotencyStatusMax is the highest HTTP status a record stores.
	IdempotencyStatusMax = 599
)

// IdempotencyFingerprintBytes is the size of a request fingerprint (SHA-256).
const IdempotencyFingerprintBytes = 32

// ParseIdempotencyKey accepts 1 to IdempotencyKeyBytesMax bytes of
// printable ASCII (0x20-0x7e) and returns the key unchanged; anything else is
// ErrInvalid naming the field "Idempotency-Key".
func ParseIdempotencyKey(s string) (string, error) {
	if msg := validIdempotencyKey(s); msg != "" {
		return "", Invalid("Idempotency-Key", msg)
	}
	return s, nil
}

// validIdempotencyKey returns what is wrong with s as a key, or "".
func validIdempotencyKey(s string) string {
	if len(s) == 0 || len(s) > IdempotencyKeyBytesMax {
		return "must be 1 to 255 characters"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "may contain only printable ASCII characters"
		}
	}
	return ""
}

// IdempotencyOutcome is the result of claiming a key. The zero value is no
// outcome.
type IdempotencyOutcome int

// Outcomes of a claim, in the order Resolve tests for them.
const (
	// IdempotencyStarted: the key was free (or its record had expired); the
	// claim's attempt now holds it in flight and should do the work.
	IdempotencyStarted IdempotencyOutcome = iota + 1
	// IdempotencyMismatch: the key was used with a different request.
	IdempotencyMismatch
	// IdempotencyReplay: the first request finished; answer with its
	// stored status and body.
	IdempotencyReplay
	// IdempotencyInFlight: another attempt holds the key and its lease has
	// not run out.
	IdempotencyInFlight
	// IdempotencyTakenOver: the holding attempt's lease ran out; the claim's
	// attempt now holds the key and must first check whether the earlier
	// attempt (PrevAttempt) created its resource.
	IdempotencyTakenOver
)

// String names the outcome, for logs.
func (o IdempotencyOutcome) String() string {
	switch o {
	case IdempotencyStarted:
		return "started"
	case IdempotencyMismatch:
		return "mismatch"
	case IdempotencyReplay:
		return "replay"
	case IdempotencyInFlight:
		return "in_flight"
	case IdempotencyTakenOver:
		return "taken_over"
	}
	return fmt.Sprintf("IdempotencyOutcome(%d)", int(o))
}

// IdempotencyClaim asks to hold (UserID, Key) for one attempt.
type IdempotencyClaim struct {
	UserID ID
	Key    string
	// Fingerprint identifies the request (SHA-256 of method, path and body):
	// a repeat under the same key must carry the same one.
	Fingerprint [IdempotencyFingerprintBytes]byte
	// Attempt is the id of the resource this attempt creates (for orders,
	// the order id chosen before the order is placed).
	Attempt ID
	// Now is the current time; the engine reads no clock.
	Now time.Time
	// Lease is how long the attempt holds the key; it must outlast the
	// request's work, commit included.
	Lease time.Duration
	// TTL is how long a new record is kept.
	TTL time.Duration
}

// Validate checks every field of the claim.
func (c IdempotencyClaim) Validate() error {
	var v validator
	v.check(!c.UserID.IsZero(), "user_id", "is required")
	if msg := validIdempotencyKey(c.Key); msg != "" {
		v.add("key", msg)
	}
	v.check(!c.Attempt.IsZero(), "attempt", "is required")
	v.check(!c.Now.IsZero(), "now", "is required")
	v.check(c.Lease > 0, "lease", "must be positive")
	v.check(c.TTL > c.Lease, "ttl", "must be longer than the lease")
	return v.err()
}

// IdempotencyState is what a claim found: the outcome and, for
// IdempotencyReplay, the stored response, or for IdempotencyTakenOver, the
// attempt whose resource the caller must look for.
type IdempotencyState struct {
	Outcome     IdempotencyOutcome
	Status      int    // IdempotencyReplay only
	Body        []byte // IdempotencyReplay only
	PrevAttempt ID     // IdempotencyTakenOver only
}

// IdempotencyPhase is a record's state.
type IdempotencyPhase string

// Phases of a record: in flight until its attempt records the response.
const (
	IdempotencyPhaseInFlight IdempotencyPhase = "in_flight"
	IdempotencyPhaseDone     IdempotencyPhase = "done"
)

// IdempotencyRecord is the stored state of one (UserID, Key).
type IdempotencyRecord struct {
	UserID      ID
	Key         string
	Fingerprint [IdempotencyFingerprintBytes]byte
	Phase       IdempotencyPhase
	Attempt     ID        // the attempt that holds (or completed) the key
	LockedUntil time.Time // end of the holding attempt's lease
	Status      int       // IdempotencyPhaseDone only
	Body        []byte    // IdempotencyPhaseDone only (may be empty, not nil)
	CreatedAt   time.Time
	ExpiresAt   time.Time // CreatedAt + the claim's TTL
}

// Validate checks the record's invariants (stores call it after loading).
func (r IdempotencyRecord) Validate() error {
	var v validator
	v.check(!r.UserID.IsZero(), "user_id", "is required")
	if msg := validIdempotencyKey(r.Key); msg != "" {
		v.add("key", msg)
	}
	v.check(!r.Attempt.IsZero(), "attempt", "is required")
	v.check(r.ExpiresAt.After(r.CreatedAt), "expires_at", "must be after created_at")
	switch r.Phase {
	case IdempotencyPhaseInFlight:
		v.check(r.Status == 0 && r.Body == nil, "status", "must be unset while in flight")
	case IdempotencyPhaseDone:
		checkIdempotentResponse(&v, r.Status, r.Body)
		v.check(r.Body != nil, "body", "is required when done")
	default:
		v.add("state", "must be in_flight or done")
	}
	return v.err()
}

// ValidateIdempotentResponse checks a response before it is stored: an HTTP
// status and a body of at most IdempotencyBodyBytesMax bytes.
func ValidateIdempotentResponse(status int, body []byte) error {
	var v validator
	checkIdempotentResponse(&v, status, body)
	return v.err()
}

func checkIdempotentResponse(v *validator, status int, body []byte) {
	v.check(status >= IdempotencyStatusMin && status <= IdempotencyStatusMax,
		"status", "must be an HTTP status (100 to 599)")
	v.check(len(body) <= IdempotencyBodyBytesMax, "body", "must be at most 65536 bytes")
}

// Resolve applies the claim to the key's current record (nil = none) and
// returns the outcome and the record to store in its place (nil = leave it
// as it is). Stores must run it atomically with reading cur and writing the
// result, so that of concurrent claims on one key exactly one starts:
//
//	no record, or cur past ExpiresAt       → Started: a new in-flight record
//	fingerprint differs                    → Mismatch, whatever the phase
//	done                                   → Replay with the stored response
//	in flight, lease not run out           → InFlight
//	in flight, lease run out (LockedUntil
//	at or before Now)                      → TakenOver{PrevAttempt}: the
//	                                         claim continues the earlier
//	                                         attempt (same attempt id, so
//	                                         the same resource id) under a
//	                                         new lease
//
// A takeover keeps the earlier attempt's id on purpose: the taker either
// finds that attempt's resource or creates it under that very id, so a
// late commit of the earlier attempt can never make a second resource, and
// a taker that dies before deciding leaves the next one the same question.
func (c IdempotencyClaim) Resolve(cur *IdempotencyRecord) (IdempotencyState, *IdempotencyRecord) {
	switch {
	case cur == nil || !c.Now.Before(cur.ExpiresAt):
		fresh := IdempotencyRecord{UserID: c.UserID, Key: c.Key, Fingerprint: c.Fingerprint,
			Phase: IdempotencyPhaseInFlight, Attempt: c.Attempt, LockedUntil: c.Now.Add(c.Lease),
			CreatedAt: c.Now, ExpiresAt: c.Now.Add(c.TTL)}
		return IdempotencyState{Outcome: IdempotencyStarted}, &fresh
	case cur.Fingerprint != c.Fingerprint:
		return IdempotencyState{Outcome: IdempotencyMismatch}, nil
	case cur.Phase == IdempotencyPhaseDone:
		return IdempotencyState{Outcome: IdempotencyReplay, Status: cur.Status, Body: cur.Body}, nil
	case cur.LockedUntil.After(c.Now):
		return IdempotencyState{Outcome: IdempotencyInFlight}, nil
	}
	next := *cur
	next.LockedUntil = c.Now.Add(c.Lease)
	return IdempotencyState{Outcome: IdempotencyTakenOver, PrevAttempt: cur.Attempt}, &next
}
