package actors

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Inventory routes stock work to SKU actors: one actor per product,
// spawned on first use and passivated when idle or when the live actors
// reach ActorsMax, found through a fixed number of shards keyed by a stable
// hash of the product id. It is the
// typed client of the SKU actors and applies backpressure: a request beyond
// the in-flight bounds is refused at once with engine.ErrOverloaded, and
// every wait for an actor ends by the caller's context deadline with
// engine.ErrUnavailable. Its methods are safe for concurrent use.
type Inventory struct {
	system    *actor.Engine
	store     SKUStore
	cfg       Config
	log       zerolog.Logger
	shards    []*shard
	committer *committer // the node's commit pipeline
	loader    *loader    // reads products for the actors
	owners    *ownership // the shards this node owns, once Own was called

	inflight atomic.Int64 // admitted requests not yet answered, all SKUs
	// stockEvictedAt is when (unix nanoseconds) an actor whose product's
	// stock had changed was last stopped: a copy of its stock read before
	// then may be stale, and live reads can no longer correct it.
	stockEvictedAt atomic.Int64
	incarnations   atomic.Uint64 // makes every spawned actor id unique
	crashes        atomic.Uint64 // SKU actor panics recovered, all time
	messages       atomic.Uint64 // requests admitted, all time
	evictions      atomic.Uint64 // actors passivated to stay under ActorsMax, all time
	// live counts the entries of every shard (the live SKU actors), plus
	// the admissions about to add one: it exceeds ActorsMax only while
	// such an admission evicts, or when eviction found no idle actor.
	live      atomic.Int64
	evictHand atomic.Uint32 // the next shard eviction samples
	epoch     time.Time     // of clock

	stop      chan struct{} // closed by Close
	loopDone  chan struct{} // closed when the passivation loop ends
	closeOnce sync.Once
}

// shard is one routing bucket: the live SKU actors of its products, also
// kept in order of last use (a list through the entries, most recent
// first) for passivation and eviction. Fields guarded by mu.
type shard struct {
	mu             sync.Mutex
	skus           map[engine.ID]*skuEntry
	recent, oldest *skuEntry // the ends of the use order
	closed         bool      // no more spawns
}

// skuEntry is one live SKU actor. inflight only grows under the shard's
// mutex (admission) and shrinks when the actor answers, so the passivation
// check "inflight == 0 under the mutex" means nobody can still be talking
// to the actor once its entry is gone. An entry is 64 bytes: a million
// products may have one each.
type skuEntry struct {
	pid   *actor.PID
	actor *sku // for its product id (immutable); only the actor touches the rest
	// product is the actor's product as last committed (nil until loaded,
	// or while reloading), published by the actor for reads from memory;
	// changed says a commit moved its stock since it was loaded.
	product  atomic.Pointer[engine.Product]
	requests atomic.Uint64 // admitted since spawned, for the hottest-SKU view
	// lastUsed (Inventory.clock) and the neighbours in the shard's use
	// order are guarded by the shard's mutex.
	lastUsed     int64
	newer, older *skuEntry
	inflight     atomic.Int32 // bounded by InflightPerSKUMax
	changed      atomic.Bool
}

// NewInventory builds the inventory on a hollywood system and starts its
// passivation loop; Close stops it.
func NewInventory(system *actor.Engine, store SKUStore, cfg Config, log zerolog.Logger) (*Inventory, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if system == nil || store == nil {
		return nil, errors.New("actors: NewInventory needs a system and a store")
	}
	inv := &Inventory{system: system, store: store, cfg: cfg, log: log, epoch: time.Now(),
		shards: make([]*shard, cfg.Shards), stop: make(chan struct{}), loopDone: make(chan struct{})}
	for i := range inv.shards {
		inv.shards[i] = &shard{skus: map[engine.ID]*skuEntry{}}
	}
	inv.owners = newOwnership(cfg.Shards)
	inv.committer = newCommitter(store, system, cfg, log)
	inv.committer.owners, inv.committer.lost = inv.owners, inv.shardsLost
	inv.loader = newLoader(store, system, cfg, log)
	go inv.passivateLoop()
	return inv, nil
}

