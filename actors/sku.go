package actors

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/flashstock/flashstock/engine"
)

// The SKU actor: one per product, the only writer of that product's stock.
//
// Messages it accepts (each carries a skuCall and is answered exactly once
// on its reply channel, capacity 1, so the actor never blocks on a caller):
//
//	*placeOrder    take the units of a single-product order; answered with
//	               the order after the group commit that wrote it
//	*holdStock     take units for a multi-product order being assembled;
//	               answered with the product snapshot after the hold commits
//	*releaseStock  return an order's held units to stock (no-op when none);
//	               answered after the commit
//	*updateProduct commit pending work, then apply a catalogue change or
//	               restock under the row lock; answered with the stored product
//	flush          (sent to itself) commit the open batch
//
// Group commit: work that arrives is checked against the ledger (stock
// minus units taken by uncommitted work) and joins the open batch; the
// first item of a batch sends the actor a flush message, which queues
// behind everything already in the inbox. So a lone order commits at once,
// and the orders that arrive while a commit is in flight form the next
// batch. A batch is bounded in operations and bytes; one transaction
// writes it, and every caller is answered after that commit.
//
// Failure: a batch the database refuses because of one operation (a
// unique or check violation) is split until that operation is alone: it
// gets its own error and the others commit (see commit). A commit that
// fails because the database does (engine.ErrUnavailable) answers every
// operation left with that retryable error and reloads the product from
// the database (the commit may have happened: the database is the truth).
// A product that does not exist keeps no actor: the first request finds
// that out, and the actor is removed as soon as nothing is in flight. A
// panic anywhere is recovered here, never reaching hollywood: the message
// being handled and all open work are answered with ErrUnavailable, and the
// state is reloaded on the next message. CrashesMax panics within
// CrashWindow put the actor in back-off, answering ErrUnavailable without
// doing work. The actor never assumes its memory survived: it loads the
// product lazily on the first message after a start or a crash.

// skuCall is what every request to a SKU actor carries.
type skuCall struct {
	reply     chan skuResult // capacity 1, written once
	deadline  time.Time      // the caller gives up then; zero = never
	requestID string         // of the HTTP request behind the call, for the logs
	entry     *skuEntry      // the admission to give back
	inv       *Inventory
	answered  bool // owned by the actor
}

// skuResult is a SKU actor's answer. Pointers keep it, and the reply
// channel's buffer, small; a successful placeOrder always has order, and a
// successful holdStock or updateProduct product.
type skuResult struct {
	order   *engine.Order   // placeOrder
	product *engine.Product // holdStock, updateProduct
	err     error
}

// orderOf and productOf are a result's value, or its error.
func orderOf(r skuResult, err error) (engine.Order, error) {
	if err != nil || r.order == nil {
		return engine.Order{}, resultErr(err)
	}
	return *r.order, nil
}

func productOf(r skuResult, err error) (engine.Product, error) {
	if err != nil || r.product == nil {
		return engine.Product{}, resultErr(err)
	}
	return *r.product, nil
}

// resultErr is err, or for a success without its value (a bug) an error
// rather than a zero value.
func resultErr(err error) error {
	if err == nil {
		return errors.New("actors: SKU actor answered without a value")
	}
	return err
}

// answer replies once and gives back the admission.
func (c *skuCall) answer(r skuResult) {
	if c.answered {
		return
	}
	c.answered = true
	c.inv.finish(c.entry)
	c.reply <- r
}

func (c *skuCall) fail(err error) { c.answer(skuResult{err: err}) }

// expired reports whether the caller has given up waiting.
func (c *skuCall) expired(now time.Time) bool {
	return !c.deadline.IsZero() && now.After(c.deadline)
}

type placeOrder struct {
	skuCall
	cmd       engine.PlaceOrder
	reference string
}

type holdStock struct {
	skuCall
	orderID  engine.ID
	quantity int64
	now      time.Time
}

type releaseStock struct {
	skuCall
	orderID engine.ID
}

type updateProduct struct {
	skuCall
	change func(engine.Product) (engine.Product, error)
}

type flush struct{}

// openOp is one operation of the open batch.
type openOp struct {
	call    *skuCall
	order   *engine.Order   // placeOrder
	hold    *engine.Hold    // holdStock
	release engine.ID       // releaseStock
	product *engine.Product // holdStock: the snapshot its answer carries
	units   int64           // taken from the ledger
	bytes   int             // estimated size in the commit
}

// opBytesBase estimates the fixed size of one operation in a commit.
const opBytesBase = 160

