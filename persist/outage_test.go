package persist_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// storeCall is one Store method called with valid arguments.
type storeCall struct {
	name string
	call func(ctx context.Context, s *persist.Store) error
}

// storeCalls calls every Store method that touches the database (the
// transaction helpers included) with arguments that pass validation, so
// that each reaches the pool.
func storeCalls(t *testing.T) []storeCall {
	t.Helper()
	at := now()
	user, id := newID(t), newID(t)
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "OUT", Name: "Outage", Price: 100, Stock: 10}, newID(t), at)
	if err != nil {
		t.Fatal(err)
	}
	o := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 1})
	claim := idemClaim(t, user, "key-1", "body", at)
	mail := testMail("outage")
	dead := engine.DeadLetter{Source: engine.DeadMail, Kind: "mail", Ref: newID(t).String(), Error: "x", CreatedAt: at}
	run := engine.TaskRun{RunKey: "report:1", Task: "report", Status: engine.TaskDone, FinishedAt: at}
	day := at.Truncate(24 * time.Hour)
	restock := func(cur engine.Product) (engine.Product, error) { return cur.Restock(1, at) }
	cancel := func(cur engine.Order) (engine.Order, error) {
		return cur.Transition(engine.StatusCancelled, engine.TriggerAdmin, "test", at)
	}
	place := engine.PlaceOrder{OrderID: id, UserID: user, Items: []engine.ItemRequest{{ProductID: p.ID, Quantity: 1}}, Now: at}
	return []storeCall{
		{"Ping", func(ctx context.Context, s *persist.Store) error { return s.Ping(ctx) }},
		{"CreateUser", func(ctx context.Context, s *persist.Store) error {
			return s.CreateUser(ctx, engine.User{ID: user, Username: "u", PasswordHash: []byte("x"), CreatedAt: at})
		}},
		{"UserByUsername", func(ctx context.Context, s *persist.Store) error { _, err := s.UserByUsername(ctx, "u"); return err }},
		{"UserByID", func(ctx context.Context, s *persist.Store) error { _, err := s.UserByID(ctx, user); return err }},
		{"CreateProduct", func(ctx context.Context, s *persist.Store) error { return s.CreateProduct(ctx, p) }},
		{"Product", func(ctx context.Context, s *persist.Store) error { _, err := s.Product(ctx, p.ID); return err }},
		{"Products", func(ctx context.Context, s *persist.Store) error {
			_, err := s.Products(ctx, []engine.ID{p.ID})
			return err
		}},
		{"ListProducts", func(ctx context.Context, s *persist.Store) error {
			_, err := s.ListProducts(ctx, engine.NilID, 10)
			return err
		}},
		{"UpdateProduct", func(ctx context.Context, s *persist.Store) error {
			_, err := s.UpdateProduct(ctx, p.ID, restock)
			return err
		}},
		{"CommitStock", func(ctx context.Context, s *persist.Store) error {
			_, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{o}})
			return err
		}},
		{"StaleHolds", func(ctx context.Context, s *persist.Store) error { _, err := s.StaleHolds(ctx, at, at, 10); return err }},
		{"FinalizeOrder", func(ctx context.Context, s *persist.Store) error { return s.FinalizeOrder(ctx, o) }},
		{"TransitionOrder", func(ctx context.Context, s *persist.Store) error {
			_, _, err := s.TransitionOrder(ctx, o.ID, cancel)
			return err
		}},
		{"Order", func(ctx context.Context, s *persist.Store) error { _, err := s.Order(ctx, o.ID); return err }},
		{"ListOrders", func(ctx context.Context, s *persist.Store) error {
			_, err := s.ListOrders(ctx, engine.OrderQuery{Limit: 10})
			return err
		}},
		{"ExpiredOrders", func(ctx context.Context, s *persist.Store) error { _, err := s.ExpiredOrders(ctx, at, 10); return err }},
		{"PlaceOrderLocked", func(ctx context.Context, s *persist.Store) error {
			_, err := s.PlaceOrderLocked(ctx, place)
			return err
		}},
		{"PlaceOrderUnlocked", func(ctx context.Context, s *persist.Store) error {
			_, err := s.PlaceOrderUnlocked(ctx, place)
			return err
		}},
		{"BeginIdempotent", func(ctx context.Context, s *persist.Store) error { _, err := s.BeginIdempotent(ctx, claim); return err }},
		{"CompleteIdempotent", func(ctx context.Context, s *persist.Store) error {
			return s.CompleteIdempotent(ctx, user, "key-1", claim.Attempt, 201, []byte("{}"))
		}},
		{"ReleaseIdempotent", func(ctx context.Context, s *persist.Store) error {
			return s.ReleaseIdempotent(ctx, user, "key-1", claim.Attempt)
		}},
		{"PurgeIdempotent", func(ctx context.Context, s *persist.Store) error {
			_, err := s.PurgeIdempotent(ctx, at, 10)
			return err
		}},
		{"ApplyPayment", func(ctx context.Context, s *persist.Store) error {
			_, _, _, err := s.ApplyPayment(ctx, paymentEvent(t, o, engine.PaymentSucceeded, o.Total.Amount))
			return err
		}},
		{"ArchiveWebhookEvents", func(ctx context.Context, s *persist.Store) error {
			_, _, err := s.ArchiveWebhookEvents(ctx, at, at, 10)
			return err
		}},
		{"EnqueueMails", func(ctx context.Context, s *persist.Store) error {
			_, err := s.EnqueueMails(ctx, []engine.Mail{mail}, at)
			return err
		}},
		{"DueMails", func(ctx context.Context, s *persist.Store) error {
			_, err := s.DueMails(ctx, at, time.Minute, 10)
			return err
		}},
		{"MailSent", func(ctx context.Context, s *persist.Store) error { return s.MailSent(ctx, id, at) }},
		{"MailFailed", func(ctx context.Context, s *persist.Store) error { return s.MailFailed(ctx, id, "x", at) }},
		{"MailDead", func(ctx context.Context, s *persist.Store) error { _, err := s.MailDead(ctx, id, "x", at); return err }},
		{"AddDeadLetter", func(ctx context.Context, s *persist.Store) error { return s.AddDeadLetter(ctx, dead) }},
		{"DeadLetter", func(ctx context.Context, s *persist.Store) error { _, err := s.DeadLetter(ctx, id); return err }},
		{"DeadLetters", func(ctx context.Context, s *persist.Store) error {
			_, err := s.DeadLetters(ctx, engine.DeadLetterQuery{Limit: 10})
			return err
		}},
		{"RetryDeadLetter", func(ctx context.Context, s *persist.Store) error {
			_, err := s.RetryDeadLetter(ctx, id, "admin", at)
			return err
		}},
		{"DeadLettersSince", func(ctx context.Context, s *persist.Store) error { _, err := s.DeadLettersSince(ctx, at); return err }},
		{"ClaimRun", func(ctx context.Context, s *persist.Store) error {
			_, _, err := s.ClaimRun(ctx, "report", "report:1", "node", at, time.Minute)
			return err
		}},
		{"FinishRun", func(ctx context.Context, s *persist.Store) error { return s.FinishRun(ctx, run, nil) }},
		{"RecordLowStock", func(ctx context.Context, s *persist.Store) error {
			_, _, err := s.RecordLowStock(ctx, at, "admin@example.com", 10)
			return err
		}},
		{"SalesReport", func(ctx context.Context, s *persist.Store) error { _, err := s.SalesReport(ctx, day); return err }},
		{"SaveSalesReport", func(ctx context.Context, s *persist.Store) error {
			return s.SaveSalesReport(ctx, engine.SalesReport{Day: day}, mail, at)
		}},
		{"Gauges", func(ctx context.Context, s *persist.Store) error { _, err := s.Gauges(ctx); return err }},
		{"PruneHistory", func(ctx context.Context, s *persist.Store) error {
			_, err := s.PruneHistory(ctx, engine.PruneBefore{TaskRuns: at, SentMails: at, RetriedDeadLetters: at}, 10)
			return err
		}},
		{"AuditStock", func(ctx context.Context, s *persist.Store) error {
			_, err := s.AuditStock(ctx, []engine.ID{p.ID})
			return err
		}},
		{"OrdersForProducts", func(ctx context.Context, s *persist.Store) error {
			_, err := s.OrdersForProducts(ctx, []engine.ID{p.ID})
			return err
		}},
		{"ExistingOrders", func(ctx context.Context, s *persist.Store) error {
			_, err := s.ExistingOrders(ctx, []engine.ID{o.ID})
			return err
		}},
		{"OrdersWithoutItems", func(ctx context.Context, s *persist.Store) error { _, err := s.OrdersWithoutItems(ctx, at); return err }},
		{"AuditNegativeStock", func(ctx context.Context, s *persist.Store) error { _, err := s.AuditNegativeStock(ctx); return err }},
		{"EnsureShards", func(ctx context.Context, s *persist.Store) error { return s.EnsureShards(ctx, 4) }},
		{"AcquireShards", func(ctx context.Context, s *persist.Store) error {
			_, err := s.AcquireShards(ctx, []int{0}, "node", "http://n")
			return err
		}},
		{"ReleaseShard", func(ctx context.Context, s *persist.Store) error {
			_, err := s.ReleaseShard(ctx, engine.ShardEpoch{Shard: 0, Epoch: 1}, "node")
			return err
		}},
		{"ShardOwners", func(ctx context.Context, s *persist.Store) error { _, err := s.ShardOwners(ctx); return err }},
	}
}

// checkUnavailable fails unless every call returns engine.ErrUnavailable.
func checkUnavailable(t *testing.T, regime string, ctx context.Context, s *persist.Store) {
	t.Helper()
	for _, c := range storeCalls(t) {
		if err := c.call(ctx, s); !errors.Is(err, engine.ErrUnavailable) {
			t.Errorf("%s, %s = %v; want engine.ErrUnavailable", regime, c.name, err)
		}
	}
}

// Every method of a closed store (a call racing the shutdown) is
// engine.ErrUnavailable, a 503, never an internal error.
func TestClosedStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	s.Close()
	checkUnavailable(t, "closed pool", t.Context(), s)
}

// Every method called when the caller's deadline has passed (a request
// that waited in a queue, or a process paused and resumed) is
// engine.ErrUnavailable: the begin of a transaction included.
func TestExpiredDeadlineIsUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	checkUnavailable(t, "expired deadline", ctx, s)
}