// PlaceOrder places a single-product order (cmd.Items has exactly one
// line) through the product's actor and returns it once committed.
func (inv *Inventory) PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	if len(cmd.Items) != 1 {
		return engine.Order{}, engine.Invalid("items", "a single-product order has exactly one item")
	}
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		return engine.Order{}, err
	}
	m := &placeOrder{reply: make(chan placeOrderResult, 1), cmd: cmd, reference: ref}
	return orderOf(ask(ctx, inv, cmd.Items[0].ProductID, m, m.reply))
}

// Hold takes quantity units of a product for a multi-product order being
// assembled and returns the product as it was when they were taken (its
// name and price go into the order). The hold is committed when it returns.
func (inv *Inventory) Hold(ctx context.Context, orderID, productID engine.ID, quantity int64, now time.Time) (engine.Product, error) {
	m := &holdStock{reply: make(chan productResult, 1), orderID: orderID, quantity: quantity, now: now}
	return productOf(ask(ctx, inv, productID, m, m.reply))
}

// Release returns to stock whatever an order holds of a product (nothing,
// if the hold was consumed or released already): the one release path of
// cancellation, expiry, failed payment and abandoned orders.
func (inv *Inventory) Release(ctx context.Context, orderID, productID engine.ID) error {
	m := &releaseStock{reply: make(chan error, 1), release: engine.StockRelease{OrderID: orderID, ProductID: productID}}
	err, waitErr := ask(ctx, inv, productID, m, m.reply)
	if waitErr != nil {
		return waitErr
	}
	return err
}

// UpdateProduct applies change to a product through its actor (restock,
// catalogue edits), after committing the actor's pending work, and returns
// the stored product. It satisfies httpd's Products.UpdateProduct.
func (inv *Inventory) UpdateProduct(ctx context.Context, id engine.ID,
	change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	m := &updateProduct{reply: make(chan productResult, 1), change: change}
	return productOf(ask(ctx, inv, id, m, m.reply))
}

// Reserve takes quantity units of a product in memory for a multi-product
// order that CommitReserved will write, and returns the product as it was
// (its name and price go into the order). The product's actor keeps the
// units, and the call's admission (it is not passivated meanwhile), until
// the committer reports the order or Unreserve gives them back. On an
// error nothing of the call stays reserved: once the request reached the
// actor, a reservation it made for a caller that gave up is given back.
func (inv *Inventory) Reserve(ctx context.Context, orderID, productID engine.ID, quantity int64) (engine.Product, error) {
	m := &reserveStock{reply: make(chan productResult, 1), orderID: orderID, quantity: quantity}
	p, err := productOf(ask(ctx, inv, productID, m, m.reply))
	if err != nil && m.entry != nil {
		inv.system.Send(m.entry.pid, unreserveStock{orderID: orderID}) // none: a no-op
	}
	return p, err
}

// Unreserve gives back an order's reservation of a product (none: nothing
// happens). It never waits, and needs no admission: the actor is live while
// it holds a reservation, which holds one.
func (inv *Inventory) Unreserve(orderID, productID engine.ID) {
	if e := inv.lookup(productID); e != nil {
		inv.system.Send(e.pid, unreserveStock{orderID: orderID})
	}
}