// sku is the actor's state; only its Receive touches it.
type sku struct {
	id  engine.ID
	inv *Inventory

	ledger      engine.Ledger
	loaded      bool
	open        []openOp // the open batch, in arrival order
	committing  []openOp // the batch being committed
	flushQueued bool     // a flush message is in the inbox

	current      *skuCall // the request being handled, for crash recovery
	crashes      []time.Time
	backoff      time.Duration
	backoffUntil time.Time
}

func newSKU(id engine.ID, inv *Inventory) *sku { return &sku{id: id, inv: inv} }

// Receive dispatches one message; see the protocol above.
func (a *sku) Receive(c *actor.Context) {
	defer a.recoverCrash()
	switch m := c.Message().(type) {
	case *placeOrder:
		a.current = &m.skuCall
		a.placeOrder(c, m)
	case *holdStock:
		a.current = &m.skuCall
		a.holdStock(c, m)
	case *releaseStock:
		a.current = &m.skuCall
		a.releaseStock(c, m)
	case *updateProduct:
		a.current = &m.skuCall
		a.updateProduct(m)
	case flush:
		a.flushQueued = false
		a.flush(c)
	case actor.Stopped:
		a.failAll(fmt.Errorf("%w: product %s actor stopped", engine.ErrUnavailable, a.id))
	}
	a.current = nil
}

// ready answers call with an error and returns false when the actor is in
// back-off or cannot load its product.
func (a *sku) ready(call *skuCall) bool {
	if !a.backoffUntil.IsZero() && time.Now().Before(a.backoffUntil) {
		call.fail(fmt.Errorf("%w: product %s is recovering from repeated crashes", engine.ErrUnavailable, a.id))
		return false
	}
	if a.loaded {
		return true
	}
	p, err := a.loadProduct()
	if err != nil {
		call.fail(err)
		if errors.Is(err, engine.ErrNotFound) {
			// Ids cost nothing to invent: an unknown product keeps no
			// actor. A product created under this id later gets a new
			// actor, which loads it.
			a.inv.retire(a.id, call.entry)
		}
		return false
	}
	if a.ledger, err = engine.NewLedger(p); err != nil {
		call.fail(fmt.Errorf("%w: product %s: %v", engine.ErrUnavailable, a.id, err))
		return false
	}
	a.loaded = true
	return true
}

func (a *sku) loadProduct() (engine.Product, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.inv.cfg.LoadTimeout)
	defer cancel()
	p, err := a.inv.store.Product(ctx, a.id)
	if err != nil {
		return engine.Product{}, fmt.Errorf("load product %s: %w", a.id, err)
	}
	return p, nil
}

func (a *sku) placeOrder(c *actor.Context, m *placeOrder) {
	if !a.ready(&m.skuCall) {
		return
	}
	q := m.cmd.Items[0].Quantity
	if err := a.ledger.Take(q); err != nil {
		m.fail(err)
		return
	}
	o, err := engine.NewOrder(engine.OrderDraft{ID: m.cmd.OrderID, Reference: m.reference, UserID: m.cmd.UserID,
		Lines: []engine.OrderLine{{Product: a.ledger.Product(), Quantity: q}}, Now: m.cmd.Now, TTL: a.inv.cfg.OrderTTL})
	if err != nil {
		a.ledger.Untake(q)
		m.fail(err)
		return
	}
	a.enqueue(c, openOp{call: &m.skuCall, order: &o, units: q, bytes: opBytesBase + len(o.Items[0].ProductName)})
}

func (a *sku) holdStock(c *actor.Context, m *holdStock) {
	if !a.ready(&m.skuCall) {
		return
	}
	if err := a.ledger.Take(m.quantity); err != nil {
		m.fail(err)
		return
	}
	h := engine.Hold{OrderID: m.orderID, ProductID: a.id, Quantity: m.quantity, Kind: engine.HoldAssembling, CreatedAt: m.now}
	p := a.ledger.Product()
	a.enqueue(c, openOp{call: &m.skuCall, hold: &h, product: &p, units: m.quantity, bytes: opBytesBase})
}

func (a *sku) releaseStock(c *actor.Context, m *releaseStock) {
	if !a.ready(&m.skuCall) {
		return
	}
	a.enqueue(c, openOp{call: &m.skuCall, release: m.orderID, bytes: opBytesBase})
}

// enqueue adds op to the open batch and makes sure a flush will follow.
func (a *sku) enqueue(c *actor.Context, op openOp) {
	a.open = append(a.open, op)
	if !a.flushQueued {
		a.flushQueued = true
		c.Send(c.PID(), flush{})
	}
}

