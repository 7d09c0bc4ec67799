package actors

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// The committer is the node's commit pipeline: the one place that writes
// stock. SKU actors decide (their ledgers say whether units are there) and
// hand it what they decided; the order coordinator hands it multi-product
// orders reserved on several actors. It writes the work of many actors in
// one transaction (one pipelined round trip, ending in one Sync) and, after
// COMMIT, tells every actor whose product the transaction touched
// (stockCommitted) and every coordinator its order's fate. Work that
// arrives while a transaction is in flight forms the next one.
//
// Protocol (nothing here blocks an actor: submit never waits):
//
//	submit(item)   queue an item: an actor's contribution or a multi-product
//	               order; refused with engine.ErrOverloaded beyond
//	               CommitQueueOpsMax queued operations
//	→ stockCommitted to the actor of every product the transaction touched,
//	  with the outcome of its own operations and of the reservations of
//	  multi-product orders on it; a multi-product order's coordinator gets
//	  its outcome on the item's reply channel.
//
// Exclusivity: a product is in at most one transaction at a time (each
// worker's transaction holds its products until it has reported), so the
// stock a transaction returns for a product is exactly what that product's
// actor must settle with, and two transactions never wait on each other's
// row locks. With one worker (the default) this is simply one transaction
// after the other.
//
// Failure: a transaction the database refuses because of one operation (a
// unique or check violation) is split until that operation is alone: it
// gets its own error and the others commit. A lone order whose reference
// was taken gets a new one; a lone hold that collides with a hold of the
// same order (a retry over a crashed attempt) releases that leftover
// first. A transaction that fails because the database does
// (engine.ErrUnavailable: the outcome is unknown) fails every operation
// left with that retryable error and tells their actors to reload.
type committer struct {
	store  SKUStore
	system *actor.Engine
	cfg    Config
	log    zerolog.Logger
	owners *ownership  // the epochs commits are fenced with
	lost   func([]int) // told of shards a fenced commit lost

	mu        sync.Mutex
	cond      *sync.Cond
	queue     []*commitItem          // guarded by mu, in arrival order
	queuedOps int                    // guarded by mu
	busy      map[engine.ID]struct{} // products in a transaction in flight; guarded by mu
	closed    bool                   // guarded by mu
	workers   sync.WaitGroup
}

// commitItem is one unit of work: an actor's contribution (ops on its own
// product) or a multi-product order (one op touching several products).
type commitItem struct {
	ops      []*commitOp
	products []engine.ID // products the item touches, each once
	// contribution: the actor to tell (nil for a multi-product order).
	actor *contribution
	// multi: the coordinator's reply (capacity 1) and the actors holding its
	// reservations, by product.
	reply    chan error
	reserved map[engine.ID]*actor.PID
	bytes    int // estimated size in the transaction
}

// commitOp is one operation: exactly one of order, hold, release is set.
// err is its outcome, written by the committer before it reports.
type commitOp struct {
	order     *engine.Order
	hold      *engine.Hold
	release   *engine.StockRelease
	item      *commitItem
	requestID string // of the HTTP request behind it, for the logs
	err       error
	done      bool
}

// contribution is what one SKU actor hands the committer: its decided
// operations, and where to report.
type contribution struct {
	pid     *actor.PID
	product engine.ID
	ops     []skuOp // the actor's view of its operations, index-aligned with item.ops
	item    commitItem
}

// stockCommitted tells a SKU actor what a transaction (or, after a split,
// the transactions of one round) did to its product.
type stockCommitted struct {
	own       *contribution     // the actor's contribution in this round; nil if none
	reserved  []reservationDone // multi-product orders reserved on it, in this round
	committed bool              // some operation on the product was committed: stock is valid
	stock     engine.StockCommitted
	unknown   bool // an outcome on the product is unknown: reload it from the database
}

// reservationDone is the outcome of a multi-product order for one of the
// actors it reserved units on.
type reservationDone struct {
	orderID engine.ID
	err     error
}

func newCommitter(store SKUStore, system *actor.Engine, cfg Config, log zerolog.Logger) *committer {
	c := &committer{store: store, system: system, cfg: cfg, log: log, busy: map[engine.ID]struct{}{}}
	c.cond = sync.NewCond(&c.mu)
	for range cfg.Committers {
		c.workers.Go(c.work)
	}
	return c
}

// submit queues an item, or refuses it when the queue is full or closed.
func (c *committer) submit(it *commitItem) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return fmt.Errorf("%w: shutting down", engine.ErrUnavailable)
	case c.queuedOps+len(it.ops) > c.cfg.CommitQueueOpsMax:
		return fmt.Errorf("%w: %d operations waiting to be committed", engine.ErrOverloaded, c.queuedOps)
	}
	c.queue = append(c.queue, it)
	c.queuedOps += len(it.ops)
	c.cond.Signal()
	return nil
}

