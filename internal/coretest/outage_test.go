package coretest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/devenv"
)

// ownPostgres is a PostgreSQL server of one test, which it may restart.
type ownPostgres struct {
	t   *testing.T
	cfg devenv.PostgresConfig
	mu  sync.Mutex
	pg  *devenv.Postgres // guarded by mu
}

// startOwnPostgres starts a private server whose data survives a restart.
func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir and its parent are 0700; the postgres user (when we are
	// root) must pass through them to its data directory.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	o := &ownPostgres{t: t, cfg: devenv.PostgresConfig{DataDir: filepath.Join(dir, "pg")}}
	o.start()
	u, err := url.Parse(o.url())
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Port, err = strconv.Atoi(u.Port()); err != nil { // a restart keeps the port
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		o.mu.Lock()
		defer o.mu.Unlock()
		if err := o.pg.Stop(ctx); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	return o
}

func (o *ownPostgres) start() {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := devenv.StartPostgres(ctx, o.cfg)
	if err != nil {
		o.t.Fatalf("start postgres: %v", err)
	}
	o.mu.Lock()
	o.pg = pg
	o.mu.Unlock()
}

func (o *ownPostgres) url() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pg.URL()
}

// restart stops the server (fast shutdown: every session is disconnected)
// and starts it again on the same data and port.
func (o *ownPostgres) restart() {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o.mu.Lock()
	err := o.pg.Stop(ctx)
	o.mu.Unlock()
	if err != nil {
		o.t.Fatalf("stop postgres: %v", err)
	}
	o.start()
}

// answerClass sorts the answers of a sale by what HTTP would make of them.
type answerClass int

const (
	answerOK          answerClass = iota
	answerUnavailable             // 503: ErrUnavailable or ErrOverloaded
	answerInternal                // 500: no sentinel at all
	answerOther                   // a 4xx, which none of these calls should get
)

func classify(err error) answerClass {
	switch {
	case err == nil:
		return answerOK
	case errors.Is(err, engine.ErrUnavailable), errors.Is(err, engine.ErrOverloaded):
		return answerUnavailable
	}
	for _, s := range []error{engine.ErrInvalid, engine.ErrInsufficientStock, engine.ErrUnauthorized,
		engine.ErrForbidden, engine.ErrNotFound, engine.ErrConflict} {
		if errors.Is(err, s) {
			return answerOther
		}
	}
	return answerInternal
}

// saleTally counts a sale's answers by class and keeps a few of the wrong
// ones. Guarded by mu.
type saleTally struct {
	mu     sync.Mutex
	counts [4]int
	wrong  []string
	placed []engine.Order // acknowledged, not yet cancelled
	acked  []engine.ID    // every order acknowledged
}

const wrongKept = 10

func (s *saleTally) add(what string, err error) answerClass {
	c := classify(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[c]++
	if (c == answerInternal || c == answerOther) && len(s.wrong) < wrongKept {
		s.wrong = append(s.wrong, fmt.Sprintf("%s: %v", what, err))
	}
	return c
}

func (s *saleTally) ok() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[answerOK]
}

