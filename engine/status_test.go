package engine_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// edge is one transition of the DESIGN.md state machine, written out
// independently of status.go.
type edge struct {
	from, to engine.Status
	by       engine.Trigger
}

// designEdges is every allowed (from, to, trigger) and the payment status it
// leaves ("" = unchanged).
var designEdges = map[edge]engine.PaymentStatus{
	{engine.StatusPending, engine.StatusConfirmed, engine.TriggerPayment}:  engine.PaymentPaid,
	{engine.StatusPending, engine.StatusFailed, engine.TriggerPayment}:     engine.PaymentFailed,
	{engine.StatusPending, engine.StatusCancelled, engine.TriggerBuyer}:    "",
	{engine.StatusPending, engine.StatusCancelled, engine.TriggerAdmin}:    "",
	{engine.StatusPending, engine.StatusCancelled, engine.TriggerExpiry}:   "",
	{engine.StatusConfirmed, engine.StatusProcessing, engine.TriggerAdmin}: "",
	{engine.StatusProcessing, engine.StatusShipped, engine.TriggerAdmin}:   "",
	{engine.StatusShipped, engine.StatusDelivered, engine.TriggerAdmin}:    "",
	{engine.StatusDelivered, engine.StatusReturned, engine.TriggerAdmin}:   "",
}

// allTriggers includes an empty and an unknown trigger, which must never work.
var allTriggers = []engine.Trigger{engine.TriggerBuyer, engine.TriggerAdmin, engine.TriggerPayment,
	engine.TriggerExpiry, "", "system"}

// allStatuses includes an empty and an unknown status, which must never work.
var allStatuses = append(slices.Clone(engine.Statuses), "", "archived")

func sampleOrder(status engine.Status) engine.Order {
	return engine.Order{
		ID: engine.ID{1}, Reference: "ORD-0123456789AB", UserID: engine.ID{2},
		Status: status, PaymentStatus: engine.PaymentPending, Total: usd(3998),
		Items: []engine.OrderItem{{ProductID: engine.ID{3}, ProductName: "Red T-shirt", Quantity: 2,
			UnitPrice: usd(1999), Subtotal: usd(3998)}},
		CreatedAt: created, UpdatedAt: created, ExpiresAt: created.Add(15 * time.Minute),
	}
}

func TestStatuses(t *testing.T) {
	want := []engine.Status{"pending", "confirmed", "processing", "shipped", "delivered", "returned", "cancelled", "failed"}
	if !slices.Equal(engine.Statuses, want) {
		t.Fatalf("Statuses = %v, want %v", engine.Statuses, want)
	}
	for _, s := range engine.Statuses {
		got, err := engine.ParseStatus(string(s))
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Pending", "PENDING", " pending", "pending ", "archived", "canceled"} {
		got, err := engine.ParseStatus(s)
		if !errors.Is(err, engine.ErrInvalid) || got != "" {
			t.Errorf("ParseStatus(%q) = %q, %v; want ErrInvalid", s, got, err)
			continue
		}
		if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "status" {
			t.Errorf("ParseStatus(%q) fields = %v", s, fs)
		}
	}
}

// TestTransitionMatrix tries every status pair with every trigger: exactly the
// DESIGN.md edges succeed.
func TestTransitionMatrix(t *testing.T) {
	now := later // past the sample order's expiry, so expiry may cancel it
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			for _, by := range allTriggers {
				e := edge{from, to, by}
				payment, allowed := designEdges[e]
				if got := engine.CanTransition(from, to, by); got != allowed {
					t.Errorf("CanTransition(%q→%q by %q) = %v, want %v", from, to, by, got, allowed)
				}
				checkTransition(t, e, now, allowed, payment)
			}
		}
	}
}

