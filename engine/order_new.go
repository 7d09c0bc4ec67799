package engine

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// OrderTTLDefault is how long a pending order waits for payment before the
// expiry job cancels it.
const OrderTTLDefault = 15 * time.Minute

// OrderLine is one product of a new order: the product as it was when its
// units were taken (its name and price are snapshotted into the order) and
// the quantity.
type OrderLine struct {
	Product  Product
	Quantity int64
}

// OrderDraft is the input for building a new pending order.
type OrderDraft struct {
	ID        ID
	Reference string
	UserID    ID
	Lines     []OrderLine
	Now       time.Time
	TTL       time.Duration
}

// NewOrder prices the lines and builds a pending order, expiring TTL after
// Now, with its items in product-id order. Every line must name a distinct
// active product in one currency with a quantity within the hard limits;
// the total is computed here, never taken from a client.
func NewOrder(d OrderDraft) (Order, error) {
	if len(d.Lines) == 0 {
		return Order{}, Invalid("items", "must not be empty")
	}
	if d.ID.IsZero() || d.UserID.IsZero() {
		return Order{}, Invalid("id", "order and user ids are required")
	}
	if _, err := ParseReference(d.Reference); err != nil {
		return Order{}, err
	}
	o := Order{
		ID: d.ID, Reference: d.Reference, UserID: d.UserID, Status: StatusPending,
		PaymentStatus: PaymentPending, Total: Money{Currency: d.Lines[0].Product.Price.Currency},
		Items: make([]OrderItem, 0, len(d.Lines)), CreatedAt: d.Now, UpdatedAt: d.Now, ExpiresAt: d.Now.Add(d.TTL),
	}
	seen := make(map[ID]bool, len(d.Lines))
	for _, l := range d.Lines {
		if seen[l.Product.ID] {
			return Order{}, Invalid("items", fmt.Sprintf("product %s appears twice", l.Product.ID))
		}
		seen[l.Product.ID] = true
		item, err := priceLine(l)
		if err != nil {
			return Order{}, err
		}
		if o.Total, err = o.Total.Add(item.Subtotal); err != nil {
			return Order{}, Invalid("items", "all products of an order must share one currency")
		}
		o.Items = append(o.Items, item)
	}
	// Stored items are read back in product-id order: build them that way,
	// so the order a client is given equals the one it reads later.
	slices.SortFunc(o.Items, func(a, b OrderItem) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	if err := o.Validate(); err != nil {
		return Order{}, err
	}
	return o, nil
}

// priceLine snapshots the product's name and price into an order item.
func priceLine(l OrderLine) (OrderItem, error) {
	p := l.Product
	if !p.IsActive {
		return OrderItem{}, Invalid("items", fmt.Sprintf("product %s is not available", p.ID))
	}
	if l.Quantity < 1 || l.Quantity > ItemQuantityMax {
		return OrderItem{}, Invalid("items", fmt.Sprintf("quantity of product %s must be between 1 and %d", p.ID, ItemQuantityMax))
	}
	sub, err := p.Price.Times(l.Quantity)
	if err != nil {
		return OrderItem{}, err
	}
	return OrderItem{ProductID: p.ID, ProductName: p.Name, Quantity: l.Quantity,
		UnitPrice: p.Price, Subtotal: sub}, nil
}

// Units returns the number of units of product id the order holds.
func (o Order) Units(id ID) int64 {
	var n int64
	for _, it := range o.Items {
		if it.ProductID == id {
			n += it.Quantity
		}
	}
	return n
}
