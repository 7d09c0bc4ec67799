package actors

import (
	"context"
	"fmt"
	"sync"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// The loader reads products for SKU actors, which never do I/O in Receive:
// an actor that needs its product (first use, or a reload after a commit
// whose outcome is unknown) asks the loader and goes on receiving; the
// loader reads the products of every request waiting into one query
// (SELECT ... WHERE id = ANY) and sends each actor a productLoaded. With
// orders spread over many products, loads are as many as orders: batching
// them is what keeps a cold product from costing a round trip of its own.
//
// Protocol:
//
//	load(id, pid)   queue a read (never waits); refused with
//	                engine.ErrOverloaded beyond LoadQueueMax waiting
//	→ productLoaded to pid: the product, or engine.ErrNotFound, or the
//	  read's error (engine.ErrUnavailable when the database failed)
type loader struct {
	store  SKUStore
	system *actor.Engine
	cfg    Config
	log    zerolog.Logger

	requests chan loadRequest // bounded by LoadQueueMax
	stop     chan struct{}
	done     sync.WaitGroup
}

type loadRequest struct {
	id  engine.ID
	pid *actor.PID
}

// productLoaded answers a load.
type productLoaded struct {
	product engine.Product
	err     error
}

func newLoader(store SKUStore, system *actor.Engine, cfg Config, log zerolog.Logger) *loader {
	l := &loader{store: store, system: system, cfg: cfg, log: log,
		requests: make(chan loadRequest, cfg.LoadQueueMax), stop: make(chan struct{})}
	l.done.Go(l.run)
	return l
}

// load queues a read of product id for the actor pid.
func (l *loader) load(id engine.ID, pid *actor.PID) error {
	select {
	case l.requests <- loadRequest{id: id, pid: pid}:
		return nil
	default:
		return fmt.Errorf("%w: %d product loads waiting", engine.ErrOverloaded, l.cfg.LoadQueueMax)
	}
}

// close stops the loader after the batch it is reading; requests still
// queued are answered engine.ErrUnavailable.
func (l *loader) close() {
	close(l.stop)
	l.done.Wait()
	for {
		select {
		case r := <-l.requests:
			l.system.Send(r.pid, productLoaded{err: fmt.Errorf("%w: shutting down", engine.ErrUnavailable)})
		default:
			return
		}
	}
}

// run reads batches until stopped: it waits for one request, takes every
// other one waiting (up to LoadBatchMax), and reads them in one query.
func (l *loader) run() {
	batch := make([]loadRequest, 0, l.cfg.LoadBatchMax)
	for {
		select {
		case <-l.stop:
			return
		case r := <-l.requests:
			batch = append(batch[:0], r)
		}
	more:
		for len(batch) < l.cfg.LoadBatchMax {
			select {
			case r := <-l.requests:
				batch = append(batch, r)
			default:
				break more
			}
		}
		l.read(batch)
	}
}

// read loads one batch and answers each request.
func (l *loader) read(batch []loadRequest) {
	ids := make([]engine.ID, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.LoadTimeout)
	ps, err := l.store.Products(ctx, ids)
	cancel()
	if err != nil {
		l.log.Warn().Err(err).Int("products", len(ids)).Msg("loading products failed")
	}
	found := make(map[engine.ID]engine.Product, len(ps))
	for _, p := range ps {
		found[p.ID] = p
	}
	for _, r := range batch {
		m := productLoaded{err: err}
		if err == nil {
			p, ok := found[r.id]
			m.product = p
			if !ok {
				m.err = fmt.Errorf("product %s: %w", r.id, engine.ErrNotFound)
			}
		} else {
			m.err = fmt.Errorf("load product %s: %w", r.id, err)
		}
		l.system.Send(r.pid, m)
	}
}
