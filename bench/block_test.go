package bench

import (
	"bytes"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

// blockStore is a migrated store on a fresh schema, and its URL.
func blockStore(t *testing.T) (*persist.Store, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	store, err := persist.Open(t.Context(), persist.Config{DatabaseURL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if _, err := persist.Migrate(t.Context(), store, nil); err != nil {
		t.Fatal(err)
	}
	return store, url
}

// testBlock describes n products of the given stock.
func testBlock(t *testing.T, sku string, n int, stock int64) persist.BenchBlock {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	id, err := engine.NewID(now, crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := persist.BenchBlock{Count: n, SKU: sku, Price: engine.Money{Amount: benchPrice, Currency: "USD"},
		Stock: stock, CreatedAt: now}
	copy(b.Prefix[:], id[:12])
	return b
}

// TestBenchBlockRows: a block's rows are valid, distinct products, as the
// API would have made them, across more than one insert statement.
func TestBenchBlockRows(t *testing.T) {
	t.Parallel()
	store, url := blockStore(t)
	ctx := t.Context()
	const n = 100_003 // over one insert statement
	b := testBlock(t, "blk", n, 77)
	var progress []int
	if err := store.CreateBenchBlock(ctx, b, func(created int) { progress = append(progress, created) }); err != nil {
		t.Fatal(err)
	}
	if len(progress) != 2 || progress[1] != n {
		t.Errorf("progress %v; want two steps ending at %d", progress, n)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, skus, ids, active, usd int64
	err = conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT sku), count(DISTINCT id), count(*) FILTER (WHERE is_active),
		count(*) FILTER (WHERE currency = 'USD' AND price = $3 AND stock = 77)
		FROM products WHERE id BETWEEN $1 AND $2`, [16]byte(b.ID(0)), [16]byte(b.ID(n-1)), int64(benchPrice)).
		Scan(&rows, &skus, &ids, &active, &usd)
	if err != nil || rows != n || skus != n || ids != n || active != n || usd != n {
		t.Fatalf("rows %d, skus %d, ids %d, active %d, USD at the price and stock %d (%v); want %d each",
			rows, skus, ids, active, usd, err, n)
	}
	for _, i := range []int{0, 1, 99_999, 100_000, n - 1, rand.IntN(n)} {
		id := b.ID(i)
		if back, err := engine.ParseID(id.String()); err != nil || back != id || id[6]>>4 != 7 || id[8]>>6 != 2 {
			t.Errorf("product %d: id %s is not a UUIDv7 that parses back (%v)", i, id, err)
		}
		if j, ok := b.Index(id); !ok || j != i {
			t.Errorf("Index(ID(%d)) = %d, %v", i, j, ok)
		}
		got, err := store.Product(ctx, id)
		if err != nil {
			t.Fatalf("product %d: %v", i, err)
		}
		if want := b.Product(i); got != want || got.Validate() != nil {
			t.Errorf("product %d = %+v, want %+v", i, got, want)
		}
	}
	if _, ok := b.Index(b.ID(n)); ok {
		t.Error("an index past the block is in it")
	}
	if err := store.CreateBenchBlock(ctx, b, nil); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("the same block again: %v, want a conflict", err)
	}
	changed, err := store.BenchBlockChanges(ctx, b)
	if err != nil || len(changed) != 0 {
		t.Errorf("a fresh block has changes %v (%v)", changed, err)
	}
}

func TestBenchBlockValidate(t *testing.T) {
	good := testBlock(t, "ok", 10, 5)
	for name, change := range map[string]func(*persist.BenchBlock){
		"no products":    func(b *persist.BenchBlock) { b.Count = 0 },
		"too many":       func(b *persist.BenchBlock) { b.Count = persist.BenchBlockProductsMax + 1 },
		"bad sku":        func(b *persist.BenchBlock) { b.SKU = "no spaces" },
		"sku too long":   func(b *persist.BenchBlock) { b.SKU, b.Count = strings.Repeat("s", 62), 11 }, // "-9" fits, "-10" not
		"bad currency":   func(b *persist.BenchBlock) { b.Price.Currency = "usd" },
		"negative stock": func(b *persist.BenchBlock) { b.Stock = -1 },
	} {
		b := good
		change(&b)
		if err := b.Validate(); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid", name, err)
		}
	}
	longest := good
	longest.SKU = strings.Repeat("s", 62)
	for _, b := range []persist.BenchBlock{good, longest} {
		if err := b.Validate(); err != nil {
			t.Errorf("good block %s: %v", b.SKU, err)
		}
	}
}

// TestAuditBlock: a block's audit holds every stored order of its products
// to the 201 answers given for them, over runs.
func TestAuditBlock(t *testing.T) {
	t.Parallel()
	store, _ := blockStore(t)
	ctx := t.Context()
	spec := testBlock(t, "aud", 2000, 100)
	if err := store.CreateBenchBlock(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	user := engine.User{ID: newTestID(t), Username: "buyer", PasswordHash: []byte("$2a$04$hash"), CreatedAt: time.Now()}
	if err := store.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	place := func(i int) string {
		t.Helper()
		o, err := store.PlaceOrderLocked(ctx, engine.PlaceOrder{OrderID: newTestID(t), UserID: user.ID,
			Items: []engine.ItemRequest{{ProductID: spec.ID(i), Quantity: 1}}, Now: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID.String()
	}
	b := &block{spec: spec, answered: make([]int32, spec.Count)}
	since := time.Now().Add(-time.Second)

	// Run 1: three orders answered, three stored.
	x := expectation{block: b, since: since, orderIDs: []string{place(3), place(3), place(1999)}, orderTags: []int32{3, 3, 1999}}
	res, err := auditBlock(ctx, store, store, b, x)
	if err != nil || !res.OK || res.Orders != 3 || res.Units != 3 || res.Products != 2000 {
		t.Fatalf("run 1: %+v (%v); want ok, 3 orders, 3 units of 2000 products", res, err)
	}
	// Run 2: one more answered; the audit counts both runs.
	x = expectation{block: b, since: since, orderIDs: []string{place(3)}, orderTags: []int32{3}}
	if res, err = auditBlock(ctx, store, store, b, x); err != nil || !res.OK || res.Orders != 4 {
		t.Fatalf("run 2: %+v (%v); want ok, 4 orders", res, err)
	}
	// Run 3: an order nobody was told about, and an answer never stored.
	place(7)
	x = expectation{block: b, since: since, orderIDs: []string{newTestID(t).String()}, orderTags: []int32{8}}
	res, err = auditBlock(ctx, store, store, b, x)
	if err != nil || res.OK {
		t.Fatalf("run 3: %+v (%v); want a failed audit", res, err)
	}
	problems := strings.Join(res.Problems, "\n")
	for _, want := range []string{
		"product " + spec.ID(7).String() + ": 1 orders stored, 0 answered 201",
		"product " + spec.ID(8).String() + ": 1 orders answered 201, none stored",
		"1 of 1 answered order ids are not stored",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", problems, want)
		}
	}
}

// TestBlockOrders: the spread source orders one unit of a product drawn
// uniformly, tagged with its index, from a random buyer.
func TestBlockOrders(t *testing.T) {
	b := &block{spec: testBlock(t, "src", 10, 1)}
	users := []User{{Name: "a", Auth: "JWT a"}, {Name: "b", Auth: "JWT b"}}
	src := b.uniformOrders(users)
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, 10)
	const draws = 20_000
	for range draws {
		req := src(r)
		var body struct {
			Items []struct {
				ProductID engine.ID `json:"product_id"`
				Quantity  int64     `json:"quantity"`
			} `json:"items"`
		}
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || len(body.Items) != 1 || body.Items[0].Quantity != 1 ||
			body.Items[0].ProductID != b.spec.ID(int(req.Tag)) {
			t.Fatalf("order %s tagged %d: %v", req.Body, req.Tag, err)
		}
		if req.Method != "POST" || req.Path != "/orders/" || req.Expect != 201 || !req.Order ||
			(req.Auth != "JWT a" && req.Auth != "JWT b") {
			t.Fatalf("request %+v", req)
		}
		counts[req.Tag]++
	}
	for i, c := range counts {
		if c < draws/10*8/10 || c > draws/10*12/10 {
			t.Errorf("product %d drawn %d times of %d; want about a tenth", i, c, draws)
		}
	}
	if read := b.read(4); read.Method != "GET" || read.Path != "/products/"+b.spec.ID(4).String() || read.Expect != 200 {
		t.Errorf("read = %+v", read)
	}
}

func newTestID(t *testing.T) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