// CommitReserved writes a multi-product order whose every line is reserved
// (Reserve) in one transaction of the commit pipeline, and returns it as
// stored (a reference the database refused is replaced) once committed.
// It takes the reservations over: the actors learn the order's fate from
// the committer, whatever happens to the caller, and an order that never
// reached the committer gives them back here. The caller never unreserves
// after this call.
func (inv *Inventory) CommitReserved(ctx context.Context, o engine.Order) (engine.Order, error) {
	it := &commitItem{reply: make(chan error, 1), reserved: make(map[engine.ID]*actor.PID, len(o.Items)),
		bytes: 2 * opBytesBase * len(o.Items)}
	for _, line := range o.Items {
		// A reservation holds an admission: its actor is still the
		// product's entry.
		e := inv.lookup(line.ProductID)
		if e == nil {
			inv.unreserveAll(o.ID, it.reserved)
			return engine.Order{}, fmt.Errorf("%w: product %s holds no reservation (shutting down)", engine.ErrUnavailable, line.ProductID)
		}
		it.reserved[line.ProductID] = e.pid
	}
	order := &o
	it.ops = []*commitOp{{order: order, item: it, requestID: engine.RequestID(ctx)}}
	for _, line := range o.Items {
		it.products = append(it.products, line.ProductID)
		// Holds this order id left on its products (an earlier attempt
		// of it, by an Idempotency-Key takeover, that died while holding)
		// go back to stock in the same transaction.
		it.ops = append(it.ops, &commitOp{release: &engine.StockRelease{OrderID: o.ID, ProductID: line.ProductID},
			item: it, requestID: it.ops[0].requestID})
	}
	if err := inv.committer.submit(it); err != nil {
		inv.unreserveAll(o.ID, it.reserved)
		return engine.Order{}, err
	}
	select {
	case err := <-it.reply:
		if err != nil {
			return engine.Order{}, err
		}
		return *order, nil
	case <-ctx.Done():
		return engine.Order{}, fmt.Errorf("%w: the order's commit did not report in time", engine.ErrUnavailable)
	}
}

// unreserveAll gives back an order's reservations on the actors of
// reserved (by product).
func (inv *Inventory) unreserveAll(orderID engine.ID, reserved map[engine.ID]*actor.PID) {
	for _, pid := range reserved {
		inv.system.Send(pid, unreserveStock{orderID: orderID})
	}
}

// ask admits m for the product's actor, sends it and waits for its reply
// or the context's end.
func ask[R any](ctx context.Context, inv *Inventory, id engine.ID, m skuRequest, reply <-chan R) (R, error) {
	var none R
	e, evicted, err := inv.admit(id)
	for _, pid := range evicted {
		inv.system.Poison(pid)
	}
	if err != nil {
		return none, err
	}
	call := m.call()
	call.entry, call.inv = e, inv
	call.deadline, _ = ctx.Deadline()
	call.requestID = engine.RequestID(ctx)
	inv.system.Send(e.pid, m)
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return none, fmt.Errorf("%w: product %s did not answer in time", engine.ErrUnavailable, id)
	}
}

// admit finds or spawns the product's actor and counts one request in
// flight, or refuses it when a bound is reached. Spawning an actor when
// ActorsMax are live first evicts (see evict): the caller poisons the
// actors it returns, outside the shard's mutex.
func (inv *Inventory) admit(id engine.ID) (_ *skuEntry, evicted []*actor.PID, _ error) {
	if inv.inflight.Add(1) > int64(inv.cfg.InflightMax) {
		inv.inflight.Add(-1)
		return nil, nil, fmt.Errorf("%w: %d requests in flight", engine.ErrOverloaded, inv.cfg.InflightMax)
	}
	shard := engine.ShardOf(id, len(inv.shards))
	if !inv.owners.owns(shard) {
		inv.inflight.Add(-1)
		return nil, nil, errNotOwner
	}
	sh := inv.shards[shard]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		inv.inflight.Add(-1)
		return nil, nil, fmt.Errorf("%w: shutting down", engine.ErrUnavailable)
	}
	now := inv.clock()
	e := sh.skus[id]
	if e == nil {
		if over := inv.live.Add(1) - int64(inv.cfg.ActorsMax); over > 0 {
			evicted = inv.evict(sh, int(min(over, evictPerSpawnMax)), now)
		}
		e = inv.spawn(id)
		sh.skus[id] = e
		sh.pushRecent(e, now)
	} else {
		sh.touch(e, now)
	}
	if e.inflight.Load() >= int32(inv.cfg.InflightPerSKUMax) {
		inv.inflight.Add(-1)
		return nil, evicted, fmt.Errorf("%w: product %s has %d requests in flight", engine.ErrOverloaded, id, inv.cfg.InflightPerSKUMax)
	}
	e.inflight.Add(1)
	e.requests.Add(1)
	inv.messages.Add(1)
	return e, evicted, nil
}

