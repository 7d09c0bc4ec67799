package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/flashstock/flashstock/engine"
)

// The SKU actor: one per product, the only decider of that product's
// stock. It never does I/O in Receive: the loader reads its product, the
// committer writes its decisions, and an update runs on a goroutine of its
// own; each reports back with a message.
//
// Messages it accepts (requests, in sku_messages.go, carry a skuCall and
// are answered exactly once on a reply channel of their own result type,
// capacity 1, so the actor never blocks):
//
//	*placeOrder     take the units of a single-product order; answered with
//	                the order after the commit that wrote it
//	*holdStock      take units as an assembling hold (an order whose other
//	                products are written elsewhere); answered with the
//	                product snapshot after the hold commits
//	*releaseStock   return an order's held units to stock (no-op when none);
//	                answered after the commit
//	*reserveStock   take units in memory for a multi-product order that the
//	                coordinator will write in one transaction; answered at
//	                once with the product snapshot; the units stay taken
//	                until the committer reports the order's fate
//	*unreserveStock give back a reservation whose order will not be written
//	*updateProduct  commit what is open, then apply a catalogue change or
//	                restock; answered with the stored product
//	flush           (sent to itself) hand the open work to the committer
//	productLoaded   (from the loader) the product, for a first load or a reload
//	*stockCommitted (from the committer) what a transaction did to the product
//	productUpdated  (from the update goroutine) the stored product
//
// Decide, then commit: a request is checked against the ledger (stock
// minus units taken by uncommitted work) and joins the open work; the
// first one sends the actor a flush, which queues behind everything
// already in the inbox, and the flush hands the open work to the committer
// as one contribution. One contribution at a time is in flight: what
// arrives meanwhile is decided at once and forms the next contribution,
// handed over as soon as the committer reports. Callers are answered after
// the commit.
//
// Loads: until its product is loaded the actor keeps requests in arrival
// order (the stash) and answers them once the loader reports. A product
// that does not exist keeps no actor: its requests are answered
// engine.ErrNotFound and the actor is removed as soon as nothing is in
// flight. A (re)load happens only when nothing of the product is with the
// committer (no contribution, no reservation), so nothing can change the
// stock while it is read.
//
// Failure: operations the database refused get their own error; a
// transaction whose outcome is unknown fails its operations with a
// retryable engine.ErrUnavailable and the product is reloaded (the commit
// may have happened: the database is the truth). A panic anywhere is
// recovered here, never reaching hollywood: the message being handled and
// all open and stashed work are answered with ErrUnavailable, and the
// product is reloaded once nothing is with the committer. CrashesMax
// panics within CrashWindow put the actor in back-off, answering
// ErrUnavailable without doing work.

// skuOp is one decided operation of the actor, open or with the committer:
// the request it answers (which holds what is written), and its cost.
type skuOp struct {
	req   skuOpRequest // *placeOrder, *holdStock or *releaseStock
	units int64        // taken from the ledger
	bytes int          // estimated size in the commit
}

// reservation is a multi-product order's units, taken until the committer
// reports the order's fate; it holds the caller's admission.
type reservation struct {
	units int64
	entry *skuEntry
}

// opBytesBase estimates the fixed size of one operation in a commit.
const opBytesBase = 160

// sku is the actor's state; only its Receive touches it. What an idle
// actor needs is here; everything else is in skuState, which exists only
// while the actor has something to do (see wake and sleep): a million idle
// actors must fit in memory.
type sku struct {
	id        engine.ID
	inv       *Inventory
	pid       *actor.PID
	entry     *skuEntry // this incarnation's entry, where the product is published
	*skuState           // nil while asleep
}

// skuState is the state of an actor with something to do. An actor asleep
// has none: its product is entry.product (nil: not loaded) with nothing
// taken, and every other field is zero. Every field added here must be
// checked by sleep.
type skuState struct {
	ledger      engine.Ledger
	loaded      bool
	loading     bool
	stash       []skuRequest // requests waiting for a load or an update, in arrival order
	open        []skuOp
	inflight    *contribution // with the committer; at most one
	reserved    map[engine.ID]reservation
	update      *updateProduct // waiting for the open work to commit, or running
	updating    bool           // update is running
	flushQueued bool           // a flush message is in the inbox
	loadCovers  int            // stashed requests that came before the load in flight

	current      skuRequest // the request being handled, for crash recovery
	crashes      []time.Time
	backoff      time.Duration
	backoffUntil time.Time
}

