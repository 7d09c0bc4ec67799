package httpd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Orders endpoints (DESIGN.md "Orders"): authenticated; a user sees and
// cancels only their own orders (anyone else's are not_found), an admin sees
// all and moves them along the fulfilment states.

func (s *Server) registerOrders() {
	s.handle("POST", "/orders/", s.createOrder)
	s.handle("GET", "/orders/", s.listOrders)
	s.handle("GET", "/orders/{id}", s.orderDetail)
	s.handle("PATCH", "/orders/{id}", s.patchOrder)
	s.handle("POST", "/orders/{id}/cancel", s.cancelOrder)
}

// createOrder places an order and reports the outcome of every attempt by
// an authenticated caller to the observer, except repeats (c.repeat); a
// panic is reported as an error on its way to wrap's recovery.
func (s *Server) createOrder(c *call) (err error) {
	start := time.Now()
	if err := c.requireUser(); err != nil {
		return err
	}
	var total engine.Money // of the order placed
	panicked := true
	defer func() {
		if c.repeat {
			return
		}
		result := OrderResultError
		if !panicked {
			result = orderResult(err)
		}
		if result != OrderResultCreated {
			total = engine.Money{}
		}
		s.obs.OrderPlaced(result, time.Since(start), total)
	}()
	err = s.placeOrder(c, &total)
	panicked = false
	return err
}

// placeOrder places an order for the caller: rate-limited per user,
// idempotent per Idempotency-Key. The order id is chosen here, before the
// order exists, so that a retry after a timeout can find out whether it was
// written. It sets *total to the total of the order it placed.
//
// The rate limit counts attempts that do work: it is taken inside place,
// so a request without a key pays it first thing (no read before it),
// while a repeat under a key that the store answers (a replay, a refusal
// while the first is in flight, 422 for another body, or the earlier
// attempt's order found after a takeover) costs no budget: the README
// tells clients to retry with their key, and a retry must not earn a 429.
// A keyed attempt refused by the limit gives its key back (runIdempotent).
func (s *Server) placeOrder(c *call, total *engine.Money) error {
	user := c.user.ID
	now := time.Now().UTC().Truncate(time.Microsecond)
	orderID, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return err
	}
	place := func(orderID engine.ID) error {
		if s.deps.OrderLimiter != nil { // the key costs allocations: only make it for a limiter
			if err := s.rateLimit(c, s.deps.OrderLimiter, "user:"+user.String()); err != nil {
				return err
			}
		}
		c.orderID = orderID
		items, err := c.decodeOrderItems(s.cfg.Limits)
		if err != nil {
			return err
		}
		o, err := s.deps.Orders.PlaceOrder(c.context, engine.PlaceOrder{OrderID: orderID, UserID: user, Items: items, Now: now})
		if err != nil {
			return fmt.Errorf("place order: %w", err)
		}
		*total = o.Total
		return c.respondOrder(fasthttp.StatusCreated, o)
	}
	existing := func(prev engine.ID) (bool, error) {
		o, err := s.deps.Orders.Order(c.context, prev)
		if errors.Is(err, engine.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, c.respondOrder(fasthttp.StatusCreated, o)
	}
	return s.idempotent(c, user, orderID, place, existing)
}

// listOrders serves one page of orders, newest first: the caller's own, or
// everyone's for an admin; ?status= filters.
func (s *Server) listOrders(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	pg, err := c.pageParams()
	if err != nil {
		return err
	}
	q := engine.OrderQuery{Before: pg.after, Limit: pg.limit + 1}
	if !c.user.IsAdmin {
		q.UserID = c.user.ID
	}
	if args := c.ctx.QueryArgs(); args.Has("status") { // ?status= (empty) is refused, like ?limit=
		if q.Status, err = engine.ParseStatus(string(args.Peek("status"))); err != nil {
			return err
		}
	}
	orders, err := s.deps.Orders.ListOrders(c.context, q)
	if err != nil {
		return fmt.Errorf("list orders: %w", err)
	}
	out := orderPageJSON{Items: make([]orderJSON, 0, min(len(orders), pg.limit))}
	if len(orders) > pg.limit {
		orders = orders[:pg.limit]
		next := encodeCursor(orders[len(orders)-1].ID)
		out.NextCursor = &next
	}
	for _, o := range orders {
		out.Items = append(out.Items, newOrderJSON(o))
	}
	return c.respond(fasthttp.StatusOK, out)
}

// orderDetail serves one order to its owner or an admin.
func (s *Server) orderDetail(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	c.orderID = id
	o, err := s.deps.Orders.Order(c.context, id)
	if err != nil {
		return fmt.Errorf("order %s: %w", id, err)
	}
	if !c.user.IsAdmin && o.UserID != c.user.ID {
		return fmt.Errorf("order %s: %w", id, engine.ErrNotFound)
	}
	return c.respondOrder(fasthttp.StatusOK, o)
}

// cancelOrder cancels a pending order and returns its stock: the buyer's
// own order, or any order for an admin.
func (s *Server) cancelOrder(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	cmd := engine.TransitionOrder{OrderID: id, To: engine.StatusCancelled, By: engine.TriggerBuyer,
		UserID: c.user.ID, Reason: "cancelled by the buyer"}
	if c.user.IsAdmin {
		cmd.By, cmd.Reason = engine.TriggerAdmin, "cancelled by an administrator"
	}
	return s.transitionOrder(c, cmd)
}

// patchOrder moves an order along the state machine (admin).
func (s *Server) patchOrder(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	var req orderPatchRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	to, err := req.status()
	if err != nil {
		return err
	}
	return s.transitionOrder(c, engine.TransitionOrder{OrderID: id, To: to, By: engine.TriggerAdmin,
		UserID: c.user.ID, Reason: "cancelled by an administrator"})
}

func (s *Server) transitionOrder(c *call, cmd engine.TransitionOrder) error {
	c.orderID = cmd.OrderID
	cmd.Now = time.Now().UTC().Truncate(time.Microsecond)
	o, err := s.deps.Orders.TransitionOrder(c.context, cmd)
	if err != nil {
		return fmt.Errorf("order %s to %s: %w", cmd.OrderID, cmd.To, err)
	}
	return c.respondOrder(fasthttp.StatusOK, o)
}