func (a *sku) updateProduct(m *updateProduct) {
	if !a.ready(&m.skuCall) {
		return
	}
	for len(a.open) > 0 && a.loaded { // the change sees every earlier order committed
		a.commitNext()
	}
	if !a.loaded {
		m.fail(fmt.Errorf("%w: product %s could not commit its pending work", engine.ErrUnavailable, a.id))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.inv.cfg.CommitTimeout)
	defer cancel()
	stored, err := a.inv.store.UpdateProduct(ctx, a.id, m.change)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) {
			a.reload()
		}
		m.fail(err)
		return
	}
	if err := a.ledger.Reload(stored); err != nil {
		a.inv.log.Error().Err(err).Str("product_id", a.id.String()).Msg("ledger rejected the updated product")
		a.loaded = false
	}
	m.answer(skuResult{product: &stored})
}

// flush commits the open batch, one bounded batch at a time: if work is
// left over it sends itself another flush, queued behind newer messages.
func (a *sku) flush(c *actor.Context) {
	if len(a.open) == 0 {
		return
	}
	a.commitNext()
	if len(a.open) > 0 && !a.flushQueued {
		a.flushQueued = true
		c.Send(c.PID(), flush{})
	}
}

// commitNext commits the longest prefix of the open batch within the
// batch bounds; operations whose callers gave up are dropped first.
func (a *sku) commitNext() {
	n, bytes := 0, 0
	for n < len(a.open) && n < a.inv.cfg.BatchOrdersMax && (n == 0 || bytes+a.open[n].bytes <= a.inv.cfg.BatchBytesMax) {
		bytes += a.open[n].bytes
		n++
	}
	now := time.Now()
	for _, op := range a.open[:n] {
		if op.call.expired(now) {
			a.ledger.Untake(op.units)
			op.call.fail(fmt.Errorf("%w: gave up before the commit", engine.ErrUnavailable))
			continue
		}
		a.committing = append(a.committing, op)
	}
	// The rest moves to the front: the backing array serves the next
	// batches, and the entries behind it are cleared for the collector.
	rest := copy(a.open, a.open[n:])
	clear(a.open[rest:])
	a.open = a.open[:rest]
	if len(a.committing) > 0 {
		a.commit()
	}
}

// isolationCommitsMax bounds the commits one group commit spends on
// isolating operations the database refused (a lone operation may add
// two more, see commitAlone); beyond it, what is left fails with
// engine.ErrUnavailable.
const isolationCommitsMax = 128

// commit writes a.committing, one transaction, and answers its operations.
// One buyer never fails another: if the database refuses the batch for
// what one of its operations writes (see refused), isolate finds that
// operation and commits the others. Only when the database itself fails
// (engine.ErrUnavailable: the outcome is unknown) does every operation
// fail, and the product is reloaded.
func (a *sku) commit() {
	ops := a.committing // kept in a.committing until answered, for recoverCrash
	if err := a.commitPart(ops); err != nil {
		a.isolate(ops, err)
	}
	a.committing = reuse(ops)
}

// isolate handles a batch of ops that failed with err. If the database
// refused it, the batch is split in halves, each committed on its own, down
// to the operation at fault, which alone gets its error (commitAlone): about
// 2·log2(n) more round trips per operation at fault, none when nothing is
// refused. If the database failed, or the isolation takes more than
// isolationCommitsMax commits, every operation left fails with
// engine.ErrUnavailable and the product is reloaded.
func (a *sku) isolate(ops []openOp, err error) {
	if !refused(err) {
		a.failCommit(err, [][]openOp{ops})
		return
	}
	a.inv.log.Warn().Err(err).Str("product_id", a.id.String()).Int("operations", len(ops)).
		Msg("group commit refused; isolating the operation at fault")
	var parts [][]openOp // a stack: the first half of a split commits first
	part := ops
	for commits := 1; ; commits++ {
		switch {
		case err == nil:
		case !refused(err) || commits >= isolationCommitsMax:
			a.failCommit(err, append(parts, part))
			return
		case len(part) > 1:
			half := len(part) / 2
			parts = append(parts, part[half:], part[:half])
		default:
			if err := a.commitAlone(part[0], err); err != nil {
				a.failCommit(err, append(parts, part))
				return
			}
		}
		if len(parts) == 0 || !a.loaded { // done, or a failed reload failed the rest
			return
		}
		part = parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		err = a.commitPart(part)
	}
}

