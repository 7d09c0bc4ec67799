package persist_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// paymentEvent is a new event for order o.
func paymentEvent(t *testing.T, o engine.Order, result engine.PaymentResult, amount int64) engine.PaymentEvent {
	t.Helper()
	return engine.PaymentEvent{EventID: "evt_" + newID(t).String(), Reference: o.Reference, Result: result,
		Amount: amount, WebhookID: "msg_1", Body: []byte(`{"type":"payment"}`), ReceivedAt: now()}
}

// eventRow returns the outcome and order id stored with event id.
func eventRow(t *testing.T, conn *pgx.Conn, id string) (string, *[16]byte) {
	t.Helper()
	var outcome string
	var order *[16]byte
	if err := conn.QueryRow(t.Context(), "SELECT outcome, order_id FROM webhook_events WHERE event_id = $1",
		id).Scan(&outcome, &order); err != nil {
		t.Fatalf("event %s: %v", id, err)
	}
	return outcome, order
}

func TestApplyPaymentSuccess(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	user := buyer(t, s, "buyer", "buyer@example.com")
	p := createProduct(t, s, "HOT", 10, true)
	o := placeOrder(t, s, user, engine.OrderLine{Product: p, Quantity: 2})

	ev := paymentEvent(t, o, engine.PaymentSucceeded, o.Total.Amount)
	outcome, got, holds, err := s.ApplyPayment(ctx, ev)
	want, _ := o.Transition(engine.StatusConfirmed, engine.TriggerPayment, "", ev.ReceivedAt)
	if err != nil || outcome != engine.OutcomeApplied || !reflect.DeepEqual(got, want) || holds != nil {
		t.Fatalf("ApplyPayment = %s, %+v, %v, %v; want applied, %+v", outcome, got, holds, err, want)
	}
	if stored, err := s.Order(ctx, o.ID); err != nil || !reflect.DeepEqual(stored, want) {
		t.Errorf("stored order = %+v, %v", stored, err)
	}
	if outcome, order := eventRow(t, conn, ev.EventID); outcome != "applied" || order == nil || *order != o.ID {
		t.Errorf("event row = %s, %v", outcome, order)
	}
	mails := []outboxRow{{Kind: "order_confirmed", Key: "order_confirmed:" + o.ID.String(), To: "buyer@example.com", Status: "pending"}}
	if got := outboxRows(t, conn); !reflect.DeepEqual(got, mails) {
		t.Errorf("outbox = %+v, want %+v", got, mails)
	}

	// The same event again: a duplicate that changes nothing.
	outcome, got, holds, err = s.ApplyPayment(ctx, ev)
	if err != nil || outcome != engine.OutcomeDuplicate || !reflect.DeepEqual(got, engine.Order{}) || holds != nil {
		t.Fatalf("duplicate = %s, %+v, %v, %v", outcome, got, holds, err)
	}
	// Other events for the paid order, successful or not: already paid.
	for _, result := range []engine.PaymentResult{engine.PaymentSucceeded, engine.PaymentDeclined} {
		ev := paymentEvent(t, o, result, o.Total.Amount)
		outcome, got, _, err := s.ApplyPayment(ctx, ev)
		if err != nil || outcome != engine.OutcomeAlreadyPaid || !reflect.DeepEqual(got, want) {
			t.Errorf("%s after paid = %s, %+v, %v; want already_paid and the paid order", result, outcome, got, err)
		}
		if outcome, _ := eventRow(t, conn, ev.EventID); outcome != "already_paid" {
			t.Errorf("stored outcome = %s", outcome)
		}
	}
	if got := outboxRows(t, conn); !reflect.DeepEqual(got, mails) {
		t.Errorf("outbox after the other events = %+v, want %+v", got, mails)
	}
	if _, _, _, err := s.ApplyPayment(ctx, engine.PaymentEvent{EventID: "x", Reference: "nope"}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("invalid event = %v, want ErrInvalid", err)
	}
}