// During a sale, PostgreSQL restarts: every connection is dropped, new
// ones are refused for a while, then the server is back. Concurrent
// single- and multi-product orders and cancellations run through real SKU
// actors over the real store the whole time. Every failure must be
// engine.ErrUnavailable (503), never an error without a sentinel (500);
// every acknowledged order must be stored; and afterwards every unit is
// accounted for and the products sell again.
func TestPostgresRestartMidSale(t *testing.T) {
	t.Parallel()
	pg := startOwnPostgres(t)
	w := newWorldOn(t, pg.url(), actors.Config{CommitTimeout: 2 * time.Second, LoadTimeout: 2 * time.Second})
	const initial = 1_000_000
	a, b, c := w.product("A", initial), w.product("B", initial), w.product("C", initial)
	users := []engine.ID{w.user("alice"), w.user("bob")}
	kinds := [][]engine.ItemRequest{{item(a, 1)}, {item(a, 1), item(b, 2)}, {item(c, 3), item(b, 1)}}

	var tally saleTally
	var stop atomic.Bool
	var wg sync.WaitGroup
	for worker := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				var c answerClass
				if i%4 == 3 {
					c = w.cancelOne(&tally, users)
				} else {
					c = w.placeOne(&tally, users[worker%len(users)], kinds[(worker+i)%len(kinds)])
				}
				if c != answerOK {
					time.Sleep(10 * time.Millisecond) // a client's pause before retrying, not a wait
				}
			}
		})
	}
	waitFor(t, time.Minute, "a sale under way", func() bool { return tally.ok() >= 100 })
	pg.restart()
	before := tally.ok()
	waitFor(t, 2*time.Minute, "the sale to go on after the restart", func() bool { return tally.ok() >= before+100 })
	stop.Store(true)
	wg.Wait()

	t.Logf("answers: %d ok, %d unavailable, %d internal, %d other", tally.counts[answerOK],
		tally.counts[answerUnavailable], tally.counts[answerInternal], tally.counts[answerOther])
	if tally.counts[answerInternal] != 0 || tally.counts[answerOther] != 0 {
		t.Errorf("%d answers would be 500 and %d another error during the restart; want none: %q",
			tally.counts[answerInternal], tally.counts[answerOther], tally.wrong)
	}
	if tally.counts[answerUnavailable] == 0 {
		t.Errorf("no answer was unavailable: the restart was not felt")
	}
	if n, err := w.store.ExistingOrders(t.Context(), tally.acked); err != nil || n != int64(len(tally.acked)) {
		t.Errorf("%d of %d acknowledged orders are stored (%v)", n, len(tally.acked), err)
	}
	w.repairAll()
	for _, p := range []engine.Product{a, b, c} {
		if l := w.checkConserved(p, initial); l.held != 0 {
			t.Errorf("%s: %d units still held after the repair", p.SKU, l.held)
		}
		if _, err := w.place(users[0], item(p, 1)); err != nil {
			t.Errorf("%s after the restart: %v", p.SKU, err)
		}
		w.checkConserved(p, initial)
	}
}

// placeOne places one order and records it.
func (w *world) placeOne(tally *saleTally, user engine.ID, items []engine.ItemRequest) answerClass {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		return tally.add("order id", err)
	}
	o, err := w.orders.PlaceOrder(ctx, engine.PlaceOrder{OrderID: id, UserID: user, Items: items,
		Now: time.Now().UTC().Truncate(time.Microsecond)})
	c := tally.add(fmt.Sprintf("order of %d products", len(items)), err)
	if c == answerOK {
		tally.mu.Lock()
		tally.placed = append(tally.placed, o)
		tally.acked = append(tally.acked, o.ID)
		tally.mu.Unlock()
	}
	return c
}

// cancelOne cancels the latest acknowledged order not cancelled yet, as
// its buyer; with none, it does nothing.
func (w *world) cancelOne(tally *saleTally, users []engine.ID) answerClass {
	tally.mu.Lock()
	if len(tally.placed) == 0 {
		tally.mu.Unlock()
		return answerOK
	}
	o := tally.placed[len(tally.placed)-1]
	tally.placed = tally.placed[:len(tally.placed)-1]
	tally.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := w.orders.TransitionOrder(ctx, engine.TransitionOrder{OrderID: o.ID, To: engine.StatusCancelled,
		By: engine.TriggerBuyer, UserID: o.UserID, Reason: "changed my mind", Now: time.Now().UTC()})
	return tally.add("cancel", err)
}

// repairAll releases every hold left behind (interrupted orders, lost
// releases), as the repair loop would once they are old enough.
func (w *world) repairAll() {
	w.t.Helper()
	for {
		n, err := w.orders.Repair(w.t.Context(), w.store, time.Now().Add(time.Hour))
		if err != nil {
			w.t.Fatalf("repair: %v", err)
		}
		if n == 0 {
			return
		}
	}
}