// refused reports an error by which the database refused a row that a
// batch writes: a unique violation (engine.ErrConflict) or a check
// violation (engine.ErrInvalid). Only a refusal can be one operation's
// fault; any other error (engine.ErrUnavailable: the outcome is unknown;
// a missing product; an error the store did not classify) counts as the
// database failing the whole batch.
func refused(err error) bool {
	return errors.Is(err, engine.ErrConflict) || errors.Is(err, engine.ErrInvalid)
}

// commitPart writes ops in one transaction and, once it is committed,
// settles the ledger and answers them. On error nothing was written (or,
// for engine.ErrUnavailable, nobody knows) and nobody is answered.
func (a *sku) commitPart(ops []openOp) error {
	batch, taken := a.batchOf(ops)
	start := time.Now()
	res, err := a.commitBatch(batch)
	took := time.Since(start)
	a.inv.cfg.Observer.CommitDone(len(ops), took, err)
	if err != nil {
		return err
	}
	if ev := a.inv.log.Debug(); ev.Enabled() {
		ev.Str("product_id", a.id.String()).Int("operations", len(ops)).Dur("took", took).
			Strs("request_ids", requestIDs(ops)).Msg("group commit")
	}
	a.settle(taken, res)
	for _, op := range ops {
		switch {
		case op.order != nil:
			op.call.answer(skuResult{order: op.order})
		case op.product != nil:
			op.call.answer(skuResult{product: op.product})
		default:
			op.call.answer(skuResult{})
		}
	}
	return nil
}

// batchOf is the group commit of ops and the units it takes.
func (a *sku) batchOf(ops []openOp) (engine.StockBatch, int64) {
	orders := 0
	for _, op := range ops {
		if op.order != nil {
			orders++
		}
	}
	batch := engine.StockBatch{ProductID: a.id, Orders: make([]engine.Order, 0, orders)}
	var taken int64
	for _, op := range ops {
		taken += op.units
		switch {
		case op.order != nil:
			batch.Orders = append(batch.Orders, *op.order)
		case op.hold != nil:
			batch.Holds = append(batch.Holds, *op.hold)
		default:
			batch.Releases = append(batch.Releases, op.release)
		}
	}
	return batch, taken
}

// commitAlone settles a lone operation that the database refused with
// err, after the one retry that can save it:
//
//   - an order whose reference was taken (48 random bits: rare, but no
//     reason to fail) gets a new one;
//   - a hold that collides with a hold of the same order on this product
//     replaces it: that hold is released, then the new one written. Such a
//     leftover comes from an earlier attempt of the order that died
//     between its holds and its write; the buyer's retry with the same
//     Idempotency-Key took over the key after its lease and reuses the
//     order id, before the repair loop released the old holds. Releasing
//     the leftover and taking the units afresh keeps every unit counted
//     (stock + live orders + held), whatever the two quantities; and if
//     the earlier attempt still writes its order, it consumes these holds
//     and the retry's write fails harmlessly.
//
// What is still refused is the operation's own answer (a clean
// engine.ErrConflict or engine.ErrInvalid). It returns an error, leaving
// op unanswered, only when the database failed.
func (a *sku) commitAlone(op openOp, err error) error {
	if errors.Is(err, engine.ErrConflict) {
		switch {
		case op.order != nil:
			if ref, rerr := engine.NewReference(rand.Reader); rerr == nil {
				op.order.Reference = ref
				err = a.commitPart([]openOp{op})
			}
		case op.hold != nil:
			if err = a.releaseLeftover(op.hold.OrderID); err != nil {
				break
			}
			if !a.loaded { // the release left the ledger to reload: op was failed with the rest
				return nil
			}
			err = a.commitPart([]openOp{op})
		}
	}
	if err == nil || !refused(err) {
		return err
	}
	a.inv.log.Warn().Err(err).Str("product_id", a.id.String()).Str("request_id", op.call.requestID).
		Msg("operation refused by the database; the rest of its batch went on")
	a.ledger.Untake(op.units)
	op.call.fail(err)
	return nil
}

// releaseLeftover returns to stock whatever order id holds of the product,
// in a commit of its own.
func (a *sku) releaseLeftover(id engine.ID) error {
	res, err := a.commitBatch(engine.StockBatch{ProductID: a.id, Releases: []engine.ID{id}})
	if err != nil {
		return err
	}
	if res.Released > 0 {
		a.inv.log.Info().Str("product_id", a.id.String()).Str("order_id", id.String()).Int64("units", res.Released).
			Msg("released the hold an earlier attempt of the order left behind")
	}
	a.settle(0, res)
	return nil
}