func newSKU(id engine.ID, inv *Inventory) *sku { return &sku{id: id, inv: inv} }

// Receive dispatches one message; see the protocol above.
func (a *sku) Receive(c *actor.Context) {
	defer a.recoverCrash(c)
	if a.pid == nil {
		a.pid = c.PID()
	}
	switch c.Message().(type) {
	case actor.Initialized, actor.Started:
		return // nothing to do yet: stay asleep
	case actor.Stopped:
		if a.skuState == nil { // asleep: nothing to fail, the product to withdraw
			a.entry.product.Store(nil)
			return
		}
	}
	a.wake()
	switch m := c.Message().(type) {
	case skuRequest: // *placeOrder, *holdStock, *releaseStock, *reserveStock, *updateProduct
		a.request(c, m)
	case unreserveStock:
		a.unreserve(m)
		a.afterOutstanding(c)
	case flush:
		a.flushQueued = false
		a.submit()
	case productLoaded:
		a.productLoaded(c, m)
	case *stockCommitted:
		a.stockCommitted(m)
		a.afterOutstanding(c)
	case productUpdated:
		a.productUpdated(c, m)
	case actor.Stopped:
		a.failAll(fmt.Errorf("%w: product %s actor stopped", engine.ErrUnavailable, a.id))
	}
	a.current = nil
	forget(c.Message())
	a.sleep()
}

// wake gives the actor its working state back: the ledger is the
// published product (nothing is taken while asleep), or none when the
// product is not loaded.
func (a *sku) wake() {
	if a.skuState != nil {
		return
	}
	a.skuState = &skuState{}
	if a.entry == nil {
		return
	}
	if p := a.entry.product.Load(); p != nil {
		if l, err := engine.NewLedger(*p); err == nil {
			a.ledger, a.loaded = l, true
		} else {
			a.entry.product.Store(nil) // loaded again by the next request
		}
	}
}

// sleep drops the working state of an actor with nothing to do (nothing
// open, stashed, reserved, loading, with the committer or updating, no
// crash history) whose ledger wake can rebuild from the published product.
// A busy actor keeps it, with the capacity of its slices.
func (a *sku) sleep() {
	s := a.skuState
	if s == nil || a.entry == nil || s.loading || len(s.stash) > 0 || len(s.open) > 0 ||
		s.inflight != nil || len(s.reserved) > 0 || s.update != nil || s.updating || s.flushQueued ||
		s.current != nil || len(s.crashes) > 0 || s.backoff != 0 || !s.backoffUntil.IsZero() {
		return
	}
	snap := a.entry.product.Load()
	if s.loaded != (snap != nil) || s.loaded && (s.ledger.Taken() != 0 || *snap != s.ledger.Product()) {
		return
	}
	a.skuState = nil
}

// forget drops what a handled committer report points to (the actor's
// contribution: its operations, orders and callers): hollywood's context
// keeps an actor's last message until the next one, for an idle actor
// until it stops.
func forget(m any) {
	if r, ok := m.(*stockCommitted); ok {
		r.own, r.reserved = nil, nil
	}
}

// request handles a request now, or stashes it until the product is loaded
// and no update is pending.
func (a *sku) request(c *actor.Context, m skuRequest) {
	a.current = m
	if a.entry == nil {
		a.entry = m.call().entry
	}
	if !a.backoffUntil.IsZero() && time.Now().Before(a.backoffUntil) {
		m.fail(fmt.Errorf("%w: product %s is recovering from repeated crashes", engine.ErrUnavailable, a.id))
		return
	}
	if !a.loaded || a.update != nil {
		a.stash = append(a.stash, m)
		a.afterOutstanding(c)
		return
	}
	if k := a.inv.cfg.Knobs; k != nil && k.BeforeDecide != nil {
		k.BeforeDecide(a.id)
	}
	switch m := m.(type) {
	case *placeOrder:
		a.placeOrder(c, m)
	case *holdStock:
		a.holdStock(c, m)
	case *releaseStock:
		a.enqueue(c, skuOp{req: m, bytes: opBytesBase})
	case *reserveStock:
		a.reserve(m)
	case *updateProduct:
		a.update = m
		a.afterOutstanding(c)
	}
}

