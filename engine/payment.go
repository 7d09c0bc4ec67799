package engine

import (
	"fmt"
	"time"
)

// PaymentResult is what a payment provider reports for an order.
type PaymentResult string

// Payment results of a webhook event.
const (
	PaymentSucceeded PaymentResult = "success"
	PaymentDeclined  PaymentResult = "failed"
)

// eventIDBytesMax and referenceBytesMax bound a webhook event's id and
// order reference.
const (
	eventIDBytesMax   = 255
	referenceBytesMax = 64
)

// PaymentEvent is one payment webhook delivery, verified and decoded.
type PaymentEvent struct {
	EventID    string        // the provider's id of the event: applied at most once
	Reference  string        // the order's reference, "ORD-…"
	Result     PaymentResult // success or failed
	Amount     int64         // in the order currency's minor units
	WebhookID  string        // the webhook-id header the signature covered
	Body       []byte        // the raw signed body, kept with the event
	ReceivedAt time.Time
}

// Validate checks the fields a sender controls.
func (e PaymentEvent) Validate() error {
	var v validator
	v.check(len(e.EventID) >= 1 && len(e.EventID) <= eventIDBytesMax && printableASCII(e.EventID),
		"event_id", fmt.Sprintf("must be 1 to %d printable ASCII characters", eventIDBytesMax))
	// Any reference is accepted, so that one matching no order (malformed
	// ones included) is answered order_not_found and stored, as the
	// provider sent it.
	v.check(len(e.Reference) >= 1 && len(e.Reference) <= referenceBytesMax && printableASCII(e.Reference),
		"reference", fmt.Sprintf("must be 1 to %d printable ASCII characters", referenceBytesMax))
	v.check(e.Result == PaymentSucceeded || e.Result == PaymentDeclined, "status", `must be "success" or "failed"`)
	v.check(e.Amount >= 0 && e.Amount <= moneyAmountMax, "amount", fmt.Sprintf("must be between 0 and %d", moneyAmountMax))
	return v.err()
}

// moneyAmountMax bounds an amount in minor units: the largest total an order
// can have.
const moneyAmountMax = PriceMax * ItemQuantityMax * ItemsPerOrderMax

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// PaymentOutcome says what a payment event did (DESIGN.md "Payment webhook").
type PaymentOutcome string

// Payment outcomes.
const (
	OutcomeApplied        PaymentOutcome = "applied"         // the order moved: confirmed and paid, or failed
	OutcomeDuplicate      PaymentOutcome = "duplicate"       // this event_id was received before
	OutcomeOrderNotFound  PaymentOutcome = "order_not_found" // no order has the reference
	OutcomeAmountMismatch PaymentOutcome = "amount_mismatch" // amount differs from the order total
	OutcomeAlreadyPaid    PaymentOutcome = "already_paid"    // the order is paid; nothing overrides that
	OutcomeLatePayment    PaymentOutcome = "late_payment"    // success for an order no longer pending: for an operator
	OutcomeIgnored        PaymentOutcome = "ignored"         // failure for an order no longer pending
)

// PaymentOutcomes lists every outcome.
var PaymentOutcomes = []PaymentOutcome{OutcomeApplied, OutcomeDuplicate, OutcomeOrderNotFound,
	OutcomeAmountMismatch, OutcomeAlreadyPaid, OutcomeLatePayment, OutcomeIgnored}

// DecidePayment says what event ev does to order o, as currently stored:
// the outcome, and for OutcomeApplied the order after it. A payment on a
// pending order applies even past its expiry time, as long as the expiry
// job has not cancelled it yet (its units are still held for it).
func DecidePayment(o Order, ev PaymentEvent, now time.Time) (PaymentOutcome, Order) {
	if ev.Amount != o.Total.Amount {
		return OutcomeAmountMismatch, o
	}
	if o.PaymentStatus == PaymentPaid {
		return OutcomeAlreadyPaid, o
	}
	if o.Status != StatusPending {
		if ev.Result == PaymentSucceeded {
			return OutcomeLatePayment, o
		}
		return OutcomeIgnored, o
	}
	to := StatusConfirmed
	if ev.Result == PaymentDeclined {
		to = StatusFailed
	}
	next, err := o.Transition(to, TriggerPayment, "", now)
	if err != nil { // unreachable: pending → confirmed | failed by payment is an edge
		return OutcomeIgnored, o
	}
	return OutcomeApplied, next
}