// settle records a committed batch that took taken units in the ledger;
// if the database disagrees (stock written behind the actor's back), the
// product is reloaded.
func (a *sku) settle(taken int64, res engine.StockBatchResult) {
	if err := a.ledger.Settle(taken, res); err != nil {
		a.inv.log.Error().Err(err).Str("product_id", a.id.String()).Msg("stock differs from the ledger; reloading")
		a.ledger.Untake(taken)
		a.reload()
	}
}

// failCommit answers every operation of parts with a retryable error after
// the database failed (the outcome of the last commit is unknown) and
// reloads the product.
func (a *sku) failCommit(err error, parts [][]openOp) {
	var ops []openOp
	for _, part := range parts {
		ops = append(ops, part...)
	}
	a.inv.log.Error().Err(err).Str("product_id", a.id.String()).Int("operations", len(ops)).
		Strs("request_ids", requestIDs(ops)).Msg("group commit failed")
	for _, op := range ops {
		a.ledger.Untake(op.units)
		op.call.fail(fmt.Errorf("%w: the commit of product %s failed; retry", engine.ErrUnavailable, a.id))
	}
	a.reload()
}

// requestIDsLogged bounds the request ids one commit log line names.
const requestIDsLogged = 20

// requestIDs lists the request ids of the first operations of a batch.
func requestIDs(ops []openOp) []string {
	ids := make([]string, 0, min(len(ops), requestIDsLogged))
	for _, op := range ops[:min(len(ops), requestIDsLogged)] {
		ids = append(ids, op.call.requestID)
	}
	return ids
}

// commitBatch runs one commit within CommitTimeout.
func (a *sku) commitBatch(batch engine.StockBatch) (engine.StockBatchResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.inv.cfg.CommitTimeout)
	defer cancel()
	return a.inv.store.CommitStockBatch(ctx, batch)
}

// reuse empties a batch's slice for the next batch, unless it grew beyond
// batchReuseOpsMax (a burst should not pin its memory).
func reuse(ops []openOp) []openOp {
	if cap(ops) > batchReuseOpsMax {
		return nil
	}
	clear(ops)
	return ops[:0]
}

// batchReuseOpsMax bounds the operation slices an actor keeps between
// batches.
const batchReuseOpsMax = 4096

// reload re-reads the product after a failure; if that fails too, or the
// open work no longer fits, all open work is failed and the product is
// loaded afresh on the next message.
func (a *sku) reload() {
	p, err := a.loadProduct()
	if err == nil {
		err = a.ledger.Reload(p)
	}
	if err != nil {
		a.failAll(fmt.Errorf("%w: product %s is reloading; retry", engine.ErrUnavailable, a.id))
	}
}

// failAll answers every open and committing operation with err and forgets
// the state, to be loaded again on the next message.
func (a *sku) failAll(err error) {
	for _, op := range a.committing {
		op.call.fail(err)
	}
	for _, op := range a.open {
		op.call.fail(err)
	}
	a.committing, a.open = nil, nil
	a.loaded, a.ledger = false, engine.Ledger{}
}

// recoverCrash turns a panic into failed requests and a reload, and puts
// the actor in back-off after repeated crashes.
func (a *sku) recoverCrash() {
	p := recover()
	if p == nil {
		return
	}
	a.inv.crashes.Add(1)
	a.inv.log.Error().Str("product_id", a.id.String()).Interface("panic", p).Bytes("stack", debug.Stack()).
		Msg("SKU actor crashed; failing its in-flight work and reloading")
	err := fmt.Errorf("%w: product %s actor crashed; retry", engine.ErrUnavailable, a.id)
	if a.current != nil {
		a.current.fail(err)
		a.current = nil
	}
	a.failAll(err)
	a.noteCrash(time.Now())
}

// noteCrash counts a crash in the window and starts a back-off when there
// have been too many.
func (a *sku) noteCrash(now time.Time) {
	recent := a.crashes[:0]
	for _, t := range a.crashes {
		if now.Sub(t) < a.inv.cfg.CrashWindow {
			recent = append(recent, t)
		}
	}
	a.crashes = append(recent, now)
	if len(a.crashes) < a.inv.cfg.CrashesMax {
		return
	}
	a.backoff = min(max(a.backoff*2, a.inv.cfg.CrashBackoff), crashBackoffMax)
	a.backoffUntil = now.Add(a.backoff)
	a.crashes = nil
	a.inv.log.Warn().Str("product_id", a.id.String()).Dur("backoff", a.backoff).Msg("SKU actor in back-off after repeated crashes")
}
