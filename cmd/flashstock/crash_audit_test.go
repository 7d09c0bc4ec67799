package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The crash tests' sale and audit: buyers place orders against the real
// binary while it is killed with SIGKILL; every answer is recorded, and
// after the restart the database must hold exactly the orders the buyers
// were told about (plus, at most, the ones whose answer the kill cut off),
// each whole, with every product's units conserved.

// Bounds of a crash test's waits: each is a deadline on a condition polled,
// generous because other tests load the machine meanwhile.
const (
	saleWithin    = 60 * time.Second      // the buyers reach the point of the kill
	repairWithin  = 60 * time.Second      // the repair loop returns every held unit
	sellOutWithin = 90 * time.Second      // the restarted server sells everything left
	requestWithin = 10 * time.Second      // one order's answer
	retryPause    = 50 * time.Millisecond // before ordering again after a 503
)

// orderLine is one line of an order placed by a crash test.
type orderLine struct {
	product  string
	quantity int
}

// linesKey names a set of lines whatever their order.
func linesKey(lines []orderLine) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%s×%d", l.product, l.quantity)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// buyer is an account that places orders.
type buyer struct{ name, token string }

func newBuyers(t *testing.T, base string, n int) []buyer {
	t.Helper()
	out := make([]buyer, n)
	for i := range out {
		name := fmt.Sprintf("buyer%d", i)
		out[i] = buyer{name: name, token: register(t, base, name)}
	}
	return out
}

// orderAnswer is what one POST /orders/ was answered: status 0 when no
// answer came (the request's outcome is then unknown).
type orderAnswer struct {
	status int
	id     string // of a 201
	code   string // the problem code of an error
}

func (a orderAnswer) String() string {
	switch {
	case a.status == 0:
		return "no answer"
	case a.code != "":
		return fmt.Sprintf("%d %s", a.status, a.code)
	}
	return fmt.Sprint(a.status)
}

// newSaleClient returns a client for many buyers at once; a new one after
// a restart, since the old one's kept-alive connections died with the
// server (a POST is not retried on them).
func newSaleClient() *http.Client {
	return &http.Client{Timeout: requestWithin, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// sendOrder places one order.
func sendOrder(client *http.Client, base, token string, lines []orderLine) orderAnswer {
	items := make([]any, 0, 2*len(lines))
	for _, l := range lines {
		items = append(items, l.product, l.quantity)
	}
	raw, _ := json.Marshal(orderBody(items...))
	req, err := http.NewRequest("POST", base+"/orders/", bytes.NewReader(raw))
	if err != nil {
		return orderAnswer{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "JWT "+token)
	resp, err := client.Do(req)
	if err != nil {
		return orderAnswer{}
	}
	defer resp.Body.Close()
	var out struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return orderAnswer{status: resp.StatusCode, code: "undecodable body"}
	}
	if resp.StatusCode == 201 {
		return orderAnswer{status: 201, id: out.ID}
	}
	return orderAnswer{status: resp.StatusCode, code: out.Code}
}

// placedOrder is an order answered 201.
type placedOrder struct {
	buyer string
	lines []orderLine
}

// saleLog records what every order of a crash test was answered. Safe for
// concurrent use.
type saleLog struct {
	acks     atomic.Int64 // 201s
	refusals atomic.Int64 // 400 insufficient_stock

	mu         sync.Mutex
	placed     map[string]placedOrder // by order id; guarded by mu
	unanswered map[string][]string    // linesKey of each order with no answer, by buyer; guarded by mu
	answers    map[string]int         // count of each answer (orderAnswer.String); guarded by mu
}

func newSaleLog() *saleLog {
	return &saleLog{placed: map[string]placedOrder{}, unanswered: map[string][]string{}, answers: map[string]int{}}
}

// place sends one order and records its answer.
func (s *saleLog) place(client *http.Client, base string, b buyer, lines []orderLine) orderAnswer {
	a := sendOrder(client, base, b.token, lines)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[a.String()]++
	switch {
	case a.status == 201:
		s.placed[a.id] = placedOrder{buyer: b.name, lines: lines}
		s.acks.Add(1)
	case a.status == 0:
		s.unanswered[b.name] = append(s.unanswered[b.name], linesKey(lines))
	case a.status == 400 && a.code == "insufficient_stock":
		s.refusals.Add(1)
	}
	return a
}

// checkAnswers fails the test for any answer a sale may not get: a 5xx
// other than 503 (unavailable/overloaded say "retry"), a 400 other than
// insufficient_stock, anything else but 201.
func (s *saleLog) checkAnswers(t *testing.T, logs *syncBuffer) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for answer, n := range s.answers {
		switch {
		case answer == "201", answer == "no answer", answer == "400 insufficient_stock",
			strings.HasPrefix(answer, "503 "):
		default:
			t.Errorf("%d orders answered %s:\n%s", n, answer, logs.String())
		}
	}
	t.Logf("answers: %v", s.answers)
}

// sellUntilKilled runs `goroutines` buyers, each placing the orders next
// draws (from its own random source; the seed is logged), until ready
// holds; then it kills the server with SIGKILL, stops the buyers and
// checks what they were answered. ready is polled; the sale fails if it
// does not hold within saleWithin.
func sellUntilKilled(t *testing.T, srv *crashServer, buyers []buyer, goroutines int,
	next func(*rand.Rand) []orderLine, ready func(*saleLog) bool) *saleLog {
	t.Helper()
	proc, seed := srv.proc, rand.Uint64()
	s := newSaleLog()
	client := newSaleClient()
	defer client.CloseIdleConnections()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.place(client, srv.base, buyers[g%len(buyers)], next(rng))
			}
		})
	}
	deadline := time.Now().Add(saleWithin)
	for !ready(s) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	met := ready(s)
	// The buyers send nothing more, and the kill cuts off what they are
	// waiting for.
	close(stop)
	if err := proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.done
	wg.Wait()
	if !met {
		t.Fatalf("the sale did not reach the kill within %v (%d acknowledged, %d refused):\n%s",
			saleWithin, s.acks.Load(), s.refusals.Load(), proc.logs.String())
	}
	s.checkAnswers(t, proc.logs)
	t.Logf("SIGKILL after %d orders acknowledged, %d refused for stock (seed %d)", s.acks.Load(), s.refusals.Load(), seed)
	return s
}