// queued returns the operations waiting for a transaction.
func (c *committer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queuedOps
}

// close lets the workers finish what is queued, then stops them.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.workers.Wait()
}

// work is one worker: it takes the next transaction's items, commits them
// and reports, until closed with nothing left.
func (c *committer) work() {
	for {
		items := c.next()
		if items == nil {
			return
		}
		c.commitRound(items)
		c.mu.Lock()
		for _, it := range items {
			for _, p := range it.products {
				delete(c.busy, p)
			}
		}
		c.cond.Broadcast() // queued items waiting on these products may go now
		c.mu.Unlock()
	}
}

// next waits for work and takes the items of the next transaction: in
// arrival order, skipping those whose products are in another worker's
// transaction, within the batch bounds. It returns nil once closed and
// drained.
func (c *committer) next() []*commitItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if items := c.takeLocked(); len(items) > 0 {
			return items
		}
		if c.closed && len(c.queue) == 0 {
			return nil
		}
		c.cond.Wait()
	}
}

// takeLocked takes what the next transaction can carry; c.mu is held.
func (c *committer) takeLocked() []*commitItem {
	var items []*commitItem
	ops, bytes := 0, 0
	products := map[engine.ID]struct{}{}
	rest := c.queue[:0]
	for i, it := range c.queue {
		full := ops > 0 && (ops+len(it.ops) > c.cfg.BatchOrdersMax || bytes+it.bytes > c.cfg.BatchBytesMax ||
			len(products)+len(it.products) > c.cfg.BatchProductsMax)
		if full {
			rest = append(rest, c.queue[i:]...)
			break
		}
		if c.isBusy(it) {
			rest = append(rest, it)
			continue
		}
		items = append(items, it)
		ops, bytes = ops+len(it.ops), bytes+it.bytes
		for _, p := range it.products {
			products[p] = struct{}{}
		}
	}
	clear(c.queue[len(rest):])
	c.queue = rest
	c.queuedOps -= ops
	for p := range products {
		c.busy[p] = struct{}{}
	}
	return items
}

func (c *committer) isBusy(it *commitItem) bool {
	for _, p := range it.products {
		if _, ok := c.busy[p]; ok {
			return true
		}
	}
	return false
}

// productRound is what one round did to one product.
type productRound struct {
	committed bool
	stock     engine.StockCommitted
	released  int64
	unknown   bool
}

// commitRound writes the items' operations, splitting on refusals, then
// reports to every actor and coordinator concerned.
func (c *committer) commitRound(items []*commitItem) {
	var ops []*commitOp
	for _, it := range items {
		ops = append(ops, it.ops...)
	}
	rounds := map[engine.ID]*productRound{}
	for _, it := range items {
		for _, p := range it.products {
			rounds[p] = &productRound{}
		}
	}
	c.commitAll(ops, rounds)
	c.report(items, rounds)
}

// isolationCommitsMax bounds the commits one round spends on isolating
// operations the database refused; beyond it, what is left fails with
// engine.ErrUnavailable (and its actors reload).
const isolationCommitsMax = 128

// commitAll commits ops, isolating refused ones: if the database refuses
// a transaction for what one operation writes, it is split in halves, each
// committed on its own, down to the operation at fault (about 2·log2(n)
// more round trips per operation at fault, none when nothing is refused).
// If the database fails, or the isolation takes more than
// isolationCommitsMax commits, every operation left fails with a
// retryable error and its products are marked unknown.
func (c *committer) commitAll(ops []*commitOp, rounds map[engine.ID]*productRound) {
	parts := [][]*commitOp{ops} // a stack: the first half of a split commits first
	for commits := 0; len(parts) > 0; commits++ {
		part := parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		err := c.commitPart(part, rounds)
		var fenced *engine.FencedError
		switch {
		case err == nil:
		case errors.As(err, &fenced):
			if keep := c.fenced(part, fenced.Shards, rounds); len(keep) > 0 {
				parts = append(parts, keep)
			}
		case !refused(err) || commits >= isolationCommitsMax:
			c.log.Error().Err(err).Int("operations", len(part)).Strs("request_ids", opRequestIDs(part)).
				Msg("group commit failed")
			for _, rest := range append(parts, part) {
				c.fail(rest, fmt.Errorf("%w: the commit failed; retry", engine.ErrUnavailable), rounds)
			}
			return
		case len(part) > 1:
			if commits == 0 {
				c.log.Warn().Err(err).Int("operations", len(part)).Msg("group commit refused; isolating the operation at fault")
			}
			half := len(part) / 2
			parts = append(parts, part[half:], part[:half])
		default:
			if err := c.commitAlone(part[0], err, rounds); err != nil {
				c.fail(part, fmt.Errorf("%w: the commit failed; retry", engine.ErrUnavailable), rounds)
				for _, rest := range parts {
					c.fail(rest, fmt.Errorf("%w: the commit failed; retry", engine.ErrUnavailable), rounds)
				}
				return
			}
		}
	}
}

