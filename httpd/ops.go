package httpd

import (
	"fmt"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

func (s *Server) registerOps() {
	s.handle("GET", "/healthz", s.healthz)
	s.handle("GET", "/readyz", s.readyz)
	s.handle("GET", "/metrics", s.metrics)
}

// errMetricsOff answers GET /metrics on a server built without Deps.Metrics.
var errMetricsOff = engine.WithDetail(engine.ErrNotFound, "metrics are not enabled on this server")

// metrics serves Deps.Metrics (a net/http handler, e.g. promhttp's) through
// fasthttpadaptor. It is public, like /healthz: the exposition names no
// user. Its requests are observed like any other.
func (s *Server) metrics(c *call) error {
	if s.scrape == nil {
		return errMetricsOff
	}
	s.scrape(c.ctx)
	return nil
}

// healthz says the process serves HTTP; it checks nothing else.
func (s *Server) healthz(c *call) error {
	return c.respond(fasthttp.StatusOK, map[string]string{"status": "ok"})
}

// readyz pings every dependency; any failure is 503 naming the failed ones.
func (s *Server) readyz(c *call) error {
	names := make([]string, 0, len(s.deps.Checks))
	for name := range s.deps.Checks {
		names = append(names, name)
	}
	sort.Strings(names)
	checks := make(map[string]string, len(names))
	var failed []string
	for _, name := range names {
		if err := s.deps.Checks[name].Ping(c.context); err != nil {
			checks[name] = "down"
			failed = append(failed, name)
			s.log.Warn().Str("request_id", c.requestID).Str("check", name).AnErr("error", err).Msg("readiness check failed")
			continue
		}
		checks[name] = "up"
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: not ready: %v down", engine.ErrUnavailable, failed)
	}
	return c.respond(fasthttp.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
