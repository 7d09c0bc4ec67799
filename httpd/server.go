package httpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/flashstock/flashstock/engine"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

const (
	headerRequestID   = "X-Request-ID"
	headerAllow       = "Allow"
	serverName        = "flashstock" // the Server header
	requestIDBytesMax = 128

	// Request log lines below status 500 are sampled, so that logging does
	// not cost a busy server a large share of its CPU: the first
	// requestLogBurst lines of every requestLogPeriod, then one in
	// requestLogEvery. Lines of 5xx responses are never sampled.
	requestLogBurst  = 100
	requestLogPeriod = time.Second
	requestLogEvery  = 100
)

// Deps are what the transport calls. Cache may be nil (no caching); Checks
// name the dependencies /readyz pings.
type Deps struct {
	Users    Users
	Products Products
	Orders   Orders
	Cache    ListCache
	// Live corrects the stock of listed products from the SKU actors'
	// memory; nil = pages show stock as read (and cached).
	Live   LiveStock
	Checks map[string]Pinger
	Log    zerolog.Logger

	// OrderLimiter limits order creation per user and AuthLimiter login and
	// registration per client IP; nil = no limit.
	OrderLimiter RateLimiter
	AuthLimiter  RateLimiter
	// Idempotency keeps Idempotency-Key outcomes; nil = the header is ignored.
	Idempotency Idempotency

	// Payments applies payment webhook events and needs Config.WebhookSecret;
	// DeadLetters serves the admin dead-letter routes. Their routes are
	// always registered (the API and its document do not change with the
	// wiring); while the port is nil they answer 404 not_found.
	Payments    Payments
	DeadLetters DeadLetters

	// Observer is told of every request and order placement; nil = nothing
	// is observed.
	Observer Observer
	// Metrics serves GET /metrics (e.g. promhttp.HandlerFor's handler) and
	// Actors GET /admin/actors; while nil, those routes answer 404 not_found.
	Metrics http.Handler
	Actors  Actors
	// Cluster serves GET /admin/cluster; while nil, it answers 404.
	Cluster Cluster
}

// Server is the HTTP front of flashstock.
type Server struct {
	cfg    Config
	deps   Deps
	log    zerolog.Logger
	reqLog zerolog.Logger // log sampled for request lines below 500
	router *router.Router
	http   *fasthttp.Server
	tokens *tokens
	hooks  *webhookVerifier        // nil without Config.WebhookSecret
	obs    Observer                // Deps.Observer, or nopObserver: never nil
	scrape fasthttp.RequestHandler // Deps.Metrics adapted to fasthttp; nil without it
	slots  chan struct{}           // one element per open connection, up to Config.ConcurrencyMax
	routes []Route                 // every registered route, set by New

	mu        sync.Mutex     // guards shut and listeners
	shut      bool           // Shutdown has begun
	listeners []net.Listener // every listener passed to Serve
}

// New validates cfg and builds a server with every route registered.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("httpd config: %w", err)
	}
	if deps.Users == nil || deps.Products == nil || deps.Orders == nil {
		return nil, errors.New("httpd: Users, Products and Orders are required")
	}
	if deps.Payments != nil && cfg.WebhookSecret == "" {
		return nil, errors.New("httpd: Payments needs Config.WebhookSecret to verify webhooks")
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, reqLog: sampledRequestLog(deps.Log), tokens: newTokens(cfg),
		obs: deps.Observer, slots: make(chan struct{}, cfg.ConcurrencyMax)}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	if deps.Metrics != nil {
		s.scrape = fasthttpadaptor.NewFastHTTPHandler(deps.Metrics)
	}
	if cfg.WebhookSecret != "" {
		hooks, err := newWebhookVerifier(cfg.WebhookSecret)
		if err != nil {
			return nil, fmt.Errorf("httpd config: %w", err)
		}
		s.hooks = hooks
	}
	s.router = router.New()
	s.router.RedirectTrailingSlash = false
	s.router.RedirectFixedPath = false
	s.router.HandleMethodNotAllowed = true
	s.router.NotFound = s.wrap(routeNotFound, func(*call) error { return errRouteNotFound })
	notAllowed := s.wrap(routeMethodNotAllowed, func(*call) error { return errMethodNotAllowed })
	s.router.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		allow := string(ctx.Response.Header.Peek(headerAllow)) // set by the router; writing the problem drops it
		notAllowed(ctx)
		ctx.Response.Header.Set(headerAllow, allow)
	}
	// The router answers OPTIONS for a known path itself, having set Allow.
	s.router.GlobalOPTIONS = s.wrap(routeOptions, func(c *call) error {
		c.ctx.SetStatusCode(fasthttp.StatusNoContent)
		return nil
	})
	s.registerOps()
	s.registerAuth()
	s.registerProducts()
	s.registerOrders()
	s.registerWebhooks()
	s.registerDeadLetters()
	s.registerActors()
	s.registerCluster()
	s.registerDocs()
	s.http = &fasthttp.Server{
		Handler:      s.route,
		ErrorHandler: s.transportError,
		Logger:       fasthttpLog{log: deps.Log},
		Name:         serverName,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		IdleTimeout:  cfg.IdleTimeout,
		// The request line and headers must fit the read buffer, else
		// fasthttp fails with ErrSmallBuffer: 431.
		ReadBufferSize:     cfg.HeaderBytesMax,
		MaxRequestBodySize: cfg.BodyBytesMax,
		// Serve's listener enforces ConcurrencyMax (connlimit.go); fasthttp's
		// own refusal, in plain text, stays out of reach: a connection gives
		// its slot back a moment before fasthttp frees its worker.
		Concurrency:           2 * cfg.ConcurrencyMax,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		// fasthttp's errors then leave out the request bytes; they are
		// never written out anyway (transport.go).
		SecureErrorLogMessage: true,
	}
	return s, nil
}