// refused reports an error by which the database refused a row that a
// transaction writes: a unique violation (engine.ErrConflict) or a check
// violation (engine.ErrInvalid). Only a refusal can be one operation's
// fault; any other error counts as the database failing the transaction.
func refused(err error) bool {
	return errors.Is(err, engine.ErrConflict) || errors.Is(err, engine.ErrInvalid)
}

// commitPart writes ops in one transaction; on success it marks them done
// and records the stock of every product it touched.
func (c *committer) commitPart(ops []*commitOp, rounds map[engine.ID]*productRound) error {
	var sc engine.StockCommit
	var ok bool
	if sc.Fence, ok = c.owners.fence(c.shardsOf(ops)); !ok {
		// A shard was lost since these operations were admitted: they
		// fail, the rest is committed.
		ops = c.dropUnowned(ops, rounds)
		if len(ops) == 0 {
			return nil
		}
		sc.Fence, _ = c.owners.fence(c.shardsOf(ops))
	}
	for _, op := range ops {
		switch {
		case op.order != nil:
			sc.Orders = append(sc.Orders, *op.order)
		case op.hold != nil:
			sc.Holds = append(sc.Holds, *op.hold)
		default:
			sc.Releases = append(sc.Releases, *op.release)
		}
	}
	start := time.Now()
	res, err := c.commitStock(sc)
	took := time.Since(start)
	c.cfg.Observer.CommitDone(len(ops), took, err)
	if err != nil {
		return err
	}
	if ev := c.log.Debug(); ev.Enabled() {
		ev.Int("operations", len(ops)).Int("products", len(res)).Dur("took", took).
			Strs("request_ids", opRequestIDs(ops)).Msg("group commit")
	}
	for _, op := range ops {
		op.done = true
	}
	for _, r := range res {
		if pr := rounds[r.ProductID]; pr != nil {
			pr.committed, pr.stock = true, r
			pr.released += r.Released
		}
	}
	return nil
}

// shardsOf lists the shards of the products ops touch (with repeats).
func (c *committer) shardsOf(ops []*commitOp) []int {
	if !c.owners.enabled.Load() {
		return nil
	}
	var shards []int
	for _, op := range ops {
		for _, p := range op.products() {
			shards = append(shards, engine.ShardOf(p, c.cfg.Shards))
		}
	}
	return shards
}

// touches reports whether op touches a product of one of shards.
func (c *committer) touches(op *commitOp, shards []int) bool {
	for _, p := range op.products() {
		if slices.Contains(shards, engine.ShardOf(p, c.cfg.Shards)) {
			return true
		}
	}
	return false
}

// dropUnowned fails the operations that touch a shard this node no
// longer owns and returns the others.
func (c *committer) dropUnowned(ops []*commitOp, rounds map[engine.ID]*productRound) []*commitOp {
	var keep, drop []*commitOp
	for _, op := range ops {
		owned := true
		for _, p := range op.products() {
			owned = owned && c.owners.owns(engine.ShardOf(p, c.cfg.Shards))
		}
		if owned {
			keep = append(keep, op)
		} else {
			drop = append(drop, op)
		}
	}
	if len(drop) > 0 {
		c.owners.rejections.Add(1) // refused here, before the database would have
	}
	c.fail(drop, errNotOwner, rounds)
	return keep
}

// fenced handles a transaction refused because shards' epochs moved on:
// those shards are lost, the operations touching them fail with a
// retryable error (the new owner will answer), and the others are
// returned to be committed without them.
func (c *committer) fenced(ops []*commitOp, stale []int, rounds map[engine.ID]*productRound) []*commitOp {
	c.owners.rejections.Add(1)
	c.log.Warn().Ints("shards", stale).Int("operations", len(ops)).Strs("request_ids", opRequestIDs(ops)).
		Msg("commit fenced: another node owns these shards now")
	if c.lost != nil {
		c.lost(stale)
	}
	var keep, drop []*commitOp
	for _, op := range ops {
		if c.touches(op, stale) {
			drop = append(drop, op)
		} else {
			keep = append(keep, op)
		}
	}
	c.fail(drop, fmt.Errorf("%w: %w", errNotOwner, &engine.FencedError{Shards: stale}), rounds)
	return keep
}