func TestApplyPaymentFailed(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	user := buyer(t, s, "buyer", "buyer@example.com")
	p := createProduct(t, s, "HOT", 10, true)
	o := placeOrder(t, s, user, engine.OrderLine{Product: p, Quantity: 3})

	ev := paymentEvent(t, o, engine.PaymentDeclined, o.Total.Amount)
	outcome, got, holds, err := s.ApplyPayment(ctx, ev)
	if err != nil || outcome != engine.OutcomeApplied || got.Status != engine.StatusFailed || got.PaymentStatus != engine.PaymentFailed {
		t.Fatalf("ApplyPayment(failed) = %s, %+v, %v", outcome, got, err)
	}
	wantHolds := []engine.Hold{{OrderID: o.ID, ProductID: p.ID, Quantity: 3, Kind: engine.HoldReturning, CreatedAt: ev.ReceivedAt}}
	if !reflect.DeepEqual(holds, wantHolds) {
		t.Errorf("holds = %+v, want %+v", holds, wantHolds)
	}
	stale, err := s.StaleHolds(ctx, ev.ReceivedAt, ev.ReceivedAt.Add(time.Second), 10)
	if err != nil || len(stale) != 1 || stale[0].OrderID != o.ID || stale[0].Quantity != 3 || stale[0].Kind != engine.HoldReturning {
		t.Errorf("stored holds = %+v, %v", stale, err)
	}
	mails := []outboxRow{{Kind: "payment_failed", Key: "payment_failed:" + o.ID.String(), To: "buyer@example.com", Status: "pending"}}
	if got := outboxRows(t, conn); !reflect.DeepEqual(got, mails) {
		t.Errorf("outbox = %+v, want %+v", got, mails)
	}
	// A success after the failure: the order is no longer pending.
	late := paymentEvent(t, o, engine.PaymentSucceeded, o.Total.Amount)
	if outcome, got, _, err := s.ApplyPayment(ctx, late); err != nil || outcome != engine.OutcomeLatePayment || got.Status != engine.StatusFailed {
		t.Errorf("success after failure = %s, %+v, %v; want late_payment", outcome, got, err)
	}
}

// Events that do not move the order store their outcome and change nothing else.
func TestApplyPaymentNotApplied(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	user := buyer(t, s, "buyer", "buyer@example.com")
	p := createProduct(t, s, "HOT", 10, true)
	pending := placeOrder(t, s, user, engine.OrderLine{Product: p, Quantity: 1})
	cancelled := placeOrder(t, s, user, engine.OrderLine{Product: p, Quantity: 1})
	cancelled, _, err := s.TransitionOrder(ctx, cancelled.ID, func(o engine.Order) (engine.Order, error) {
		return o.Transition(engine.StatusCancelled, engine.TriggerBuyer, "", now())
	})
	if err != nil {
		t.Fatal(err)
	}
	missing := pending
	missing.Reference = "ORD-000000000000"
	mailsBefore := outboxRows(t, conn)

	tests := []struct {
		name  string
		ev    engine.PaymentEvent
		want  engine.PaymentOutcome
		order engine.Order
	}{
		{"amount mismatch", paymentEvent(t, pending, engine.PaymentSucceeded, pending.Total.Amount+1), engine.OutcomeAmountMismatch, pending},
		{"order not found", paymentEvent(t, missing, engine.PaymentSucceeded, pending.Total.Amount), engine.OutcomeOrderNotFound, engine.Order{}},
		{"late payment", paymentEvent(t, cancelled, engine.PaymentSucceeded, cancelled.Total.Amount), engine.OutcomeLatePayment, cancelled},
		{"ignored", paymentEvent(t, cancelled, engine.PaymentDeclined, cancelled.Total.Amount), engine.OutcomeIgnored, cancelled},
	}
	for _, tt := range tests {
		outcome, got, holds, err := s.ApplyPayment(ctx, tt.ev)
		if err != nil || outcome != tt.want || !reflect.DeepEqual(got, tt.order) || holds != nil {
			t.Errorf("%s: ApplyPayment = %s, %+v, %v, %v; want %s, %+v", tt.name, outcome, got, holds, err, tt.want, tt.order)
		}
		stored, order := eventRow(t, conn, tt.ev.EventID)
		if stored != string(tt.want) || (order == nil) != tt.order.ID.IsZero() || (order != nil && *order != tt.order.ID) {
			t.Errorf("%s: event row = %s, %v", tt.name, stored, order)
		}
		if !tt.order.ID.IsZero() {
			if cur, err := s.Order(ctx, tt.order.ID); err != nil || !reflect.DeepEqual(cur, tt.order) {
				t.Errorf("%s: order changed to %+v, %v", tt.name, cur, err)
			}
		}
	}
	if got := outboxRows(t, conn); !reflect.DeepEqual(got, mailsBefore) {
		t.Errorf("outbox = %+v, want %+v (no new mail)", got, mailsBefore)
	}
}

