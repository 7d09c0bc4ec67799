package engine

import (
	"fmt"
	"strings"
	"time"
)

// MailKind names one kind of e-mail the system sends.
type MailKind string

// Mail kinds (DESIGN.md "Async work").
const (
	MailOrderConfirmed  MailKind = "order_confirmed"   // to the buyer, after payment
	MailOrderCancelled  MailKind = "order_cancelled"   // to the buyer, cancelled by them or an admin
	MailOrderExpired    MailKind = "order_expired"     // to the buyer, not paid in time
	MailPaymentFailed   MailKind = "payment_failed"    // to the buyer
	MailLowStock        MailKind = "low_stock"         // to the admin, once per threshold crossing
	MailDailyReport     MailKind = "daily_report"      // to the admin, yesterday's sales
	MailDeadLetterAlert MailKind = "dead_letter_alert" // to the admin, dead letters piling up
)

// CancelReasonExpired is the cancel reason the expiry job records.
const CancelReasonExpired = "expired"

// Mail is one e-mail, rendered, waiting in the outbox. Key identifies it
// (kind plus what it is about): the outbox holds at most one mail per key,
// so the same mail is never queued twice, and the key is the Message-ID,
// so a mail sent twice after a crash reads as one to the receiver.
type Mail struct {
	Kind    MailKind `json:"kind"`
	Key     string   `json:"key"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
}

// Validate checks that the mail can be sent.
func (m Mail) Validate() error {
	var v validator
	v.check(m.Kind != "", "kind", "is required")
	v.check(m.Key != "" && len(m.Key) <= 255, "key", "must be 1 to 255 bytes")
	v.check(len(m.To) > 0, "to", "needs a recipient")
	for _, to := range m.To {
		v.check(strings.Contains(to, "@") && len(to) <= 254, "to", "must be e-mail addresses")
	}
	v.check(m.Subject != "" && !strings.ContainsAny(m.Subject, "\r\n"), "subject", "must be one non-empty line")
	return v.err()
}

// OutboxMail is a mail in the outbox, with its delivery state.
type OutboxMail struct {
	ID       ID
	Mail     Mail
	Attempts int // deliveries tried so far, this one excluded
}

// OrderMail returns the mail telling the buyer (at to) that order o reached
// its status, if that status has one: confirmed, cancelled (or expired),
// failed. ok is false for other statuses or an empty address.
func OrderMail(o Order, to string) (m Mail, ok bool) {
	if to == "" {
		return Mail{}, false
	}
	var kind MailKind
	var subject, lead string
	switch {
	case o.Status == StatusConfirmed:
		kind, subject, lead = MailOrderConfirmed, "Order %s confirmed", "Thank you: your payment was received and your order is confirmed."
	case o.Status == StatusCancelled && o.CancelReason == CancelReasonExpired:
		kind, subject, lead = MailOrderExpired, "Order %s expired", "Your order was not paid in time and has expired; its items are back on sale."
	case o.Status == StatusCancelled:
		kind, subject, lead = MailOrderCancelled, "Order %s cancelled", "Your order has been cancelled."
	case o.Status == StatusFailed:
		kind, subject, lead = MailPaymentFailed, "Payment failed for order %s", "Your payment did not go through, so the order was not placed; its items are back on sale."
	default:
		return Mail{}, false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nOrder %s\n\n", lead, o.Reference)
	for _, it := range o.Items {
		fmt.Fprintf(&b, "  %d × %s at %s = %s\n", it.Quantity, it.ProductName, FormatMoney(it.UnitPrice), FormatMoney(it.Subtotal))
	}
	fmt.Fprintf(&b, "\nTotal: %s\n", FormatMoney(o.Total))
	if o.CancelReason != "" && kind == MailOrderCancelled {
		fmt.Fprintf(&b, "Reason: %s\n", o.CancelReason)
	}
	return Mail{Kind: kind, Key: string(kind) + ":" + o.ID.String(), To: []string{to},
		Subject: fmt.Sprintf(subject, o.Reference), Text: b.String()}, true
}

// LowStockMail tells the admin that product p went down to its threshold;
// crossing identifies the crossing (when it was seen), so the next crossing
// after a restock is a new mail.
func LowStockMail(p Product, crossing time.Time, to string) Mail {
	return Mail{Kind: MailLowStock, Key: fmt.Sprintf("%s:%s:%d", MailLowStock, p.ID, crossing.UnixMicro()),
		To: []string{to}, Subject: fmt.Sprintf("Low stock: %s (%d left)", p.SKU, p.Stock),
		Text: fmt.Sprintf("Product %s (%s, id %s) is down to %d units; its low-stock threshold is %d.\n",
			p.Name, p.SKU, p.ID, p.Stock, p.LowStockThreshold)}
}

// DeadLetterAlertMail tells the admin that n dead letters arrived in the
// hour that began at hour.
func DeadLetterAlertMail(n int, hour time.Time, to string) Mail {
	return Mail{Kind: MailDeadLetterAlert, Key: fmt.Sprintf("%s:%s", MailDeadLetterAlert, hour.UTC().Format(time.RFC3339)),
		To: []string{to}, Subject: fmt.Sprintf("%d dead letters since %s", n, hour.UTC().Format("2006-01-02 15:04 MST")),
		Text: fmt.Sprintf("%d jobs or messages were dead-lettered since %s.\n"+
			"Inspect them with `flashstock dlq list` or GET /admin/dead-letters, and retry with `flashstock dlq retry`.\n",
			n, hour.UTC().Format(time.RFC3339))}
}

// FormatMoney writes m as a decimal with two minor digits and its currency,
// e.g. "12.50 EUR", as DESIGN.md reads prices (1250 = 12.50).
func FormatMoney(m Money) string {
	sign, a := "", uint64(m.Amount)
	if m.Amount < 0 {
		sign, a = "-", -a // in uint64, so that the lowest int64 negates too
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, a/100, a%100, m.Currency)
}