func (a *sku) placeOrder(c *actor.Context, m *placeOrder) {
	q := m.cmd.Items[0].Quantity
	if err := a.ledger.Take(q); err != nil {
		m.fail(err)
		return
	}
	var err error
	m.order, err = engine.NewOrder(engine.OrderDraft{ID: m.cmd.OrderID, Reference: m.reference, UserID: m.cmd.UserID,
		Lines: []engine.OrderLine{{Product: a.ledger.Product(), Quantity: q}}, Now: m.cmd.Now, TTL: a.inv.cfg.OrderTTL})
	if err != nil {
		a.ledger.Untake(q)
		m.fail(err)
		return
	}
	a.enqueue(c, skuOp{req: m, units: q, bytes: opBytesBase + len(m.order.Items[0].ProductName)})
}

func (a *sku) holdStock(c *actor.Context, m *holdStock) {
	if err := a.ledger.Take(m.quantity); err != nil {
		m.fail(err)
		return
	}
	m.hold = engine.Hold{OrderID: m.orderID, ProductID: a.id, Quantity: m.quantity, Kind: engine.HoldAssembling, CreatedAt: m.now}
	m.product = a.ledger.Product()
	a.enqueue(c, skuOp{req: m, units: m.quantity, bytes: opBytesBase})
}

// reserve takes a multi-product order's units in memory and answers with
// the product (its name and price go into the order); the units and the
// caller's admission stay taken until the committer reports the order or
// the coordinator gives them back.
func (a *sku) reserve(m *reserveStock) {
	if _, dup := a.reserved[m.orderID]; dup {
		m.fail(engine.WithDetail(fmt.Errorf("order %s already holds units of product %s: %w", m.orderID, a.id, engine.ErrConflict),
			"this order is already being placed; retry later"))
		return
	}
	if err := a.ledger.Take(m.quantity); err != nil {
		m.fail(err)
		return
	}
	if a.reserved == nil {
		a.reserved = map[engine.ID]reservation{}
	}
	a.reserved[m.orderID] = reservation{units: m.quantity, entry: m.entry}
	m.reserved(a.ledger.Product())
}

// unreserve gives back a reservation (none: nothing to do) and its
// admission.
func (a *sku) unreserve(m unreserveStock) {
	if r, ok := a.reserved[m.orderID]; ok {
		delete(a.reserved, m.orderID)
		a.untake(r.units)
		a.inv.finish(r.entry)
		return
	}
	// Not reserved yet: the reservation may still wait in the stash (for
	// the product's load) while its caller gave up. It must not be made
	// after its give-back has passed.
	for i, sm := range a.stash {
		if r, ok := sm.(*reserveStock); ok && r.orderID == m.orderID {
			a.stash = append(a.stash[:i], a.stash[i+1:]...)
			if i < a.loadCovers {
				a.loadCovers--
			}
			r.fail(fmt.Errorf("%w: the order gave its reservation back before it was made", engine.ErrUnavailable))
			return
		}
	}
}

// enqueue adds op to the open work and makes sure a flush will follow.
func (a *sku) enqueue(c *actor.Context, op skuOp) {
	a.open = append(a.open, op)
	if !a.flushQueued {
		a.flushQueued = true
		c.Send(c.PID(), flush{})
	}
}

// submit hands the longest prefix of the open work within the batch bounds
// to the committer, unless a contribution is in flight already (the next
// goes when it reports) or the product is not ready. Operations whose
// callers gave up are dropped first.
func (a *sku) submit() {
	if !a.loaded || a.inflight != nil || a.updating || len(a.open) == 0 {
		return
	}
	n, bytes := 0, 0
	for n < len(a.open) && n < a.inv.cfg.BatchOrdersMax && (n == 0 || bytes+a.open[n].bytes <= a.inv.cfg.BatchBytesMax) {
		bytes += a.open[n].bytes
		n++
	}
	now := time.Now()
	ct := &contribution{pid: a.pid, product: a.id, ops: make([]skuOp, 0, n)}
	ct.item = commitItem{actor: ct, products: []engine.ID{a.id}, ops: make([]*commitOp, 0, n)}
	for _, op := range a.open[:n] {
		call := op.req.call()
		if call.expired(now) {
			a.ledger.Untake(op.units)
			op.req.fail(fmt.Errorf("%w: gave up before the commit", engine.ErrUnavailable))
			continue
		}
		cop := &commitOp{item: &ct.item, requestID: call.requestID}
		op.req.write(cop)
		ct.ops = append(ct.ops, op)
		ct.item.ops = append(ct.item.ops, cop)
		ct.item.bytes += op.bytes
	}
	rest := copy(a.open, a.open[n:])
	clear(a.open[rest:])
	a.open = a.open[:rest]
	if len(ct.ops) == 0 {
		return
	}
	if err := a.inv.committer.submit(&ct.item); err != nil {
		for _, op := range ct.ops {
			a.ledger.Untake(op.units)
			op.req.fail(err)
		}
		return
	}
	a.inflight = ct
}

