package persist

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
)

// Text PostgreSQL cannot store is engine.ErrInvalid, not an internal error:
// the edge refuses such text first (engine.CheckText and friends), and this
// mapping is the net under it, so a string that slips past is a 400, never
// a 500.

func TestWrapPgErrorUnstorableTextIsInvalid(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"22021", "22P05", "22001"} {
		err := wrapError("op", &pgconn.PgError{Code: code, Message: "refused"})
		var ve *engine.ValidationError
		if !errors.Is(err, engine.ErrInvalid) || !errors.As(err, &ve) || len(ve.Fields) != 1 {
			t.Errorf("SQLSTATE %s: %v, want an engine.ValidationError", code, err)
		}
	}
	if err := wrapError("op", &pgconn.PgError{Code: "22012"}); errors.Is(err, engine.ErrInvalid) {
		t.Errorf("division by zero (22012) mapped to ErrInvalid: %v", err)
	}
}

// The same, with the errors a real server sends.
func TestUnstorableTextFromPostgreSQLIsInvalid(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	if _, err := conn.Exec(ctx, "CREATE TABLE text_probe (short varchar(4), doc jsonb)"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sql, arg, code string
	}{
		{"NUL in text", "SELECT $1::text", "a\x00b", "22021"},
		{"invalid UTF-8 in text", "SELECT $1::text", "a\xffb", "22021"},
		{"NUL escape in jsonb", "INSERT INTO text_probe (doc) VALUES ($1::text::jsonb)", `{"a":"\u0000"}`, "22P05"},
		{"too long for varchar", "INSERT INTO text_probe (short) VALUES ($1)", "abcde", "22001"},
	} {
		_, err := conn.Exec(ctx, tc.sql, tc.arg)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tc.name, err, tc.code)
			continue
		}
		if wrapped := wrapError("probe", err); !errors.Is(wrapped, engine.ErrInvalid) {
			t.Errorf("%s: wrapError = %v, want engine.ErrInvalid", tc.name, wrapped)
		}
	}
}
