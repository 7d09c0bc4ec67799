package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

const demoAdminUsername = "admin"

// demoAccount is the seeded admin; its password is kept in the data dir so
// that a second `make run` can print it again.
type demoAccount struct {
	Username, Password string
}

// demoProducts is the small catalogue `make run` seeds.
var demoProducts = []engine.ProductDraft{
	{SKU: "FLASH-HEADPHONES", Name: "Wireless Headphones", Price: 7999, Stock: 100},
	{SKU: "FLASH-SNEAKERS", Name: "Limited Sneakers", Price: 12900, Stock: 50},
	{SKU: "FLASH-CONSOLE", Name: "Game Console", Price: 49900, Stock: 10},
	{SKU: "FLASH-WATCH", Name: "Smart Watch", Price: 19900, Stock: 25},
	{SKU: "FLASH-MUG", Name: "Coffee Mug", Price: 1250, Stock: 1000},
	{SKU: "FLASH-LAST-ONE", Name: "The Last One (stock 1)", Price: 9900, Stock: 1},
}

// seedDemo creates the demo catalogue and admin unless they exist.
func seedDemo(ctx context.Context, store *persist.Store, c config) (*demoAccount, error) {
	now := time.Now().UTC()
	for _, d := range demoProducts {
		id, err := engine.NewID(now, rand.Reader)
		if err != nil {
			return nil, err
		}
		p, err := engine.NewProduct(d, id, now)
		if err != nil {
			return nil, fmt.Errorf("demo product %s: %w", d.SKU, err)
		}
		if err := store.CreateProduct(ctx, p); err != nil && !errors.Is(err, engine.ErrConflict) {
			return nil, fmt.Errorf("demo product %s: %w", d.SKU, err)
		}
	}
	return seedAdmin(ctx, store, c)
}

func seedAdmin(ctx context.Context, store *persist.Store, c config) (*demoAccount, error) {
	file := filepath.Join(c.DataDir, "demo-admin-password")
	if b, err := os.ReadFile(file); err == nil {
		if _, err := store.UserByUsername(ctx, demoAdminUsername); err == nil {
			return &demoAccount{Username: demoAdminUsername, Password: strings.TrimSpace(string(b))}, nil
		}
	}
	password := "demo-" + rand.Text()[:16]
	err := createUser(ctx, store, engine.Registration{Username: demoAdminUsername, Password: password, IsAdmin: true}, c.BcryptCost)
	if errors.Is(err, engine.ErrConflict) {
		return nil, nil // an admin of the user's own making; nothing to print
	}
	if err != nil {
		return nil, fmt.Errorf("demo admin: %w", err)
	}
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo admin: %w", err)
	}
	return &demoAccount{Username: demoAdminUsername, Password: password}, nil
}

// createUser validates r, hashes the password and stores the account.
func createUser(ctx context.Context, store *persist.Store, r engine.Registration, cost int) error {
	if err := r.Validate(); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := time.Now().UTC()
	id, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return err
	}
	return store.CreateUser(ctx, engine.User{ID: id, Username: r.Username, Email: r.Email,
		IsAdmin: r.IsAdmin, PasswordHash: hash, CreatedAt: now})
}

// printDemo tells a developer how to use the running dev server.
func printDemo(w io.Writer, addr string, a *demoAccount) {
	base := "http://" + addr
	fmt.Fprintf(w, `
flashstock dev server on %[1]s
  demo admin: username %[2]s  password %[3]s

  # log in as the admin and keep the access token
  TOKEN=$(curl -s -X POST %[1]s/auth/jwt/create/ -H 'Content-Type: application/json' \
    -d '{"username":"%[2]s","password":"%[3]s"}' | sed -E 's/.*"access":"([^"]+)".*/\1/')
  # list products (public)
  curl -s %[1]s/products/
  # create a product (admin)
  curl -s -X POST %[1]s/products/ -H "Authorization: JWT $TOKEN" -H 'Content-Type: application/json' \
    -d '{"sku":"MY-SKU-1","name":"My product","price":1999,"currency":"USD","stock":5}'
  # order 2 units of the first product, then list your orders
  PRODUCT=$(curl -s '%[1]s/products/?limit=1' | sed -E 's/.*"items":\[\{"id":"([^"]+)".*/\1/')
  curl -s -X POST %[1]s/orders/ -H "Authorization: JWT $TOKEN" -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: demo-1' -d '{"items":[{"product_id":"'$PRODUCT'","quantity":2}]}'
  curl -s %[1]s/orders/ -H "Authorization: JWT $TOKEN"
  # API docs: %[1]s/docs

`, base, a.Username, a.Password)
}
