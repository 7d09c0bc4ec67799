package httpd

import (
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Actor endpoint (DESIGN.md "Operations"): admin only. An operator sees the
// live actors by kind, their in-flight requests and restarts, and the
// hottest SKU actors — what Flower showed for Celery workers.

func (s *Server) registerActors() {
	s.handle("GET", "/admin/actors", s.actorStats)
}

// errActorsOff answers GET /admin/actors on a server built without
// Deps.Actors (after authentication, so that only admins learn it).
var errActorsOff = engine.WithDetail(engine.ErrNotFound, "actor stats are not enabled on this server")

// actorStats serves a snapshot of the running actors.
func (s *Server) actorStats(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	if s.deps.Actors == nil {
		return errActorsOff
	}
	st, err := s.deps.Actors.ActorStats(c.context)
	if err != nil {
		return fmt.Errorf("actor stats: %w", err)
	}
	return c.respond(fasthttp.StatusOK, newActorStatsJSON(st))
}