// A concurrent duplicate waits on the event's primary key until the first
// transaction commits, then finds the event stored: exactly one applies.
func TestApplyPaymentConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	s1, url := newStore(t)
	s2 := openStore(t, url)
	conn, ctx := rawConn(t, url), t.Context()
	user := buyer(t, s1, "buyer", "buyer@example.com")
	p := createProduct(t, s1, "HOT", 10, true)
	o := placeOrder(t, s1, user, engine.OrderLine{Product: p, Quantity: 1})
	ev := paymentEvent(t, o, engine.PaymentSucceeded, o.Total.Amount)

	// Hold the order's row lock, so that the first ApplyPayment stops
	// after inserting the event, and the second queues behind it.
	gate, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gate.Rollback(ctx) }()
	var gatePID uint32
	if err := gate.QueryRow(ctx, "SELECT pg_backend_pid() FROM orders WHERE id = $1 FOR UPDATE", [16]byte(o.ID)).Scan(&gatePID); err != nil {
		t.Fatal(err)
	}
	watch := rawConn(t, url)
	blockedBy := func(pid uint32) (blocked uint32) {
		_ = watch.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))", pid).Scan(&blocked)
		return blocked
	}

	outcomes := make([]engine.PaymentOutcome, 2)
	var wg sync.WaitGroup
	apply := func(i int, s *persist.Store) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if outcomes[i], _, _, err = s.ApplyPayment(ctx, ev); err != nil {
				t.Errorf("ApplyPayment %d: %v", i, err)
			}
		}()
	}
	apply(0, s1)
	var first uint32
	waitFor(t, "the first ApplyPayment to wait for the order lock", func() bool { first = blockedBy(gatePID); return first != 0 })
	apply(1, s2)
	waitFor(t, "the second ApplyPayment to wait for the first", func() bool { return blockedBy(first) != 0 })
	if err := gate.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if outcomes[0] != engine.OutcomeApplied || outcomes[1] != engine.OutcomeDuplicate {
		t.Errorf("outcomes = %v, want [applied duplicate]", outcomes)
	}
	if got := outboxRows(t, conn); len(got) != 1 {
		t.Errorf("outbox = %+v, want one mail", got)
	}
}