// sellOut has the buyers order one unit of each product again and again
// until it answers 400 insufficient_stock: the restarted server sells what
// is left, and a sold-out product is refused, never failed. A 503 is
// retried; any other answer fails the test.
func (s *saleLog) sellOut(t *testing.T, proc *serverProcess, base string, buyers []buyer, products []string) {
	t.Helper()
	client := newSaleClient()
	defer client.CloseIdleConnections()
	todo := make(chan string, len(products))
	for _, p := range products {
		todo <- p
	}
	close(todo)
	deadline := time.Now().Add(sellOutWithin)
	var wg sync.WaitGroup
	for _, b := range buyers {
		wg.Go(func() {
			for p := range todo {
				for time.Now().Before(deadline) {
					a := s.place(client, base, b, []orderLine{{p, 1}})
					if a.status == 400 && a.code == "insufficient_stock" {
						break
					}
					if a.status == 503 { // Retry-After: not at once
						time.Sleep(retryPause)
					} else if a.status != 201 {
						t.Errorf("ordering %s after the restart: %s", p, a)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if time.Now().After(deadline) {
		t.Errorf("the restarted server did not sell out within %v:\n%s", sellOutWithin, proc.logs.String())
	}
	s.checkAnswers(t, proc.logs)
}

// auditConn connects to the test's database.
func auditConn(t *testing.T, vars map[string]string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), vars["FLASHSTOCK_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// storedOrder is an order as the database holds it.
type storedOrder struct {
	buyer     string
	lines     []orderLine
	total     int64
	subtotals int64 // sum of its items' subtotals
}

// storedOrders reads every order of the buyers with its items.
func storedOrders(t *testing.T, conn *pgx.Conn, buyers []buyer) map[string]*storedOrder {
	t.Helper()
	names := make([]string, len(buyers))
	for i, b := range buyers {
		names[i] = b.name
	}
	rows, err := conn.Query(t.Context(), `SELECT o.id::text, u.username, o.total,
    coalesce(i.product_id::text, ''), coalesce(i.quantity, 0), coalesce(i.subtotal, 0)
FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN order_items i ON i.order_id = o.id
WHERE u.username = ANY($1)`, names)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*storedOrder{}
	var id, name, product string
	var total, quantity, subtotal int64
	_, err = pgx.ForEachRow(rows, []any{&id, &name, &total, &product, &quantity, &subtotal}, func() error {
		o := out[id]
		if o == nil {
			o = &storedOrder{buyer: name, total: total}
			out[id] = o
		}
		if product != "" {
			o.lines = append(o.lines, orderLine{product, int(quantity)})
			o.subtotals += subtotal
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOrders compares the buyers' stored orders with their answers: every
// order answered 201 is stored once, for its buyer, with all its lines;
// every other stored order is one whose answer never came, stored whole;
// no order lacks an item its total counts.
func (s *saleLog) checkOrders(t *testing.T, conn *pgx.Conn, buyers []buyer) {
	t.Helper()
	stored := storedOrders(t, conn, buyers)
	for id, o := range stored {
		if len(o.lines) == 0 || o.total != o.subtotals {
			t.Errorf("order %s stored partially: total %d, items %v (subtotals %d)", id, o.total, o.lines, o.subtotals)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.placed {
		o, ok := stored[id]
		switch {
		case !ok:
			t.Errorf("acknowledged order %s (%s: %s) not stored", id, p.buyer, linesKey(p.lines))
		case o.buyer != p.buyer || linesKey(o.lines) != linesKey(p.lines):
			t.Errorf("acknowledged order %s (%s: %s) stored as %s: %s", id, p.buyer, linesKey(p.lines), o.buyer, linesKey(o.lines))
		}
		delete(stored, id)
	}
	unanswered := map[string][]string{}
	for name, keys := range s.unanswered {
		unanswered[name] = slices.Clone(keys)
	}
	for id, o := range stored {
		key := linesKey(o.lines)
		i := slices.Index(unanswered[o.buyer], key)
		if i < 0 {
			t.Errorf("order %s (%s: %s) stored, but it was neither acknowledged nor cut off by the kill", id, o.buyer, key)
			continue
		}
		unanswered[o.buyer] = slices.Delete(unanswered[o.buyer], i, i+1)
	}
	t.Logf("%d orders acknowledged, %d stored without an answer", len(s.placed), len(stored))
}

// unitsOf is what the database says about one product's units.
type unitsOf struct{ stock, sold, held int64 }

// checkConserved reads, in one snapshot, every product's stock, units in
// live orders and units held, and checks stock + sold + held = initial and
// stock >= 0. It returns the stocks.
func checkConserved(t *testing.T, conn *pgx.Conn, initial map[string]int64) map[string]unitsOf {
	t.Helper()
	ids := make([]string, 0, len(initial))
	for id := range initial {
		ids = append(ids, id)
	}
	rows, err := conn.Query(t.Context(), `SELECT p.id::text, p.stock,
    (SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
     WHERE i.product_id = p.id AND o.status NOT IN ('cancelled', 'failed'))::bigint,
    (SELECT coalesce(sum(h.quantity), 0) FROM stock_holds h WHERE h.product_id = p.id)::bigint
FROM products p WHERE p.id = ANY($1::uuid[])`, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]unitsOf{}
	var id string
	var u unitsOf
	_, err = pgx.ForEachRow(rows, []any{&id, &u.stock, &u.sold, &u.held}, func() error { out[id] = u; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for id, init := range initial {
		u, ok := out[id]
		if !ok || u.stock < 0 || u.stock+u.sold+u.held != init {
			t.Errorf("product %s: stock %d + sold %d + held %d != initial %d (found %v)", id, u.stock, u.sold, u.held, init, ok)
		}
	}
	return out
}

// waitNothingHeld polls until no unit is held: the repair loop of the
// restarted server returns what the orders the crash cut off held.
func waitNothingHeld(t *testing.T, conn *pgx.Conn, proc *serverProcess) {
	t.Helper()
	deadline := time.Now().Add(repairWithin)
	for {
		var held int64
		if err := conn.QueryRow(t.Context(), "SELECT coalesce(sum(quantity), 0) FROM stock_holds").Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d units still held %v after the restart:\n%s", held, repairWithin, proc.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// auditRestart is the crash tests' common ending: it restarts the killed
// server and checks that the units are conserved across the crash, that
// nothing stays held after the repair loop, that the server sells
// everything left (sold-out products answer 400 insufficient_stock), that
// every order is stored exactly as answered, and that at the end every
// product is sold out exactly.
func auditRestart(t *testing.T, srv *crashServer, s *saleLog, buyers []buyer, initial map[string]int64) {
	t.Helper()
	proc := startProcess(t, srv.bin, srv.base, srv.vars)
	conn := auditConn(t, srv.vars)
	checkConserved(t, conn, initial)
	waitNothingHeld(t, conn, proc)
	checkConserved(t, conn, initial)
	products := make([]string, 0, len(initial))
	for id := range initial {
		products = append(products, id)
	}
	s.sellOut(t, proc, srv.base, buyers, products)
	s.checkOrders(t, conn, buyers)
	for id, u := range checkConserved(t, conn, initial) {
		if u.stock != 0 {
			t.Errorf("product %s: %d units left after the sell-out", id, u.stock)
		}
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	<-proc.done
}
