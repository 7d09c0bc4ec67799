package persist_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func newID(t testing.TB) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// now is the current time as PostgreSQL stores it (UTC, microseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func TestUsers(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	u := engine.User{ID: newID(t), Username: "alice", Email: "alice@example.com",
		IsAdmin: true, PasswordHash: []byte("$2a$10$hash"), CreatedAt: now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	byName, err := s.UserByUsername(ctx, "alice")
	if err != nil || !reflect.DeepEqual(byName, u) {
		t.Errorf("UserByUsername = %+v, %v; want %+v", byName, err, u)
	}
	byID, err := s.UserByID(ctx, u.ID)
	if err != nil || !reflect.DeepEqual(byID, u) {
		t.Errorf("UserByID = %+v, %v; want %+v", byID, err, u)
	}

	dup := u
	dup.ID = newID(t)
	if err := s.CreateUser(ctx, dup); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("CreateUser(taken username) = %v, want ErrConflict", err)
	}
	if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("UserByUsername(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, newID(t)); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("UserByID(missing) = %v, want ErrNotFound", err)
	}
}

// TestUserCheckViolation: a username the engine would refuse is also
// refused by the database, as engine.ErrInvalid naming the column.
func TestUserCheckViolation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	u := engine.User{ID: newID(t), Username: "no spaces", PasswordHash: []byte("x"), CreatedAt: now()}
	err := s.CreateUser(t.Context(), u)
	var ve *engine.ValidationError
	if !errors.Is(err, engine.ErrInvalid) || !errors.As(err, &ve) || ve.Fields[0].Field != "username" {
		t.Fatalf("CreateUser(bad username) = %v, want ErrInvalid on username", err)
	}
}