// commitStock runs one transaction within CommitTimeout. A panic below it
// is an unknown outcome, not the end of the process.
func (c *committer) commitStock(sc engine.StockCommit) (res []engine.StockCommitted, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CommitTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			c.log.Error().Interface("panic", p).Bytes("stack", debug.Stack()).Msg("commit panicked")
			res, err = nil, fmt.Errorf("%w: the commit panicked", engine.ErrUnavailable)
		}
	}()
	return c.store.CommitStock(ctx, sc)
}

// commitAlone settles a lone operation that the database refused with
// err, after the one retry that can save it:
//
//   - an order whose reference was taken (48 random bits: rare, but no
//     reason to fail) gets a new one;
//   - a hold that collides with a hold of the same order on its product
//     replaces it: that hold is released, then the new one written. Such a
//     leftover comes from an earlier attempt of the order that died
//     between its holds and its write; the buyer's retry with the same
//     Idempotency-Key took over the key after its lease and reuses the
//     order id, before the repair loop released the old holds. Releasing
//     the leftover and taking the units afresh keeps every unit counted
//     (stock + live orders + held), whatever the two quantities.
//
// What is still refused is the operation's own outcome (a clean
// engine.ErrConflict or engine.ErrInvalid). It returns an error only when
// the database failed.
func (c *committer) commitAlone(op *commitOp, err error, rounds map[engine.ID]*productRound) error {
	if errors.Is(err, engine.ErrConflict) {
		switch {
		case op.order != nil:
			if ref, rerr := engine.NewReference(rand.Reader); rerr == nil {
				op.order.Reference = ref
				err = c.commitPart([]*commitOp{op}, rounds)
			}
		case op.hold != nil:
			leftover := &commitOp{release: &engine.StockRelease{OrderID: op.hold.OrderID, ProductID: op.hold.ProductID}}
			if err = c.commitPart([]*commitOp{leftover}, rounds); err != nil {
				break
			}
			c.log.Info().Str("product_id", op.hold.ProductID.String()).Str("order_id", op.hold.OrderID.String()).
				Msg("released the hold an earlier attempt of the order left behind")
			err = c.commitPart([]*commitOp{op}, rounds)
		}
	}
	if err == nil || !refused(err) {
		return err
	}
	c.log.Warn().Err(err).Str("request_id", op.requestID).
		Msg("operation refused by the database; the rest of its transaction went on")
	op.err, op.done = err, true
	return nil
}

// fail gives ops that were not committed the error err and marks their
// products unknown: the failed transaction may have committed.
func (c *committer) fail(ops []*commitOp, err error, rounds map[engine.ID]*productRound) {
	for _, op := range ops {
		if op.done {
			continue
		}
		op.err, op.done = err, true
		for _, p := range op.products() {
			if pr := rounds[p]; pr != nil {
				pr.unknown = true
			}
		}
	}
}

// report tells every actor whose product the round touched, and every
// multi-product order's coordinator, how it went.
func (c *committer) report(items []*commitItem, rounds map[engine.ID]*productRound) {
	msgs := map[engine.ID]*stockCommitted{}
	pids := map[engine.ID]*actor.PID{}
	msgFor := func(p engine.ID, pid *actor.PID) *stockCommitted {
		m := msgs[p]
		if m == nil {
			pr := rounds[p]
			m = &stockCommitted{committed: pr.committed, stock: pr.stock, unknown: pr.unknown}
			m.stock.Released = pr.released
			msgs[p], pids[p] = m, pid
		}
		return m
	}
	for _, it := range items {
		if it.actor != nil {
			msgFor(it.actor.product, it.actor.pid).own = it.actor
			continue
		}
		for p, pid := range it.reserved {
			m := msgFor(p, pid)
			m.reserved = append(m.reserved, reservationDone{orderID: it.ops[0].order.ID, err: it.ops[0].err})
		}
	}
	for p, m := range msgs {
		c.system.Send(pids[p], m)
	}
	for _, it := range items { // after the actors, which publish the new stock
		if it.reply != nil {
			it.reply <- it.ops[0].err
		}
	}
}

// products returns the products the operation touches.
func (op *commitOp) products() []engine.ID {
	switch {
	case op.order != nil:
		out := make([]engine.ID, len(op.order.Items))
		for i, it := range op.order.Items {
			out[i] = it.ProductID
		}
		return out
	case op.hold != nil:
		return []engine.ID{op.hold.ProductID}
	default:
		return []engine.ID{op.release.ProductID}
	}
}

// requestIDsLogged bounds the request ids one commit log line names.
const requestIDsLogged = 20

// opRequestIDs lists the request ids of the first operations of a
// transaction.
func opRequestIDs(ops []*commitOp) []string {
	ids := make([]string, 0, min(len(ops), requestIDsLogged))
	for _, op := range ops[:min(len(ops), requestIDsLogged)] {
		ids = append(ids, op.requestID)
	}
	return ids
}
