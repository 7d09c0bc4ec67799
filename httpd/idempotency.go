package httpd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Idempotency-Key support for POST /orders/ (DESIGN.md "Orders"): a repeat
// of a request under the same key, by the same user, gets the first
// response again (status and body, with Idempotent-Replayed: true) instead
// of doing the work twice; the same key with another method, path or body
// is 422 idempotency_key_reused; a repeat while the first is still running
// is 409 conflict.
//
// An attempt holds its key for a lease (idempotencyLeaseDefault) and records
// its response when it ends, unless it failed in a way that leaves unknown
// whether its work committed (a 5xx other than overloaded): then the key
// stays in flight, the lease runs out, and the next repeat takes the key
// over and first asks whether the earlier attempt's resource exists (the
// attempt id is the id of that resource, chosen before the work). So an
// order is never placed twice for one key, even when the request that
// placed it timed out while it was committing.

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"

	// idempotencyLeaseDefault is how long an attempt holds its key. It must
	// outlast the request timeout plus a commit that the timeout left
	// running: a takeover after the lease must be able to trust that the
	// earlier attempt's resource either exists by then or never will.
	idempotencyLeaseDefault = 30 * time.Second
	// idempotencyTTLDefault is how long a key's record is kept (DESIGN.md:
	// at least 24 h).
	idempotencyTTLDefault = engine.IdempotencyTTLDefault
	// idempotencyFinishTimeout bounds recording or releasing the outcome.
	// It runs on a context of its own: the request's may have run out
	// during the work, and the outcome is worth recording even then.
	idempotencyFinishTimeout = 2 * time.Second
)

// Idempotency stores the outcome of requests made with an Idempotency-Key,
// one record per (user, key).
type Idempotency interface {
	// BeginIdempotent claims the key for claim.Attempt and says what the
	// caller must do (engine.IdempotencyClaim.Resolve has the rules).
	// Concurrent claims on one key are atomic: exactly one starts or takes
	// over.
	BeginIdempotent(ctx context.Context, claim engine.IdempotencyClaim) (engine.IdempotencyState, error)
	// CompleteIdempotent records the response and marks the record done, if
	// attempt still holds the key; otherwise it does nothing. A status
	// outside 100..599 or a body over engine.IdempotencyBodyBytesMax is
	// engine.ErrInvalid.
	CompleteIdempotent(ctx context.Context, userID engine.ID, key string, attempt engine.ID, status int, body []byte) error
	// ReleaseIdempotent deletes the record if attempt still holds it in
	// flight, so that a retry starts afresh; the caller must be sure its
	// attempt wrote nothing.
	ReleaseIdempotent(ctx context.Context, userID engine.ID, key string, attempt engine.ID) error
}

// idempotent runs fn at most once per (user, Idempotency-Key): attempt is
// the id of the resource fn creates, chosen by the caller before calling.
//
// fn does the work for the attempt id it is given and writes the success
// response (c.respond) or returns an error. existing, called when an earlier
// attempt under the key died or timed out, looks for that attempt's
// resource (prev): if it exists, it writes it as the response and returns
// true, and fn is not run; if not, fn runs with prev as its attempt id, so
// that a late commit of the earlier attempt cannot create a second resource.
//
// A response that repeats an earlier attempt's outcome (a replay, an earlier
// attempt's resource found, or a refusal while one is in flight) sets
// c.repeat.
//
// Without the header, or without Deps.Idempotency, it just runs fn. A
// malformed key is 400; a store that cannot be asked is 503 (fail closed).
// Responses below 500 are recorded (errors as the problem they render);
// overloaded and rate_limited refusals, which did no work, release the key;
// any other 5xx leaves the key in flight until its lease runs out.
func (s *Server) idempotent(c *call, user, attempt engine.ID, fn func(attempt engine.ID) error,
	existing func(prev engine.ID) (bool, error)) error {
	if s.deps.Idempotency == nil {
		return fn(attempt)
	}
	key, present, err := idempotencyKey(c.ctx)
	if err != nil {
		return err
	}
	if !present {
		return fn(attempt)
	}
	claim := engine.IdempotencyClaim{UserID: user, Key: key, Fingerprint: requestFingerprint(c.ctx),
		Attempt: attempt, Now: time.Now(), Lease: idempotencyLeaseDefault, TTL: idempotencyTTLDefault}
	st, err := s.deps.Idempotency.BeginIdempotent(c.context, claim)
	if err != nil {
		return fmt.Errorf("%w: idempotency key: %v", engine.ErrUnavailable, err)
	}
	switch st.Outcome {
	case engine.IdempotencyStarted:
		return s.runIdempotent(c, claim, fn)
	case engine.IdempotencyReplay:
		c.repeat = true
		writeReplay(c.ctx, st.Status, st.Body)
		return nil
	case engine.IdempotencyInFlight:
		c.repeat = true
		return engine.WithDetail(engine.ErrConflict, "a request with this Idempotency-Key is still in flight; retry later")
	case engine.IdempotencyMismatch:
		return fmt.Errorf("%w: the key was first used with another method, path or body", errIdempotencyKeyReused)
	case engine.IdempotencyTakenOver:
		return s.takeOverIdempotent(c, claim, st.PrevAttempt, fn, existing)
	}
	return fmt.Errorf("idempotency key: unknown outcome %v", st.Outcome)
}

