package engine_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// orderState is an order's (status, payment status) pair.
type orderState struct {
	status  engine.Status
	payment engine.PaymentStatus
}

// reachableStates walks designEdges (status_test.go, written from DESIGN.md)
// from a new order and returns every state an order can be in.
func reachableStates() []orderState {
	start := orderState{engine.StatusPending, engine.PaymentPending}
	seen := map[orderState]bool{start: true}
	for queue := []orderState{start}; len(queue) > 0; queue = queue[1:] {
		for e, pay := range designEdges {
			if e.from != queue[0].status {
				continue
			}
			next := orderState{e.to, queue[0].payment}
			if pay != "" {
				next.payment = pay
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	states := make([]orderState, 0, len(seen))
	for s := range seen {
		states = append(states, s)
	}
	slices.SortFunc(states, func(a, b orderState) int {
		return strings.Compare(string(a.status)+"/"+string(a.payment), string(b.status)+"/"+string(b.payment))
	})
	return states
}

// paymentRules is DESIGN.md "Payment webhook" for an event whose amount
// equals the order total, written out for every reachable state.
var paymentRules = map[orderState]map[engine.PaymentResult]engine.PaymentOutcome{
	{engine.StatusPending, engine.PaymentPending}: {
		engine.PaymentSucceeded: engine.OutcomeApplied, engine.PaymentDeclined: engine.OutcomeApplied},
	{engine.StatusConfirmed, engine.PaymentPaid}: {
		engine.PaymentSucceeded: engine.OutcomeAlreadyPaid, engine.PaymentDeclined: engine.OutcomeAlreadyPaid},
	{engine.StatusProcessing, engine.PaymentPaid}: {
		engine.PaymentSucceeded: engine.OutcomeAlreadyPaid, engine.PaymentDeclined: engine.OutcomeAlreadyPaid},
	{engine.StatusShipped, engine.PaymentPaid}: {
		engine.PaymentSucceeded: engine.OutcomeAlreadyPaid, engine.PaymentDeclined: engine.OutcomeAlreadyPaid},
	{engine.StatusDelivered, engine.PaymentPaid}: {
		engine.PaymentSucceeded: engine.OutcomeAlreadyPaid, engine.PaymentDeclined: engine.OutcomeAlreadyPaid},
	{engine.StatusReturned, engine.PaymentPaid}: {
		engine.PaymentSucceeded: engine.OutcomeAlreadyPaid, engine.PaymentDeclined: engine.OutcomeAlreadyPaid},
	{engine.StatusCancelled, engine.PaymentPending}: {
		engine.PaymentSucceeded: engine.OutcomeLatePayment, engine.PaymentDeclined: engine.OutcomeIgnored},
	{engine.StatusFailed, engine.PaymentFailed}: {
		engine.PaymentSucceeded: engine.OutcomeLatePayment, engine.PaymentDeclined: engine.OutcomeIgnored},
}

// TestReachableStates: the matrix below covers every state, and every status.
func TestReachableStates(t *testing.T) {
	states := reachableStates()
	for _, s := range states {
		if paymentRules[s] == nil {
			t.Errorf("state %v has no payment rule", s)
		}
	}
	if len(states) != len(paymentRules) {
		t.Errorf("%d reachable states %v, %d payment rules", len(states), states, len(paymentRules))
	}
	for _, st := range engine.Statuses {
		if !slices.ContainsFunc(states, func(s orderState) bool { return s.status == st }) {
			t.Errorf("status %s is not reachable", st)
		}
	}
}

// TestDecidePaymentMatrix tries every reachable state with both results and
// with matching and mismatching amounts.
func TestDecidePaymentMatrix(t *testing.T) {
	nows := map[string]time.Time{"before expiry": created.Add(time.Minute), "after expiry": later}
	amounts := []int64{3998, 3997, 3999, 0, -3998, math.MaxInt64}
	for _, s := range reachableStates() {
		for _, result := range []engine.PaymentResult{engine.PaymentSucceeded, engine.PaymentDeclined} {
			for _, amount := range amounts {
				for when, now := range nows {
					want := engine.OutcomeAmountMismatch
					if amount == 3998 {
						want = paymentRules[s][result]
					}
					checkDecidePayment(t, s, result, amount, now, want, when)
				}
			}
		}
	}
}

func checkDecidePayment(t *testing.T, s orderState, result engine.PaymentResult, amount int64,
	now time.Time, want engine.PaymentOutcome, when string) {
	t.Helper()
	in := sampleOrder(s.status)
	in.PaymentStatus = s.payment
	if s.status == engine.StatusCancelled {
		in.CancelReason = "changed my mind"
	}
	orig := in
	orig.Items = slices.Clone(in.Items)
	ev := engine.PaymentEvent{EventID: "evt_1", Reference: in.Reference, Result: result, Amount: amount,
		ReceivedAt: now}

	got, next := engine.DecidePayment(in, ev, now)
	name := string(s.status) + "/" + string(s.payment) + " " + string(result) + " " + when
	if got != want {
		t.Errorf("%s, amount %d: outcome %q, want %q", name, amount, got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("%s, amount %d: input order changed to %+v", name, amount, in)
	}
	wantOrder := orig
	if want == engine.OutcomeApplied {
		wantOrder.Status, wantOrder.PaymentStatus = engine.StatusConfirmed, engine.PaymentPaid
		if result == engine.PaymentDeclined {
			wantOrder.Status, wantOrder.PaymentStatus = engine.StatusFailed, engine.PaymentFailed
		}
		wantOrder.UpdatedAt = now
	}
	if !reflect.DeepEqual(next, wantOrder) {
		t.Errorf("%s, amount %d: order\n got %+v\nwant %+v", name, amount, next, wantOrder)
	}
}

// TestDecidePaymentFailedNeverOverridesPaid repeats a failure after a
// success: the order stays paid.
func TestDecidePaymentFailedNeverOverridesPaid(t *testing.T) {
	o := sampleOrder(engine.StatusPending)
	ev := engine.PaymentEvent{EventID: "evt_1", Reference: o.Reference, Result: engine.PaymentSucceeded, Amount: o.Total.Amount}
	outcome, paid := engine.DecidePayment(o, ev, later)
	if outcome != engine.OutcomeApplied || paid.PaymentStatus != engine.PaymentPaid {
		t.Fatalf("success = %q, %+v", outcome, paid)
	}
	for _, result := range []engine.PaymentResult{engine.PaymentDeclined, engine.PaymentSucceeded} {
		ev.EventID, ev.Result = "evt_2", result
		outcome, after := engine.DecidePayment(paid, ev, later.Add(time.Hour))
		if outcome != engine.OutcomeAlreadyPaid || !reflect.DeepEqual(after, paid) {
			t.Errorf("%s after success = %q, %+v", result, outcome, after)
		}
	}
}

func TestPaymentOutcomes(t *testing.T) {
	want := []engine.PaymentOutcome{"applied", "duplicate", "order_not_found", "amount_mismatch",
		"already_paid", "late_payment", "ignored"}
	if !slices.Equal(engine.PaymentOutcomes, want) {
		t.Errorf("PaymentOutcomes = %v, want the DESIGN.md list %v", engine.PaymentOutcomes, want)
	}
}

func validPaymentEvent() engine.PaymentEvent {
	return engine.PaymentEvent{EventID: "evt_01HZX", Reference: "ORD-0123456789AB", Result: engine.PaymentSucceeded,
		Amount: 3998, WebhookID: "msg_1", Body: []byte(`{}`), ReceivedAt: created}
}

func TestPaymentEventValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*engine.PaymentEvent)
		want []string // invalid fields, in order; nil = valid
	}{
		{"valid", func(*engine.PaymentEvent) {}, nil},
		{"failed result", func(e *engine.PaymentEvent) { e.Result = engine.PaymentDeclined }, nil},
		{"255-byte event id", func(e *engine.PaymentEvent) { e.EventID = strings.Repeat("e", 255) }, nil},
		{"1-byte event id", func(e *engine.PaymentEvent) { e.EventID = "e" }, nil},
		{"printable punctuation", func(e *engine.PaymentEvent) { e.EventID = " !~evt-1/2" }, nil},
		{"free order", func(e *engine.PaymentEvent) { e.Amount = 0 }, nil},
		{"no webhook id or body", func(e *engine.PaymentEvent) { e.WebhookID, e.Body = "", nil }, nil},

		{"empty event id", func(e *engine.PaymentEvent) { e.EventID = "" }, []string{"event_id"}},
		{"256-byte event id", func(e *engine.PaymentEvent) { e.EventID = strings.Repeat("e", 256) }, []string{"event_id"}},
		{"tab in event id", func(e *engine.PaymentEvent) { e.EventID = "evt\t1" }, []string{"event_id"}},
		{"newline in event id", func(e *engine.PaymentEvent) { e.EventID = "evt\n" }, []string{"event_id"}},
		{"DEL in event id", func(e *engine.PaymentEvent) { e.EventID = "evt\x7f" }, []string{"event_id"}},
		{"non-ASCII event id", func(e *engine.PaymentEvent) { e.EventID = "évt" }, []string{"event_id"}},
		{"empty reference", func(e *engine.PaymentEvent) { e.Reference = "" }, []string{"reference"}},
		// A reference in no order's format is valid: it is answered order_not_found.
		{"lower-case reference", func(e *engine.PaymentEvent) { e.Reference = "ORD-0123456789ab" }, nil},
		{"short reference", func(e *engine.PaymentEvent) { e.Reference = "ORD-ABC123" }, nil},
		{"reference at the bound", func(e *engine.PaymentEvent) { e.Reference = strings.Repeat("R", 64) }, nil},
		{"reference too long", func(e *engine.PaymentEvent) { e.Reference = strings.Repeat("R", 65) }, []string{"reference"}},
		{"reference with a newline", func(e *engine.PaymentEvent) { e.Reference = "ORD-0123456789AB\n" }, []string{"reference"}},
		{"empty status", func(e *engine.PaymentEvent) { e.Result = "" }, []string{"status"}},
		{"upper-case status", func(e *engine.PaymentEvent) { e.Result = "SUCCESS" }, []string{"status"}},
		{"paid status", func(e *engine.PaymentEvent) { e.Result = "paid" }, []string{"status"}},
		{"negative amount", func(e *engine.PaymentEvent) { e.Amount = -1 }, []string{"amount"}},
		{"min amount", func(e *engine.PaymentEvent) { e.Amount = math.MinInt64 }, []string{"amount"}},
		{"max int amount", func(e *engine.PaymentEvent) { e.Amount = math.MaxInt64 }, []string{"amount"}},
		{"everything wrong", func(e *engine.PaymentEvent) {
			*e = engine.PaymentEvent{EventID: "", Reference: "", Result: "ok", Amount: -5}
		}, []string{"event_id", "reference", "status", "amount"}},
	}
	for _, tt := range tests {
		ev := validPaymentEvent()
		tt.edit(&ev)
		err := ev.Validate()
		checkInvalidFields(t, tt.name, err, tt.want)
	}
}

// TestPaymentEventValidateLargestOrder: a payment for the largest order the
// limits allow is a valid event (else that order could never be paid).
func TestPaymentEventValidateLargestOrder(t *testing.T) {
	d := engine.OrderDraft{ID: engine.ID{1}, Reference: "ORD-0123456789AB", UserID: engine.ID{2}, Now: created, TTL: time.Minute}
	for i := range engine.ItemsPerOrderMax {
		p := engine.Product{ID: engine.ID{3, byte(i)}, SKU: "S", Name: "N", IsActive: true,
			Price: usd(engine.PriceMax), Stock: engine.StockMax}
		d.Lines = append(d.Lines, engine.OrderLine{Product: p, Quantity: engine.ItemQuantityMax})
	}
	o, err := engine.NewOrder(d)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	ev := validPaymentEvent()
	ev.Amount = o.Total.Amount
	if err := ev.Validate(); err != nil {
		t.Errorf("payment of the largest order (%d): %v", o.Total.Amount, err)
	}
	if outcome, _ := engine.DecidePayment(o, ev, later); outcome != engine.OutcomeApplied {
		t.Errorf("payment of the largest order: %q", outcome)
	}
}
