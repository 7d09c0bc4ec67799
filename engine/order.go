package engine

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ReferencePrefix starts every order reference.
const ReferencePrefix = "ORD-"

// OrderItem is one line of an order, with the price snapshotted at purchase.
type OrderItem struct {
	ProductID   ID
	ProductName string
	Quantity    int64
	UnitPrice   Money
	Subtotal    Money
}

// Order is a purchase by one user of one or more products.
type Order struct {
	ID            ID
	Reference     string
	UserID        ID
	Status        Status
	PaymentStatus PaymentStatus
	Total         Money
	Items         []OrderItem
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
	CancelReason  string
}

// NewReference returns "ORD-" followed by 12 upper-case hex digits drawn from r.
func NewReference(r io.Reader) (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("new reference: %w", err)
	}
	const digits = "0123456789ABCDEF"
	ref := make([]byte, 0, len(ReferencePrefix)+2*len(b))
	ref = append(ref, ReferencePrefix...)
	for _, c := range b {
		ref = append(ref, digits[c>>4], digits[c&0x0f])
	}
	return string(ref), nil
}

// ParseReference accepts exactly "ORD-" + 12 upper-case hex digits.
func ParseReference(s string) (string, error) {
	if len(s) != len(ReferencePrefix)+12 || !strings.HasPrefix(s, ReferencePrefix) {
		return "", Invalid("reference", "must be ORD- followed by 12 upper-case hex digits")
	}
	for _, c := range []byte(s[len(ReferencePrefix):]) {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return "", Invalid("reference", "must be ORD- followed by 12 upper-case hex digits")
		}
	}
	return s, nil
}

// Transition moves the order to status to on behalf of by. An edge missing
// from the state machine is ErrConflict, and so is expiry before ExpiresAt;
// o itself is unchanged.
func (o Order) Transition(to Status, by Trigger, reason string, now time.Time) (Order, error) {
	t, ok := findTransition(o.Status, to, by)
	if !ok {
		return Order{}, fmt.Errorf("order %s by %s: %w", o.Reference, by,
			WithDetail(ErrConflict, fmt.Sprintf("the order is %s and cannot move to %s", o.Status, to)))
	}
	if by == TriggerExpiry && now.Before(o.ExpiresAt) {
		return Order{}, fmt.Errorf("order %s does not expire until %s: %w", o.Reference,
			o.ExpiresAt.Format(time.RFC3339), WithDetail(ErrConflict, "the order has not expired yet"))
	}
	o.Status = to
	if t.payment != "" {
		o.PaymentStatus = t.payment
	}
	if to == StatusCancelled {
		o.CancelReason = reason
	}
	o.UpdatedAt = now
	return o, nil
}

// Validate checks the order's invariants: at least one line, positive
// quantities, subtotals equal to price × quantity, total equal to the sum of
// subtotals, one currency.
func (o Order) Validate() error {
	if len(o.Items) == 0 {
		return Invalid("items", "an order has at least one item")
	}
	total := Money{Currency: o.Total.Currency}
	for _, it := range o.Items {
		sub, err := it.UnitPrice.Times(it.Quantity)
		if err != nil || it.Quantity < 1 || sub != it.Subtotal {
			return Invalid("items", "line for "+it.ProductID.String()+" is inconsistent")
		}
		if total, err = total.Add(sub); err != nil {
			return err
		}
	}
	if total != o.Total {
		return Invalid("total", "does not equal the sum of the lines")
	}
	return nil
}

// ItemRequest asks for quantity units of one product.
type ItemRequest struct {
	ProductID ID
	Quantity  int64
}

// mergeScanItemsMax is the longest order MergeItems dedups by scanning
// instead of with a map (a map costs more than scanning a few lines).
const mergeScanItemsMax = 8

// mergedIndex finds id among merged: in index when there is one.
func mergedIndex(merged []ItemRequest, index map[ID]int, id ID) (int, bool) {
	if index != nil {
		j, ok := index[id]
		return j, ok
	}
	for j := range merged {
		if merged[j].ProductID == id {
			return j, true
		}
	}
	return 0, false
}

// MergeItems validates the requested lines against limits and merges lines
// naming the same product, keeping first-seen order. Zero limits take the hard
// maxima, and limits above the hard maxima are capped to them.
func MergeItems(items []ItemRequest, l Limits) ([]ItemRequest, error) {
	l = l.capped()
	if len(items) == 0 {
		return nil, Invalid("items", "must not be empty")
	}
	merged := make([]ItemRequest, 0, len(items))
	var index map[ID]int // only for long orders; short ones are scanned
	if len(items) > mergeScanItemsMax {
		index = make(map[ID]int, len(items))
	}
	for i, it := range items {
		if it.ProductID.IsZero() {
			return nil, Invalid(fmt.Sprintf("items[%d].product_id", i), "is required")
		}
		if it.Quantity < 1 || it.Quantity > l.ItemQuantityMax {
			return nil, Invalid(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("must be between 1 and %d", l.ItemQuantityMax))
		}
		if j, ok := mergedIndex(merged, index, it.ProductID); ok {
			merged[j].Quantity += it.Quantity
			if merged[j].Quantity > l.ItemQuantityMax {
				return nil, Invalid(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("merged quantity exceeds %d", l.ItemQuantityMax))
			}
			continue
		}
		if index != nil {
			index[it.ProductID] = len(merged)
		}
		merged = append(merged, it)
	}
	if len(merged) > l.ItemsPerOrderMax {
		return nil, Invalid("items", fmt.Sprintf("at most %d distinct products", l.ItemsPerOrderMax))
	}
	return merged, nil
}