// spawn starts an actor for the product and returns its entry. Every
// incarnation gets its own id, so a new one never collides with one still
// stopping (hollywood returns the old PID for a duplicate id). The id is
// the incarnation's number alone, in base 36: hollywood keeps it twice per
// actor, and the actor's logs name its product.
func (inv *Inventory) spawn(id engine.ID) *skuEntry {
	a := newSKU(id, inv)
	e := &skuEntry{actor: a}
	a.entry = e
	e.pid = inv.system.Spawn(func() actor.Receiver { return a }, "sku",
		actor.WithID(strconv.FormatUint(inv.incarnations.Add(1), 36)), actor.WithInboxSize(skuInboxSize))
	return e
}

// clock is the monotonic time of the use order, in nanoseconds.
func (inv *Inventory) clock() int64 { return int64(time.Since(inv.epoch)) }

// pushRecent adds e as the shard's most recently used entry; sh.mu is held.
func (sh *shard) pushRecent(e *skuEntry, now int64) {
	e.lastUsed, e.older, e.newer = now, sh.recent, nil
	if sh.recent != nil {
		sh.recent.newer = e
	} else {
		sh.oldest = e
	}
	sh.recent = e
}

// unlink takes e out of the use order; sh.mu is held.
func (sh *shard) unlink(e *skuEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		sh.recent = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		sh.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

// touch makes e the most recently used entry; sh.mu is held.
func (sh *shard) touch(e *skuEntry, now int64) {
	if sh.recent != e {
		sh.unlink(e)
		sh.pushRecent(e, now)
	}
	e.lastUsed = now
}

// remove takes e's actor out of the shard, which must be idle (nothing in
// flight: nothing can reach the actor any more), and records it; the
// caller stops the actor. sh.mu is held.
func (inv *Inventory) remove(sh *shard, e *skuEntry, now time.Time) {
	delete(sh.skus, e.actor.id)
	sh.unlink(e)
	inv.live.Add(-1)
	inv.evicted(e, now)
}

// Eviction keeps the live actors under ActorsMax, approximately least
// recently used first, at a bounded cost to the admission that spawns: it
// happens under the admitting shard's mutex, which is held already, and
// tries (never waits for) the mutexes of two more shards, taken in turn
// round the shards. In each of these shards the candidate is its least
// recently used entry with nothing in flight; the oldest of the candidates
// is evicted (a sampled LRU, as Redis does). An entry found with work in
// flight on the way is in use: it moves to the recent end. When no sampled
// shard has a candidate (few actors over many shards, or many in flight),
// the other shards are tried in turn for one.
//
// Each spawn past the cap evicts up to evictPerSpawnMax actors, so the count
// comes back under the cap after it was passed. It is passed only when no
// shard had an idle actor to give (every live actor had work in flight, or
// the shards holding idle ones were locked at that instant): admission goes
// on rather than refusing, so the excess is bounded by the requests in
// flight, and lasts until the next spawns evict it.
const (
	evictPerSpawnMax = 2
	evictSampled     = 2 // shards tried besides the admitting one
	evictWalkMax     = 8 // in-flight entries passed over in one shard
)

// evict removes up to n idle actors for a spawn in own, whose mutex is
// held, and returns their PIDs to poison once it is released.
func (inv *Inventory) evict(own *shard, n int, now int64) []*actor.PID {
	var pids []*actor.PID
	wall := time.Now()
	for range n {
		victim, in := inv.evictionCandidate(own, now)
		if victim == nil {
			break
		}
		inv.remove(in, victim, wall)
		if in != own {
			in.mu.Unlock()
		}
		inv.evictions.Add(1)
		pids = append(pids, victim.pid)
	}
	return pids
}

// evictionCandidate finds the actor to evict and its shard, locked (own
// is locked already), or nil.
func (inv *Inventory) evictionCandidate(own *shard, now int64) (*skuEntry, *shard) {
	best, bestShard := own.idleOldest(now), own
	locked := make([]*shard, 0, evictSampled)
	for range evictSampled {
		sh := inv.shards[int(inv.evictHand.Add(1))%len(inv.shards)]
		if sh == own || slices.Contains(locked, sh) || !sh.mu.TryLock() {
			continue
		}
		locked = append(locked, sh)
		if e := sh.idleOldest(now); e != nil && (best == nil || e.lastUsed < best.lastUsed) {
			best, bestShard = e, sh
		}
	}
	for _, sh := range locked {
		if sh != bestShard {
			sh.mu.Unlock()
		}
	}
	if best != nil {
		return best, bestShard
	}
	start := int(inv.evictHand.Load())
	for i := range len(inv.shards) {
		sh := inv.shards[(start+i)%len(inv.shards)]
		if sh == own || !sh.mu.TryLock() {
			continue
		}
		if e := sh.idleOldest(now); e != nil {
			return e, sh
		}
		sh.mu.Unlock()
	}
	return nil, nil
}

// idleOldest returns the shard's least recently used entry with nothing in
// flight, or nil; entries in flight passed over move to the recent end.
// sh.mu is held.
func (sh *shard) idleOldest(now int64) *skuEntry {
	if sh.closed {
		return nil
	}
	for range evictWalkMax {
		e := sh.oldest
		if e == nil || e.inflight.Load() == 0 {
			return e
		}
		if e == sh.recent {
			return nil // every entry is in flight
		}
		sh.touch(e, now)
	}
	return nil
}

// finish gives back one admission; the actor calls it when it answers.
func (inv *Inventory) finish(e *skuEntry) {
	e.inflight.Add(-1)
	inv.inflight.Add(-1)
}

// retire removes the entry of a product found not to exist and stops its
// actor, if nothing is in flight to it (checked under the shard's mutex,
// as for passivation, so no request can reach the stopping actor). A
// request admitted before that check is still answered by the actor, which
// loads the product again for it and retires itself after the last one.
// The actor calls it, after answering, with the entry it was reached
// through.
func (inv *Inventory) retire(id engine.ID, e *skuEntry) {
	sh := inv.shards[engine.ShardOf(id, len(inv.shards))]
	sh.mu.Lock()
	idle := sh.skus[id] == e && e.inflight.Load() == 0
	if idle {
		inv.remove(sh, e, time.Now())
	}
	sh.mu.Unlock()
	if idle {
		inv.system.Poison(e.pid)
	}
}

// passivateLoop stops idle actors until Close.
func (inv *Inventory) passivateLoop() {
	defer close(inv.loopDone)
	t := time.NewTicker(min(inv.cfg.ActorIdle/4+time.Millisecond, 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-inv.stop:
			return
		case now := <-t.C:
			if n := inv.passivateIdle(now); n > 0 {
				inv.log.Debug().Int("actors", n).Msg("passivated idle SKU actors")
			}
		}
	}
}

// passivateIdle stops every actor with nothing in flight that was last
// used ActorIdle before now, and returns how many. It walks each shard's
// use order from the oldest end to the first entry used since.
func (inv *Inventory) passivateIdle(now time.Time) int {
	var pids []*actor.PID
	before := int64(now.Sub(inv.epoch) - inv.cfg.ActorIdle)
	for _, sh := range inv.shards {
		sh.mu.Lock()
		for e := sh.oldest; e != nil && e.lastUsed <= before; {
			newer := e.newer
			if e.inflight.Load() == 0 {
				inv.remove(sh, e, now)
				pids = append(pids, e.pid)
			}
			e = newer
		}
		sh.mu.Unlock()
	}
	for _, pid := range pids {
		inv.system.Poison(pid)
	}
	return len(pids)
}

// evicted records that e's actor is being stopped at now.
func (inv *Inventory) evicted(e *skuEntry, now time.Time) {
	if e.changed.Load() {
		inv.stockEvictedAt.Store(now.UnixNano())
	}
}

// Product returns a product from its live SKU actor's memory, as last
// committed: ok false when no actor of it is live and loaded (read the
// database then). It sends no message and waits for nothing.
func (inv *Inventory) Product(id engine.ID) (p engine.Product, ok bool) {
	if !inv.owners.owns(engine.ShardOf(id, len(inv.shards))) {
		return engine.Product{}, false // its actor's copy may be stale: another node writes it
	}
	e := inv.lookup(id)
	if e == nil {
		return engine.Product{}, false
	}
	if snap := e.product.Load(); snap != nil {
		return *snap, true
	}
	return engine.Product{}, false
}

// lookup returns the product's live actor entry, or nil; it admits
// nothing.
func (inv *Inventory) lookup(id engine.ID) *skuEntry {
	sh := inv.shards[engine.ShardOf(id, len(inv.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.skus[id]
}

// StockEvictedSince reports whether, since t, an actor was stopped whose
// product's stock had changed while it was live: a copy of stock read at
// t or before may then be stale where Product can no longer say.
func (inv *Inventory) StockEvictedSince(t time.Time) bool {
	return inv.stockEvictedAt.Load() >= t.UnixNano()
}

// Stats is a snapshot of the inventory for operators.
type Stats struct {
	// LiveActors is the SKU actors currently spawned (and being spawned:
	// an admission counts its actor before evicting for it).
	LiveActors int
	Inflight   int64  // requests admitted and not yet answered
	Crashes    uint64 // SKU actor panics recovered since start
	Messages   uint64 // requests admitted (messages sent to SKU actors) since start
	Evictions  uint64 // SKU actors passivated to stay under ActorsMax since start
	// CommitQueued is the operations waiting for a transaction of the
	// commit pipeline.
	CommitQueued int
	// ShardsOwned is the shards this node owns (all while ownership is
	// off); FencingRejections the commits refused because a shard's epoch
	// had moved on, since start.
	ShardsOwned       int
	FencingRejections uint64
}

// Stats returns a snapshot of the inventory.
func (inv *Inventory) Stats() Stats {
	return Stats{LiveActors: int(inv.live.Load()), Inflight: inv.inflight.Load(), Crashes: inv.crashes.Load(),
		Messages: inv.messages.Load(), Evictions: inv.evictions.Load(), CommitQueued: inv.committer.queued(),
		ShardsOwned: inv.ShardsOwned(), FencingRejections: inv.owners.rejections.Load()}
}

// hottestMax bounds Hottest.
const hottestMax = 100

// Hottest returns up to n live SKU actors (at most hottestMax) with the
// most requests admitted since they were spawned, most first.
func (inv *Inventory) Hottest(n int) []engine.SKUHeat {
	n = min(max(n, 0), hottestMax)
	var all []engine.SKUHeat
	for _, sh := range inv.shards {
		sh.mu.Lock()
		for id, e := range sh.skus {
			all = append(all, engine.SKUHeat{ProductID: id, Inflight: int64(e.inflight.Load()), Requests: e.requests.Load()})
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(all, func(a, b engine.SKUHeat) int {
		if a.Requests != b.Requests {
			return cmp.Compare(b.Requests, a.Requests)
		}
		return bytes.Compare(a.ProductID[:], b.ProductID[:])
	})
	return all[:min(n, len(all))]
}

// Close refuses new requests, waits (until ctx ends) for the admitted ones
// to be answered, which lets the commit pipeline write what the actors
// decided, then stops every actor, the pipeline and the loader.
func (inv *Inventory) Close(ctx context.Context) error {
	var pids []*actor.PID
	inv.closeOnce.Do(func() {
		close(inv.stop)
		<-inv.loopDone
		for _, sh := range inv.shards {
			sh.mu.Lock()
			sh.closed = true
			sh.mu.Unlock()
		}
		inv.drain(ctx)
		for _, sh := range inv.shards {
			sh.mu.Lock()
			inv.live.Add(-int64(len(sh.skus)))
			for id, e := range sh.skus {
				pids = append(pids, e.pid)
				delete(sh.skus, id)
			}
			sh.recent, sh.oldest = nil, nil
			sh.mu.Unlock()
		}
	})
	stopped := make([]context.Context, len(pids))
	for i, pid := range pids {
		stopped[i] = inv.system.PoisonCtx(ctx, pid)
	}
	for _, done := range stopped {
		<-done.Done() // ends when the actor stopped or ctx ended
	}
	inv.committer.close()
	inv.loader.close()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("actors: stopping SKU actors: %w", err)
	}
	return nil
}

// drainPoll is how often drain looks at the requests in flight.
const drainPoll = 5 * time.Millisecond

// drain waits until every admitted request is answered, or ctx ends.
func (inv *Inventory) drain(ctx context.Context) {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for inv.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
