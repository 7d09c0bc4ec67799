package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
)

// constraintMessages gives the caller-facing text for unique constraints
// (the detail of a 409); an unlisted constraint gets a generic text.
var constraintMessages = map[string]string{
	"users_username_key":   "username is already taken",
	"products_sku_key":     "sku is already in use",
	"users_pkey":           "user id already exists",
	"products_pkey":        "product id already exists",
	"orders_pkey":          "order id already exists",
	"orders_reference_key": "order reference is already taken",
	"stock_holds_pkey":     "the order already holds units of this product",
}

// wrapError is the one place that turns driver errors into engine sentinel
// errors, prefixed with op:
//
//	pgx.ErrNoRows                          → engine.ErrNotFound
//	unique_violation (23505)               → engine.ErrConflict
//	check_violation (23514)                → engine.ErrInvalid (*engine.ValidationError)
//	text the database cannot store
//	(22021, 22P05, 22001)                  → engine.ErrInvalid (*engine.ValidationError)
//	a failed connection attempt (whatever
//	the server said), lost, closed or busy
//	connections, a closed pool, deadlines
//	and timeouts, server shutdown (57P0x),
//	connection exceptions (08), too many
//	connections, serialization failures
//	and deadlocks                          → engine.ErrUnavailable (retry later)
//
// Anything else keeps its own error and so becomes an internal error
// upstream. Mapped errors carry the driver's text but not its types.
func wrapError(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, engine.ErrNotFound)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && !errors.Is(err, context.Canceled) {
		// Refused, timed out, or the server said no (starting up, too
		// many connections, even a bad password): the database cannot be
		// used now, which is what the caller needs to know; the log has
		// the cause.
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return wrapPgError(op, pe)
	}
	if isUnavailable(err) {
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func wrapPgError(op string, pe *pgconn.PgError) error {
	switch {
	case pe.Code == "23505":
		msg, ok := constraintMessages[pe.ConstraintName]
		if !ok {
			msg = "a unique value is already in use"
		}
		return fmt.Errorf("%s: %w", op, engine.WithDetail(engine.ErrConflict, msg))
	case pe.Code == "23514":
		field := checkField(pe.TableName, pe.ConstraintName)
		return fmt.Errorf("%s: %w", op, engine.Invalid(field, "is rejected by the database"))
	case unstorableText(pe.Code): // the edge checks text first; this is the net under it
		return fmt.Errorf("%s: %v: %w", op, pe.Message,
			engine.Invalid("text", "contains a character or a length the database cannot store"))
	case pe.Code == fencedState:
		fenced, err := engine.ParseFencedShards(pe.Detail)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return fmt.Errorf("%s: %w", op, fenced)
	case unavailableState(pe.Code):
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnavailable, pe)
	}
	return fmt.Errorf("%s: %s", op, pe.Error())
}

// unstorableText reports SQLSTATEs of text PostgreSQL cannot hold: an
// invalid byte sequence or NUL (22021 character_not_in_repertoire), a
// character the encoding cannot translate, such as \u0000 in jsonb (22P05),
// and a string over a column's length (22001).
func unstorableText(code string) bool {
	return code == "22021" || code == "22P05" || code == "22001"
}

// checkField recovers the column from PostgreSQL's default CHECK constraint
// name, <table>_<column>_check.
func checkField(table, constraint string) string {
	f := strings.TrimSuffix(strings.TrimPrefix(constraint, table+"_"), "_check")
	if f == "" {
		return constraint
	}
	return f
}

// unavailableState reports SQLSTATEs that mean "retry later": connection
// exceptions (08), insufficient resources (53), operator intervention
// (57: shutdown, statement timeout), serialization failure and deadlock.
func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"):
		return true
	case code == "40001", code == "40P01":
		return true
	}
	return false
}

// isUnavailable reports transport failures: dial errors, deadlines and
// timeouts (pgconn's "timeout: ..." included), dropped, closed or busy
// connections, a closed pool, and any error pgconn marks safe to retry
// (raised before anything reached the server). A caller's own
// cancellation is not one: it stays context.Canceled.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// redisBusyPrefixes are Redis error replies that mean "retry later".
var redisBusyPrefixes = []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN",
	"NOREPLICAS", "max number of clients reached"}

// wrapRedisError is wrapError for Redis, prefixed with op: redis.Nil →
// engine.ErrNotFound; a server's error reply stays an internal error unless
// it means "retry later"; everything else (dial, timeout, closed client,
// exhausted pool) is engine.ErrUnavailable. A caller's own cancellation
// stays context.Canceled.
func wrapRedisError(op string, err error) error {
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%s: %w", op, engine.ErrNotFound)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var re redis.Error
	if errors.As(err, &re) {
		for _, p := range redisBusyPrefixes {
			if redis.HasErrorPrefix(err, p) {
				return fmt.Errorf("%s: %w: %v", op, engine.ErrUnavailable, err)
			}
		}
		return fmt.Errorf("%s: redis: %v", op, err)
	}
	return fmt.Errorf("%s: %w: %v", op, engine.ErrUnavailable, err)
}
