package persist

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

const userColumns = "id, username, email, password_hash, is_admin, created_at"

// CreateUser stores u. A taken username is engine.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u engine.User) error {
	_, err := s.pool.Exec(ctx,
		"INSERT INTO users ("+userColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
		[16]byte(u.ID), u.Username, u.Email, u.PasswordHash, u.IsAdmin, u.CreatedAt.UTC())
	if err != nil {
		return wrapError("create user "+u.Username, err)
	}
	return nil
}

// UserByUsername returns the account or engine.ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (engine.User, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE username = $1", username)
	u, err := scanUser(row)
	if err != nil {
		return engine.User{}, wrapError("user "+username, err)
	}
	return u, nil
}

// UserByID returns the account or engine.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id engine.ID) (engine.User, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", [16]byte(id))
	u, err := scanUser(row)
	if err != nil {
		return engine.User{}, wrapError("user "+id.String(), err)
	}
	return u, nil
}

func scanUser(row pgx.Row) (engine.User, error) {
	var u engine.User
	var created time.Time
	err := row.Scan((*[16]byte)(&u.ID), &u.Username, &u.Email, &u.PasswordHash, &u.IsAdmin, &created)
	u.CreatedAt = created.UTC()
	return u, err
}
