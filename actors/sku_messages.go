package actors

import (
	"time"

	"github.com/flashstock/flashstock/engine"
)

// The SKU actor's requests and their replies (the protocol is in sku.go).
// Each request is a pointer to its own message type, answered exactly once
// on a reply channel of its own result type (capacity 1, so the actor never
// blocks): placeOrder with a placeOrderResult, holdStock, reserveStock and
// updateProduct with a productResult, releaseStock with an error. A result
// points into its message (the order or product the actor decided), so an
// answer allocates nothing.

// skuCall is the bookkeeping every request carries.
type skuCall struct {
	deadline  time.Time // the caller gives up then; zero = never
	requestID string    // of the HTTP request behind the call, for the logs
	entry     *skuEntry // the admission to give back
	inv       *Inventory
	answered  bool // owned by the actor
}

// skuRequest is a request message, as the actor handles it whatever its
// kind: stashed, failed, recovered from a crash.
type skuRequest interface {
	call() *skuCall
	// fail answers the request with err, unless it was answered already.
	fail(err error)
}

// skuOpRequest is a request that becomes an operation of the actor's next
// contribution to the committer.
type skuOpRequest interface {
	skuRequest
	// write sets what the committer writes for it (op's order, hold or
	// release).
	write(op *commitOp)
	// committed answers it after the transaction that wrote it.
	committed()
}

var (
	_ skuOpRequest = (*placeOrder)(nil)
	_ skuOpRequest = (*holdStock)(nil)
	_ skuOpRequest = (*releaseStock)(nil)
	_ skuRequest   = (*reserveStock)(nil)
	_ skuRequest   = (*updateProduct)(nil)
)

func (c *skuCall) call() *skuCall { return c }

// answer marks the call answered and gives back its admission; false when
// it was answered already (the caller is not answered twice).
func (c *skuCall) answer() bool {
	if c.answered {
		return false
	}
	c.answered = true
	c.inv.finish(c.entry)
	return true
}

// answerHolding is answer keeping the admission: the actor must not be
// passivated while it holds a reservation, which gives it back when done.
func (c *skuCall) answerHolding() bool {
	if c.answered {
		return false
	}
	c.answered = true
	return true
}

// expired reports whether the caller has given up waiting.
func (c *skuCall) expired(now time.Time) bool {
	return !c.deadline.IsZero() && now.After(c.deadline)
}

// placeOrder takes the units of a single-product order.
type placeOrder struct {
	skuCall
	reply     chan placeOrderResult
	cmd       engine.PlaceOrder
	reference string
	// order is the order the actor decided; the committer writes it (and
	// may give it a new reference) before it is answered.
	order engine.Order
}

// placeOrderResult answers placeOrder: the order as committed, or why not.
type placeOrderResult struct {
	order *engine.Order // the message's order; set when err is nil
	err   error
}

func (m *placeOrder) fail(err error) {
	if m.answer() {
		m.reply <- placeOrderResult{err: err}
	}
}

func (m *placeOrder) write(op *commitOp) { op.order = &m.order }

func (m *placeOrder) committed() {
	if m.answer() {
		m.reply <- placeOrderResult{order: &m.order}
	}
}

// holdStock takes units as an assembling hold.
type holdStock struct {
	skuCall
	reply    chan productResult
	orderID  engine.ID
	quantity int64
	now      time.Time
	hold     engine.Hold    // decided by the actor
	product  engine.Product // the snapshot the answer carries
}

// productResult answers holdStock, reserveStock and updateProduct: the
// product, or why not.
type productResult struct {
	product *engine.Product // the message's product; set when err is nil
	err     error
}

func (m *holdStock) fail(err error) {
	if m.answer() {
		m.reply <- productResult{err: err}
	}
}

func (m *holdStock) write(op *commitOp) { op.hold = &m.hold }

func (m *holdStock) committed() {
	if m.answer() {
		m.reply <- productResult{product: &m.product}
	}
}

// releaseStock returns an order's held units of the product to stock.
type releaseStock struct {
	skuCall
	reply   chan error
	release engine.StockRelease
}

func (m *releaseStock) fail(err error) {
	if m.answer() {
		m.reply <- err
	}
}

func (m *releaseStock) write(op *commitOp) { op.release = &m.release }

func (m *releaseStock) committed() {
	if m.answer() {
		m.reply <- nil
	}
}

// reserveStock takes units in memory for a multi-product order.
type reserveStock struct {
	skuCall
	reply    chan productResult
	orderID  engine.ID
	quantity int64
	product  engine.Product // the snapshot the answer carries
}

func (m *reserveStock) fail(err error) {
	if m.answer() {
		m.reply <- productResult{err: err}
	}
}

// reserved answers with the product, keeping the admission for the
// reservation.
func (m *reserveStock) reserved(p engine.Product) {
	if m.answerHolding() {
		m.product = p
		m.reply <- productResult{product: &m.product}
	}
}

// unreserveStock gives back a reservation; it carries no call (nothing
// waits for it, and it needs no admission: the reservation holds one).
type unreserveStock struct {
	orderID engine.ID
}

// updateProduct applies a catalogue change or restock.
type updateProduct struct {
	skuCall
	reply   chan productResult
	change  func(engine.Product) (engine.Product, error)
	product engine.Product // as stored, for the answer
}

func (m *updateProduct) fail(err error) {
	if m.answer() {
		m.reply <- productResult{err: err}
	}
}

// updated answers with the stored product.
func (m *updateProduct) updated(p engine.Product) {
	if m.answer() {
		m.product = p
		m.reply <- productResult{product: &m.product}
	}
}

type flush struct{}

// productUpdated reports an update run off the actor.
type productUpdated struct {
	product engine.Product
	err     error
}

// orderOf and productOf are a result's value, or its error (or the wait's).
func orderOf(r placeOrderResult, err error) (engine.Order, error) {
	if err == nil {
		err = r.err
	}
	if err != nil {
		return engine.Order{}, err
	}
	return *r.order, nil
}

func productOf(r productResult, err error) (engine.Product, error) {
	if err == nil {
		err = r.err
	}
	if err != nil {
		return engine.Product{}, err
	}
	return *r.product, nil
}