// stockCommitted takes the committer's report: it brings the ledger to the
// stock the database returned and publishes it, then answers the actor's
// own operations (so a read after an answer sees the order), and settles
// the reservations it names.
func (a *sku) stockCommitted(m *stockCommitted) {
	var taken int64
	ct := m.own
	if ct != nil {
		if ct == a.inflight {
			a.inflight = nil
		}
		for i, op := range ct.ops {
			if ct.item.ops[i].err != nil {
				a.untake(op.units)
			} else {
				taken += op.units
			}
		}
	}
	for _, rd := range m.reserved {
		r, ok := a.reserved[rd.orderID]
		if !ok {
			continue // given back already: the coordinator gave up, the committer did not
		}
		delete(a.reserved, rd.orderID)
		a.inv.finish(r.entry)
		if rd.err != nil {
			a.untake(r.units)
		} else {
			taken += r.units
		}
	}
	switch {
	case m.unknown:
		a.unload()
	case m.committed && a.loaded:
		a.settle(taken, m.stock)
		if a.entry != nil {
			a.entry.changed.Store(true)
		}
		a.publish()
	}
	if ct != nil {
		answerCommitted(ct)
	}
}

// answerCommitted answers each operation of a contribution with its
// outcome.
func answerCommitted(ct *contribution) {
	for i, op := range ct.ops {
		if err := ct.item.ops[i].err; err != nil {
			op.req.fail(err)
		} else {
			op.req.committed()
		}
	}
}

// untake gives back units of work that will not be committed.
func (a *sku) untake(units int64) {
	if a.loaded {
		a.ledger.Untake(units)
	}
}

// settle records committed work in the ledger. If the database disagrees
// (stock written behind the actor's back), its stock is the truth: no
// other transaction touches the product while this one is reported.
func (a *sku) settle(taken int64, r engine.StockCommitted) {
	err := a.ledger.Settle(taken, r)
	if err == nil {
		return
	}
	a.inv.log.Error().Err(err).Str("product_id", a.id.String()).Msg("stock differs from the ledger; taking the database's")
	a.ledger.Untake(min(taken, a.ledger.Taken()))
	p := a.ledger.Product()
	p.Stock = r.Stock
	if err := a.ledger.Reload(p); err != nil {
		a.unload()
	}
}

// unload forgets the product (its ledger can no longer be trusted): open
// work fails, and the product is loaded again when a request needs it,
// once nothing of it is with the committer.
func (a *sku) unload() {
	a.failOpen(fmt.Errorf("%w: product %s is reloading; retry", engine.ErrUnavailable, a.id))
	a.loaded, a.ledger = false, engine.Ledger{}
	a.publish()
}

// afterOutstanding moves on once the committer has nothing of the
// product: a (re)load that stashed requests wait for, a pending update, or
// the next contribution. A load is never started for no request: an actor
// loading holds no admission and could be stopped meanwhile.
func (a *sku) afterOutstanding(c *actor.Context) {
	if a.inflight != nil || len(a.reserved) > 0 {
		return
	}
	switch {
	case !a.loaded:
		if !a.loading && len(a.stash) > 0 { // loaded when a request needs it, not before
			a.load(c)
		}
	case a.update != nil && !a.updating:
		if len(a.open) > 0 {
			a.submit() // the change sees every earlier decision committed
			return
		}
		a.runUpdate(c)
	default:
		a.submit()
	}
}

// load asks the loader for the product.
func (a *sku) load(c *actor.Context) {
	if a.loading {
		return
	}
	if err := a.inv.loader.load(a.id, c.PID()); err != nil {
		a.failStash(err)
		return
	}
	a.loading, a.loadCovers = true, len(a.stash)
}

