package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
)

// classOf names the sentinel wrapError mapped err to; "internal" for none.
func classOf(err error) string {
	for _, s := range []error{engine.ErrUnavailable, engine.ErrNotFound, engine.ErrConflict, engine.ErrInvalid, context.Canceled} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "internal"
}

var unavailable = engine.ErrUnavailable.Error()

func TestWrapErrorClasses(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no rows", pgx.ErrNoRows, engine.ErrNotFound.Error()},
		{"unique violation", pg("23505"), engine.ErrConflict.Error()},
		{"check violation", pg("23514"), engine.ErrInvalid.Error()},
		{"connection failure 08006", pg("08006"), unavailable},
		{"connection refused by server 08004", pg("08004"), unavailable},
		{"protocol violation 08P01", pg("08P01"), unavailable},
		{"admin shutdown 57P01", pg("57P01"), unavailable},
		{"crash shutdown 57P02", pg("57P02"), unavailable},
		{"cannot connect now 57P03", pg("57P03"), unavailable},
		{"statement timeout 57014", pg("57014"), unavailable},
		{"too many connections 53300", pg("53300"), unavailable},
		{"serialization failure", pg("40001"), unavailable},
		{"deadlock", pg("40P01"), unavailable},
		{"syntax error stays internal", pg("42601"), "internal"},
		{"deadline", context.DeadlineExceeded, unavailable},
		{"wrapped deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), unavailable},
		{"cancellation stays cancellation", context.Canceled, context.Canceled.Error()},
		{"EOF", io.EOF, unavailable},
		{"unexpected EOF", fmt.Errorf("receive message failed: %w", io.ErrUnexpectedEOF), unavailable},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, unavailable},
		{"conn closed", pgconn.ErrConnClosed, unavailable},
		{"closed pool", puddle.ErrClosedPool, unavailable},
		{"anything else stays internal", errors.New("boom"), "internal"},
	}
	for _, tt := range tests {
		if got := classOf(wrapError("op", tt.err)); got != tt.want {
			t.Errorf("%s: wrapError(%v) is %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}

// The errors pgx really returns when the connection, the pool or the
// deadline fails, produced against a live server: each is
// engine.ErrUnavailable.
func TestWrapErrorDriverErrors(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	connect := func() *pgx.Conn {
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		return conn
	}
	check := func(what string, err error) {
		t.Helper()
		if got := classOf(wrapError("op", err)); got != unavailable {
			t.Errorf("%s: wrapError(%v) is %q, want %q", what, err, got, unavailable)
		}
	}

	// Refused: nothing listens on the port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := fmt.Sprintf("postgres://postgres@%s/x?sslmode=disable&connect_timeout=5", l.Addr())
	l.Close()
	_, err = pgx.Connect(t.Context(), refused)
	check("connection refused", err)

	// The deadline passes while a query runs: pgconn's "timeout: context
	// deadline exceeded" (the text a paused process answered with).
	conn := connect()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err = conn.Exec(ctx, "SELECT pg_sleep(5)")
	cancel()
	if !pgconn.Timeout(err) {
		t.Errorf("query past its deadline: %v, want a pgconn timeout", err)
	}
	check("deadline during a query", err)

	// The deadline passed before the call.
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = connect().Exec(expired, "SELECT 1")
	check("deadline before a query", err)

	// Busy: a second statement while the first's rows are unread.
	busy := connect()
	rows, err := busy.Query(t.Context(), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = busy.Exec(t.Context(), "SELECT 1")
	rows.Close()
	check("conn busy", err)

	// Closed by us.
	closed := connect()
	_ = closed.Close(t.Context())
	_, err = closed.Exec(t.Context(), "SELECT 1")
	check("conn closed", err)

	// Terminated by the server (a restart, an administrator) in the middle
	// of a transaction: the next statement and the commit.
	victim, killer := connect(), connect()
	tx, err := victim.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := killer.Exec(t.Context(), "SELECT pg_terminate_backend($1)", victim.PgConn().PID()); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(t.Context(), "SELECT 1")
	check("statement after the backend was terminated", err)
	check("commit after the backend was terminated", tx.Commit(t.Context()))

	// A pool closed under the caller (shutdown).
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	_, err = pool.Exec(t.Context(), "SELECT 1")
	check("closed pool", err)
	check("begin on a closed pool", runTx(t.Context(), pool, pgx.TxOptions{}, "op", func(pgx.Tx) error { return nil }))
}

// redisReply is an error reply of a Redis server.
type redisReply string

func (r redisReply) Error() string { return string(r) }
func (redisReply) RedisError()     {}

func TestWrapRedisErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil reply", redis.Nil, engine.ErrNotFound.Error()},
		{"loading", redisReply("LOADING Redis is loading the dataset in memory"), unavailable},
		{"too many clients", redisReply("ERR max number of clients reached"), unavailable},
		{"read-only replica", redisReply("READONLY You can't write against a read only replica."), unavailable},
		{"wrong type stays internal", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value"), "internal"},
		{"closed client", redis.ErrClosed, unavailable},
		{"pool timeout", redis.ErrPoolTimeout, unavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, unavailable},
		{"deadline", context.DeadlineExceeded, unavailable},
		{"cancellation stays cancellation", context.Canceled, context.Canceled.Error()},
	}
	for _, tt := range tests {
		if got := classOf(wrapRedisError("op", tt.err)); got != tt.want {
			t.Errorf("%s: wrapRedisError(%v) is %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}
