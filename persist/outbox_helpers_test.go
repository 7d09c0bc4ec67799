package persist_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// buyer stores a user with an e-mail address ("" for none).
func buyer(t *testing.T, s *persist.Store, username, email string) engine.ID {
	t.Helper()
	u := engine.User{ID: newID(t), Username: username, Email: email, PasswordHash: []byte("$2a$10$hash"), CreatedAt: now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u.ID
}

// placeOrder stores a pending order of the given lines, taking its units.
func placeOrder(t *testing.T, s *persist.Store, user engine.ID, line engine.OrderLine) engine.Order {
	t.Helper()
	o := newOrder(t, user, line)
	if _, err := s.CommitStock(t.Context(), engine.StockCommit{Orders: []engine.Order{o}}); err != nil {
		t.Fatalf("CommitStock: %v", err)
	}
	return o
}

// outboxRow is one outbox row as the tests look at it.
type outboxRow struct {
	Kind, Key, To, Status string
	Attempts              int
}

// outboxRows returns the outbox, by key.
func outboxRows(t *testing.T, conn *pgx.Conn) []outboxRow {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT kind, dedup_key, coalesce(payload->'to'->>0, ''), status, attempts
FROM outbox ORDER BY dedup_key`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := r.Scan(&o.Kind, &o.Key, &o.To, &o.Status, &o.Attempts)
		return o, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