// Handler returns the request handler (for in-memory tests).
func (s *Server) Handler() fasthttp.RequestHandler { return s.http.Handler }

// Serve accepts connections on ln until Shutdown; after Shutdown it returns
// at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return s.http.Serve(&connLimitListener{Listener: ln, slots: s.slots, refuse: s.refuseConn})
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends. It also closes the listeners itself: fasthttp only closes
// those its Serve had registered, so a Shutdown racing a Serve that had not
// got that far would otherwise leave Serve blocked in Accept for good.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut = true
	listeners := s.listeners
	s.mu.Unlock()
	err := s.http.ShutdownWithContext(ctx)
	for _, ln := range listeners {
		_ = ln.Close() // already closed by fasthttp in the common case
	}
	return err
}

// handle registers h for method and path. Paths work with and without the
// trailing slash: routes are stored without it and route strips it from
// requests (fasthttp/router panics when both forms are registered).
// A GET route answers HEAD too (fasthttp sends the headers without the body).
func (s *Server) handle(method, path string, h handler) {
	wrapped := s.wrap(path, h)
	s.router.Handle(method, routePath(path), wrapped)
	s.routes = append(s.routes, Route{Method: method, Pattern: path})
	if method == fasthttp.MethodGet {
		s.router.Handle(fasthttp.MethodHead, routePath(path), wrapped)
		s.routes = append(s.routes, Route{Method: fasthttp.MethodHead, Pattern: path})
	}
}

// routePath drops one trailing slash, except from "/".
func routePath(path string) string {
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		return path[:len(path)-1]
	}
	return path
}

// route is the fasthttp handler: it sets the response's X-Request-ID,
// normalizes the trailing slash and dispatches through the router.
func (s *Server) route(ctx *fasthttp.RequestCtx) {
	setRequestID(ctx)
	if p := ctx.URI().PathOriginal(); len(p) > 1 && p[len(p)-1] == '/' {
		ctx.URI().SetPath(routePath(string(p)))
	}
	s.router.Handler(ctx)
}

// wrap is the middleware chain every route shares: request id, deadline,
// panic recovery, error → problem, one log line, one observation.
func (s *Server) wrap(route string, h handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		c := &call{ctx: ctx, requestID: string(ctx.Response.Header.Peek(headerRequestID)), // set by route
			route: route, srv: s}
		c.bounded.deadline = start.Add(s.cfg.RequestTimeout)
		defer c.bounded.end()
		// The request id travels with the work the request causes (actor
		// messages, group-commit logs).
		c.context = engine.WithRequestID(&c.bounded, c.requestID)
		err := s.run(c, h)
		if err != nil {
			writeProblem(ctx, err, c.requestID)
		}
		s.logRequest(c, err, start)
		s.obs.Request(route, methodLabel(ctx.Method()), ctx.Response.StatusCode(), time.Since(start))
	}
}

// run calls h, turning a panic into an internal error logged once here.
func (s *Server) run(c *call, h handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Str("request_id", c.requestID).Str("route", c.route).
				Interface("panic", p).Bytes("stack", debug.Stack()).Msg("handler panicked")
			err = errPanic
		}
	}()
	return h(c)
}

var errPanic = errors.New("handler panicked")

// sampledRequestLog is log with the request-line sampling applied.
func sampledRequestLog(log zerolog.Logger) zerolog.Logger {
	return log.Sample(&zerolog.BurstSampler{Burst: requestLogBurst, Period: requestLogPeriod,
		NextSampler: &zerolog.BasicSampler{N: requestLogEvery}})
}

// logRequest writes the request's log line: an error line, always, for a
// 5xx; otherwise an info line if the sampler lets it through. A failed
// request's line carries its error chain, which the answer's detail never
// does (newProblem). Nothing is formatted for a line that is not written.
func (s *Server) logRequest(c *call, err error, start time.Time) {
	status := c.ctx.Response.StatusCode()
	var ev *zerolog.Event
	if status >= 500 {
		ev = s.log.Error()
	} else {
		ev = s.reqLog.Info()
	}
	if ev == nil { // level or sampler says no
		return
	}
	if err != nil && err != errPanic && status >= 400 { // the chain behind the answer's one-sentence detail
		ev = ev.AnErr("error", err)
	}
	var id [36]byte
	ev = ev.Str("method", methodLabel(c.ctx.Method())).Str("route", c.route).Int("status", status).
		Dur("duration", time.Since(start)).Str("request_id", c.requestID)
	if c.user != nil {
		b, _ := c.user.ID.AppendText(id[:0])
		ev = ev.Bytes("user_id", b)
	}
	if !c.orderID.IsZero() {
		b, _ := c.orderID.AppendText(id[:0])
		ev = ev.Bytes("order_id", b)
	}
	ev.Msg("request")
}