// productLoaded starts (or restarts) the ledger and replays the stash.
func (a *sku) productLoaded(c *actor.Context, m productLoaded) {
	a.loading = false
	if m.err == nil {
		if a.ledger, m.err = engine.NewLedger(m.product); m.err != nil {
			m.err = fmt.Errorf("%w: %v", engine.ErrUnavailable, m.err)
		}
	}
	if m.err != nil {
		// Only the requests that came before the load asked are answered
		// with its error: a later one may have come after the product was
		// created, and needs a read of its own.
		covered := a.stash[:min(a.loadCovers, len(a.stash))]
		a.stash = a.stash[len(covered):]
		for _, sm := range covered {
			sm.fail(m.err)
		}
		switch {
		case len(a.stash) > 0:
			a.afterOutstanding(c)
		case errors.Is(m.err, engine.ErrNotFound) && a.entry != nil:
			// Ids cost nothing to invent: an unknown product keeps no
			// actor. A product created under this id later gets a new
			// actor, which loads it.
			a.inv.retire(a.id, a.entry)
		}
		return
	}
	a.loaded = true
	a.publish()
	a.replay(c)
}

// publish makes the ledger's product (as last committed) readable from
// memory, or withdraws it while the product is not loaded.
func (a *sku) publish() {
	if a.entry == nil {
		return
	}
	if !a.loaded {
		a.entry.product.Store(nil)
		return
	}
	p := a.ledger.Product()
	a.entry.product.Store(&p)
}

// replay handles the stashed requests in arrival order, as long as they
// can be (an update among them stashes the rest again). One at a time off
// the stash: if one panics, the others are still there to be answered.
func (a *sku) replay(c *actor.Context) {
	for n := len(a.stash); n > 0 && a.loaded && a.update == nil; n-- {
		m := a.stash[0]
		a.stash[0] = nil
		a.stash = a.stash[1:]
		a.request(c, m)
	}
	a.afterOutstanding(c)
}

// runUpdate applies the pending update on a goroutine of its own: the
// change reads and writes the row under its lock, with nothing of the
// product with the committer.
func (a *sku) runUpdate(c *actor.Context) {
	a.updating = true
	m, pid, system := a.update, c.PID(), c.Engine()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.inv.cfg.CommitTimeout)
		defer cancel()
		p, err := a.inv.store.UpdateProduct(ctx, a.id, m.change)
		system.Send(pid, productUpdated{product: p, err: err})
	}()
}

// productUpdated answers the update and replays what waited for it.
func (a *sku) productUpdated(c *actor.Context, m productUpdated) {
	up := a.update
	a.update, a.updating = nil, false
	switch {
	case m.err != nil:
		if errors.Is(m.err, engine.ErrUnavailable) {
			a.unload() // the outcome is unknown
		}
		up.fail(m.err)
	case !a.loaded:
		up.updated(m.product)
	default:
		if err := a.ledger.Reload(m.product); err != nil {
			a.inv.log.Error().Err(err).Str("product_id", a.id.String()).Msg("ledger rejected the updated product")
			a.unload()
		}
		a.publish()
		up.updated(m.product)
	}
	a.replay(c)
}

// failOpen answers every open operation with err.
func (a *sku) failOpen(err error) {
	for _, op := range a.open {
		op.req.fail(err)
	}
	a.open = nil
}

// failStash answers every stashed request with err.
func (a *sku) failStash(err error) {
	for _, m := range a.stash {
		m.fail(err)
	}
	a.stash = nil
}

// failAll answers every request the actor holds (open and stashed) with
// err and forgets the product, to be loaded again when needed. Work with
// the committer is answered when it reports.
func (a *sku) failAll(err error) {
	a.failOpen(err)
	a.failStash(err)
	if a.update != nil && !a.updating {
		a.update.fail(err)
		a.update = nil
	}
	a.loaded, a.ledger = false, engine.Ledger{}
	a.publish()
}

// recoverCrash turns a panic into failed requests and a reload, and puts
// the actor in back-off after repeated crashes.
func (a *sku) recoverCrash(c *actor.Context) {
	p := recover()
	if p == nil {
		return
	}
	a.wake() // in case the panic came before Receive woke it
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
