package engine

// Status is an order's fulfilment state.
type Status string

// Order statuses (DESIGN.md "Order state machine").
const (
	StatusPending    Status = "pending"
	StatusConfirmed  Status = "confirmed"
	StatusProcessing Status = "processing"
	StatusShipped    Status = "shipped"
	StatusDelivered  Status = "delivered"
	StatusReturned   Status = "returned"
	StatusCancelled  Status = "cancelled"
	StatusFailed     Status = "failed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusPending, StatusConfirmed, StatusProcessing, StatusShipped,
	StatusDelivered, StatusReturned, StatusCancelled, StatusFailed}

// ParseStatus accepts exactly one of Statuses.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Invalid("status", "must be one of pending, confirmed, processing, shipped, delivered, returned, cancelled, failed")
}

// PaymentStatus is the state of an order's payment.
type PaymentStatus string

// Payment statuses: pending → paid | failed.
const (
	PaymentPending PaymentStatus = "pending"
	PaymentPaid    PaymentStatus = "paid"
	PaymentFailed  PaymentStatus = "failed"
)

// Trigger names who or what asks for a transition.
type Trigger string

// Triggers of order transitions.
const (
	TriggerBuyer   Trigger = "buyer"   // the order's owner
	TriggerAdmin   Trigger = "admin"   // an administrator
	TriggerPayment Trigger = "payment" // a payment webhook
	TriggerExpiry  Trigger = "expiry"  // the expiry job after the order TTL
)

// transition is one allowed edge of the state machine.
type transition struct {
	from, to Status
	by       []Trigger
	payment  PaymentStatus // payment status after the edge; "" = unchanged
}

// transitions is the whole order state machine: an edge not listed here is
// impossible, whoever asks.
var transitions = []transition{
	{StatusPending, StatusConfirmed, []Trigger{TriggerPayment}, PaymentPaid},
	{StatusPending, StatusFailed, []Trigger{TriggerPayment}, PaymentFailed},
	{StatusPending, StatusCancelled, []Trigger{TriggerBuyer, TriggerAdmin, TriggerExpiry}, ""},
	{StatusConfirmed, StatusProcessing, []Trigger{TriggerAdmin}, ""},
	{StatusProcessing, StatusShipped, []Trigger{TriggerAdmin}, ""},
	{StatusShipped, StatusDelivered, []Trigger{TriggerAdmin}, ""},
	{StatusDelivered, StatusReturned, []Trigger{TriggerAdmin}, ""},
}

func findTransition(from, to Status, by Trigger) (transition, bool) {
	for _, t := range transitions {
		if t.from != from || t.to != to {
			continue
		}
		for _, b := range t.by {
			if b == by {
				return t, true
			}
		}
	}
	return transition{}, false
}

// CanTransition reports whether trigger by may move an order from one status
// to another.
func CanTransition(from, to Status, by Trigger) bool {
	_, ok := findTransition(from, to, by)
	return ok
}

// ReleasesStock reports whether entering status s returns the order's units
// to stock.
func (s Status) ReleasesStock() bool { return s == StatusCancelled || s == StatusFailed }

// IsTerminal reports whether no transition leaves s.
func (s Status) IsTerminal() bool {
	for _, t := range transitions {
		if t.from == s {
			return false
		}
	}
	return true
}