func checkTransition(t *testing.T, e edge, now time.Time, allowed bool, payment engine.PaymentStatus) {
	t.Helper()
	o := sampleOrder(e.from)
	orig := sampleOrder(e.from)
	got, err := o.Transition(e.to, e.by, "changed my mind", now)
	if !reflect.DeepEqual(o, orig) {
		t.Errorf("%q→%q by %q: receiver changed to %+v", e.from, e.to, e.by, o)
	}
	if !allowed {
		if !errors.Is(err, engine.ErrConflict) {
			t.Errorf("%q→%q by %q: err = %v, want ErrConflict", e.from, e.to, e.by, err)
		}
		if !reflect.DeepEqual(got, engine.Order{}) {
			t.Errorf("%q→%q by %q: returned %+v with an error", e.from, e.to, e.by, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q→%q by %q: %v", e.from, e.to, e.by, err)
	}
	want := orig
	want.Status, want.UpdatedAt = e.to, now
	if payment != "" {
		want.PaymentStatus = payment
	}
	if e.to == engine.StatusCancelled {
		want.CancelReason = "changed my mind"
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q→%q by %q:\n got %+v\nwant %+v", e.from, e.to, e.by, got, want)
	}
}

func TestTransitionErrorNamesTheEdge(t *testing.T) {
	_, err := sampleOrder(engine.StatusShipped).Transition(engine.StatusPending, engine.TriggerBuyer, "", later)
	for _, part := range []string{"ORD-0123456789AB", "shipped", "pending", "buyer"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("error %v does not mention %q", err, part)
		}
	}
}

// TestExpiryWaitsForExpiresAt: the expiry job cannot cancel an order
// before its deadline (a stale list of candidates, a skewed clock).
func TestExpiryWaitsForExpiresAt(t *testing.T) {
	o := sampleOrder(engine.StatusPending)
	if _, err := o.Transition(engine.StatusCancelled, engine.TriggerExpiry, "expired", o.ExpiresAt.Add(-time.Nanosecond)); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("expiry before ExpiresAt: err = %v, want ErrConflict", err)
	}
	if got, err := o.Transition(engine.StatusCancelled, engine.TriggerExpiry, "expired", o.ExpiresAt); err != nil || got.Status != engine.StatusCancelled {
		t.Errorf("expiry at ExpiresAt = %+v, %v", got.Status, err)
	}
	// The buyer may cancel before the deadline.
	if _, err := o.Transition(engine.StatusCancelled, engine.TriggerBuyer, "", created); err != nil {
		t.Errorf("buyer cancel before expiry: %v", err)
	}
}

func TestCancelReason(t *testing.T) {
	for _, by := range []engine.Trigger{engine.TriggerBuyer, engine.TriggerAdmin, engine.TriggerExpiry} {
		got, err := sampleOrder(engine.StatusPending).Transition(engine.StatusCancelled, by, "expired after 15m", later)
		if err != nil || got.CancelReason != "expired after 15m" || got.PaymentStatus != engine.PaymentPending {
			t.Errorf("cancel by %s = %+v, %v", by, got, err)
		}
		got, err = sampleOrder(engine.StatusPending).Transition(engine.StatusCancelled, by, "", later)
		if err != nil || got.CancelReason != "" {
			t.Errorf("cancel by %s without reason = %q, %v", by, got.CancelReason, err)
		}
	}
	// A reason given on any other edge is not recorded.
	got, err := sampleOrder(engine.StatusPending).Transition(engine.StatusConfirmed, engine.TriggerPayment, "ignored", later)
	if err != nil || got.CancelReason != "" {
		t.Errorf("confirm recorded reason %q, %v", got.CancelReason, err)
	}
}

// TestHappyPath walks the whole fulfilment chain.
func TestHappyPath(t *testing.T) {
	o := sampleOrder(engine.StatusPending)
	chain := []struct {
		to engine.Status
		by engine.Trigger
	}{
		{engine.StatusConfirmed, engine.TriggerPayment}, {engine.StatusProcessing, engine.TriggerAdmin},
		{engine.StatusShipped, engine.TriggerAdmin}, {engine.StatusDelivered, engine.TriggerAdmin},
		{engine.StatusReturned, engine.TriggerAdmin},
	}
	now := created
	for _, step := range chain {
		now = now.Add(time.Hour)
		var err error
		if o, err = o.Transition(step.to, step.by, "", now); err != nil {
			t.Fatalf("→%s: %v", step.to, err)
		}
		if o.PaymentStatus != engine.PaymentPaid || !o.UpdatedAt.Equal(now) {
			t.Fatalf("→%s: payment %s, updated %v", step.to, o.PaymentStatus, o.UpdatedAt)
		}
	}
}

func TestReleasesStockAndIsTerminal(t *testing.T) {
	releases := map[engine.Status]bool{engine.StatusCancelled: true, engine.StatusFailed: true}
	terminal := map[engine.Status]bool{engine.StatusReturned: true, engine.StatusCancelled: true, engine.StatusFailed: true}
	for _, s := range engine.Statuses {
		if got := s.ReleasesStock(); got != releases[s] {
			t.Errorf("%s.ReleasesStock() = %v", s, got)
		}
		if got := s.IsTerminal(); got != terminal[s] {
			t.Errorf("%s.IsTerminal() = %v", s, got)
		}
		// IsTerminal agrees with the matrix: a terminal status has no way out.
		leaves := false
		for _, to := range allStatuses {
			for _, by := range allTriggers {
				leaves = leaves || engine.CanTransition(s, to, by)
			}
		}
		if leaves == s.IsTerminal() {
			t.Errorf("%s: IsTerminal %v but has an outgoing edge: %v", s, s.IsTerminal(), leaves)
		}
	}
}