func TestArchiveWebhookEvents(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	t0 := now()
	missing := engine.Order{Reference: "ORD-00000000000A"}
	var old []engine.PaymentEvent
	for i := range 3 {
		ev := paymentEvent(t, missing, engine.PaymentSucceeded, 100)
		ev.ReceivedAt = t0.Add(-100*24*time.Hour + time.Duration(i)*time.Minute)
		old = append(old, ev)
	}
	recent := paymentEvent(t, missing, engine.PaymentSucceeded, 100)
	for _, ev := range append(old, recent) {
		if outcome, _, _, err := s.ApplyPayment(ctx, ev); err != nil || outcome != engine.OutcomeOrderNotFound {
			t.Fatalf("ApplyPayment = %s, %v", outcome, err)
		}
	}
	count := func(table string) (n int) {
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	archiveBefore, deleteBefore := t0.Add(-90*24*time.Hour), t0.Add(-365*24*time.Hour)
	if a, d, err := s.ArchiveWebhookEvents(ctx, archiveBefore, deleteBefore, 2); err != nil || a != 2 || d != 0 {
		t.Fatalf("ArchiveWebhookEvents = %d, %d, %v; want 2 archived", a, d, err)
	}
	if a, d, err := s.ArchiveWebhookEvents(ctx, archiveBefore, deleteBefore, 2); err != nil || a != 1 || d != 0 {
		t.Fatalf("second ArchiveWebhookEvents = %d, %d, %v; want 1 archived", a, d, err)
	}
	if live, archived := count("webhook_events"), count("webhook_events_archive"); live != 1 || archived != 3 {
		t.Errorf("live, archived = %d, %d; want 1, 3", live, archived)
	}
	var outcome string
	var archivedAt time.Time
	if err := conn.QueryRow(ctx, "SELECT outcome, archived_at FROM webhook_events_archive WHERE event_id = $1",
		old[0].EventID).Scan(&outcome, &archivedAt); err != nil || outcome != "order_not_found" || archivedAt.IsZero() {
		t.Errorf("archived row = %s, %v, %v", outcome, archivedAt, err)
	}

	// An archived event is still a duplicate, and is not stored again.
	if outcome, _, _, err := s.ApplyPayment(ctx, old[0]); err != nil || outcome != engine.OutcomeDuplicate {
		t.Errorf("archived event again = %s, %v; want duplicate", outcome, err)
	}
	if live := count("webhook_events"); live != 1 {
		t.Errorf("live events = %d, want 1", live)
	}

	if a, d, err := s.ArchiveWebhookEvents(ctx, archiveBefore, t0.Add(-99*24*time.Hour), 10); err != nil || a != 0 || d != 3 {
		t.Errorf("delete = %d, %d, %v; want 3 deleted", a, d, err)
	}
	if _, _, err := s.ArchiveWebhookEvents(ctx, archiveBefore, deleteBefore, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("max 0 = %v, want ErrInvalid", err)
	}
}

func TestTransitionOrderQueuesMail(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	withMail, without := buyer(t, s, "alice", "alice@example.com"), buyer(t, s, "bob", "")
	p := createProduct(t, s, "HOT", 10, true)
	cancelled := placeOrder(t, s, withMail, engine.OrderLine{Product: p, Quantity: 1})
	expired := placeOrder(t, s, withMail, engine.OrderLine{Product: p, Quantity: 1})
	silent := placeOrder(t, s, without, engine.OrderLine{Product: p, Quantity: 1})
	transition := func(o engine.Order, by engine.Trigger, reason string, at time.Time) {
		t.Helper()
		if _, _, err := s.TransitionOrder(ctx, o.ID, func(cur engine.Order) (engine.Order, error) {
			return cur.Transition(engine.StatusCancelled, by, reason, at)
		}); err != nil {
			t.Fatal(err)
		}
	}
	transition(cancelled, engine.TriggerBuyer, "changed my mind", now())
	transition(expired, engine.TriggerExpiry, engine.CancelReasonExpired, expired.ExpiresAt)
	transition(silent, engine.TriggerAdmin, "", now())
	// A change that keeps the status queues nothing more.
	if _, _, err := s.TransitionOrder(ctx, cancelled.ID, func(cur engine.Order) (engine.Order, error) { return cur, nil }); err != nil {
		t.Fatal(err)
	}
	want := []outboxRow{
		{Kind: "order_cancelled", Key: "order_cancelled:" + cancelled.ID.String(), To: "alice@example.com", Status: "pending"},
		{Kind: "order_expired", Key: "order_expired:" + expired.ID.String(), To: "alice@example.com", Status: "pending"},
	}
	if got := outboxRows(t, conn); !reflect.DeepEqual(got, want) {
		t.Errorf("outbox = %+v\nwant %+v", got, want)
	}
	mails, err := s.DueMails(ctx, now().Add(time.Hour), time.Minute, 10)
	if err != nil || len(mails) != 2 {
		t.Fatalf("DueMails = %+v, %v", mails, err)
	}
	stored, _ := s.Order(ctx, cancelled.ID)
	if m, _ := engine.OrderMail(stored, "alice@example.com"); !reflect.DeepEqual(mails[0].Mail, m) {
		t.Errorf("queued mail = %+v, want %+v", mails[0].Mail, m)
	}
}