// runIdempotent runs fn for the attempt that holds the key and settles the
// key by the response: recorded, released or left in flight.
func (s *Server) runIdempotent(c *call, claim engine.IdempotencyClaim, fn func(attempt engine.ID) error) error {
	fnErr := fn(claim.Attempt)
	status, body := c.ctx.Response.StatusCode(), bytes.Clone(c.ctx.Response.Body())
	refused := false
	if fnErr != nil {
		p := newProblem(fnErr, c.requestID)
		encoded, err := json.Marshal(p)
		if err != nil { // cannot happen for this struct; leave the key to its lease
			return fnErr
		}
		status, body = p.Status, encoded
		refused = p.Code == "overloaded" || p.Code == "rate_limited"
	}
	switch {
	case refused:
		s.releaseIdempotent(c, claim)
	case status < fasthttp.StatusInternalServerError:
		s.completeIdempotent(c, claim, status, body)
	}
	return fnErr
}

// takeOverIdempotent answers with the earlier attempt's resource if it
// exists, and otherwise runs this attempt.
func (s *Server) takeOverIdempotent(c *call, claim engine.IdempotencyClaim, prev engine.ID,
	fn func(attempt engine.ID) error, existing func(prev engine.ID) (bool, error)) error {
	claim.Attempt = prev // the key still names the earlier attempt: continue it
	found, err := existing(prev)
	if err != nil {
		return fmt.Errorf("idempotency key: look for the earlier attempt %s: %w", prev, err)
	}
	if !found {
		return s.runIdempotent(c, claim, fn)
	}
	c.repeat = true
	s.completeIdempotent(c, claim, c.ctx.Response.StatusCode(), bytes.Clone(c.ctx.Response.Body()))
	c.ctx.Response.Header.Set(headerIdempotentReplayed, "true")
	return nil
}

// completeIdempotent records the response. A failure is logged, not
// returned: the request did succeed, and the key's lease lets a retry find
// the outcome by takeover.
func (s *Server) completeIdempotent(c *call, claim engine.IdempotencyClaim, status int, body []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.context), idempotencyFinishTimeout)
	defer cancel()
	err := s.deps.Idempotency.CompleteIdempotent(ctx, claim.UserID, claim.Key, claim.Attempt, status, body)
	if err != nil {
		s.log.Warn().Str("request_id", c.requestID).AnErr("error", err).
			Msg("idempotency key: recording the response failed; the key stays in flight until its lease ends")
	}
}

// releaseIdempotent gives the key back after a refusal. A failure is
// logged, not returned (the request's own error is): the key then stays in
// flight until its lease ends.
func (s *Server) releaseIdempotent(c *call, claim engine.IdempotencyClaim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.context), idempotencyFinishTimeout)
	defer cancel()
	if err := s.deps.Idempotency.ReleaseIdempotent(ctx, claim.UserID, claim.Key, claim.Attempt); err != nil {
		s.log.Warn().Str("request_id", c.requestID).AnErr("error", err).
			Msg("idempotency key: release failed; the key stays in flight until its lease ends")
	}
}

// idempotencyKey reads the Idempotency-Key header, copied out of ctx.
// present is false when there is none; a malformed key, or more than one,
// is engine.ErrInvalid naming the header.
func idempotencyKey(ctx *fasthttp.RequestCtx) (key string, present bool, err error) {
	values := ctx.Request.Header.PeekAll(headerIdempotencyKey)
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
		key, err := engine.ParseIdempotencyKey(string(values[0]))
		return key, true, err
	}
	return "", true, engine.Invalid(headerIdempotencyKey, "must be sent once")
}

// requestFingerprint is the SHA-256 of the request's method, path (as
// routed: without the trailing slash) and raw body, each preceded by its
// length so that no two requests share an encoding. It keeps no reference
// into ctx.
func requestFingerprint(ctx *fasthttp.RequestCtx) [engine.IdempotencyFingerprintBytes]byte {
	h := sha256.New()
	for _, part := range [][]byte{ctx.Method(), ctx.Path(), ctx.Request.Body()} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var fp [engine.IdempotencyFingerprintBytes]byte
	h.Sum(fp[:0])
	return fp
}

// writeReplay answers with a recorded response.
func writeReplay(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	if status >= fasthttp.StatusBadRequest {
		ctx.SetContentType("application/problem+json")
	} else {
		ctx.SetContentType("application/json")
	}
	ctx.SetBody(body)
	ctx.Response.Header.Set(headerIdempotentReplayed, "true")
}
