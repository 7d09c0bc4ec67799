package persist_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// createProduct stores a valid product with the given SKU and stock.
func createProduct(t testing.TB, s *persist.Store, sku string, stock int64, active bool) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: sku, Name: "Product " + sku,
		Price: 1250, Currency: "EUR", Stock: stock, IsActive: &active}, newID(t), now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProduct(t.Context(), p); err != nil {
		t.Fatalf("CreateProduct(%s): %v", sku, err)
	}
	return p
}

func TestProductCreateGet(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	p := createProduct(t, s, "SKU-1", 5, true)
	got, err := s.Product(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("Product = %+v, %v; want %+v", got, err, p)
	}
	dup := p
	dup.ID = newID(t)
	if err := s.CreateProduct(ctx, dup); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("CreateProduct(taken sku) = %v, want ErrConflict", err)
	}
	if _, err := s.Product(ctx, newID(t)); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Product(missing) = %v, want ErrNotFound", err)
	}
	bad := p
	bad.ID, bad.SKU, bad.Stock = newID(t), "SKU-2", -1
	if err := s.CreateProduct(ctx, bad); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("CreateProduct(negative stock) = %v, want ErrInvalid", err)
	}
}

func TestListProducts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	var want []engine.ID
	for i := range 10 {
		p := createProduct(t, s, fmt.Sprintf("SKU-%02d", i), int64(i), i%3 != 0)
		if p.IsActive {
			want = append(want, p.ID)
		}
	}
	slices.SortFunc(want, func(a, b engine.ID) int { return bytes.Compare(a[:], b[:]) })

	var got []engine.ID
	after := engine.NilID
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListProducts(ctx, after, 3)
		if err != nil {
			t.Fatalf("ListProducts: %v", err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			if !p.IsActive {
				t.Errorf("inactive product %s listed", p.SKU)
			}
			got = append(got, p.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want active ids in order %v", got, want)
	}
	for _, limit := range []int{0, -1, 1001} {
		if _, err := s.ListProducts(ctx, engine.NilID, limit); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("ListProducts(limit %d) = %v, want ErrInvalid", limit, err)
		}
	}
}

func TestUpdateProduct(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	p := createProduct(t, s, "SKU-1", 5, true)
	other := createProduct(t, s, "SKU-2", 5, true)

	name := "Renamed"
	updated, err := s.UpdateProduct(ctx, p.ID, func(cur engine.Product) (engine.Product, error) {
		return cur.Apply(engine.ProductPatch{Name: &name}, now())
	})
	if err != nil || updated.Name != name {
		t.Fatalf("UpdateProduct = %+v, %v", updated, err)
	}
	if got, err := s.Product(ctx, p.ID); err != nil || !reflect.DeepEqual(got, updated) {
		t.Errorf("Product after update = %+v, %v; want %+v", got, err, updated)
	}

	errChange := errors.New("change refused")
	_, err = s.UpdateProduct(ctx, p.ID, func(cur engine.Product) (engine.Product, error) {
		cur.Stock = 999
		return cur, errChange
	})
	if err != errChange {
		t.Errorf("UpdateProduct(failing change) = %v, want the change's error unchanged", err)
	}
	if got, _ := s.Product(ctx, p.ID); !reflect.DeepEqual(got, updated) {
		t.Errorf("failing change wrote: %+v", got)
	}

	taken := other.SKU
	_, err = s.UpdateProduct(ctx, p.ID, func(cur engine.Product) (engine.Product, error) {
		return cur.Apply(engine.ProductPatch{SKU: &taken}, now())
	})
	if !errors.Is(err, engine.ErrConflict) {
		t.Errorf("UpdateProduct(taken sku) = %v, want ErrConflict", err)
	}
	_, err = s.UpdateProduct(ctx, newID(t), func(cur engine.Product) (engine.Product, error) {
		t.Error("change called for a missing product")
		return cur, nil
	})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("UpdateProduct(missing) = %v, want ErrNotFound", err)
	}
}

// TestUpdateProductConcurrentRestocks: the row lock serializes
// read-modify-write cycles, so no restock is lost.
func TestUpdateProductConcurrentRestocks(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	const initial, writers = 7, 20
	p := createProduct(t, s, "HOT", initial, true)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, err := s.UpdateProduct(t.Context(), p.ID, func(cur engine.Product) (engine.Product, error) {
				return cur.Restock(int64(i+1), now())
			})
			if err != nil {
				t.Errorf("restock %d: %v", i+1, err)
			}
		})
	}
	wg.Wait()
	got, err := s.Product(t.Context(), p.ID)
	if want := int64(initial + writers*(writers+1)/2); err != nil || got.Stock != want {
		t.Errorf("stock = %d, %v; want %d", got.Stock, err, want)
	}
}

// TestProductStockCheck: the database refuses negative stock even from a
// writer that bypasses the engine.
func TestProductStockCheck(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	p := createProduct(t, s, "SKU-1", 5, true)
	_, err := rawConn(t, url).Exec(t.Context(), "UPDATE products SET stock = -1 WHERE id = $1", [16]byte(p.ID))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23514" {
		t.Fatalf("raw UPDATE stock = -1: %v, want check_violation", err)
	}
	if got, _ := s.Product(t.Context(), p.ID); got.Stock != 5 {
		t.Errorf("stock = %d after refused update, want 5", got.Stock)
	}
}

// TestProductBrokenRow: a row that passes the database's checks but breaks
// an engine invariant is reported as an error, not as the caller's
// ErrInvalid and not as a panic.
func TestProductBrokenRow(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	p := createProduct(t, s, "SKU-1", 5, true)
	_, err := rawConn(t, url).Exec(t.Context(), "UPDATE products SET stock = $2 WHERE id = $1",
		[16]byte(p.ID), engine.StockMax+1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Product(t.Context(), p.ID)
	if err == nil || errors.Is(err, engine.ErrInvalid) || errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Product(broken row) = %v, want an internal error", err)
	}
	if _, err := s.ListProducts(t.Context(), engine.NilID, 10); err == nil {
		t.Error("ListProducts with a broken row succeeded")
	}
}
