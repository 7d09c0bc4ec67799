package httpd

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// What the transport reports to Deps.Observer. Every label comes from a
// fixed set, so that a metric labelled with them has bounded cardinality
// whatever clients send: routes are the registered patterns, methods are
// folded into methodLabel's set, and order results into orderResult's.

// Route names of requests that match no registered route.
const (
	routeNotFound         = "not_found"
	routeMethodNotAllowed = "method_not_allowed"
	routeTransport        = "transport" // refused by fasthttp before routing
	routeOptions          = "options"   // OPTIONS for a known path, answered with its Allow
)

// Route is one registered route as the Observer names it: Pattern is the
// route label of its requests, Method one of methodLabel's values.
type Route struct {
	Method  string
	Pattern string
}

// Routes lists every registered route (GET routes also as HEAD), so that an
// observer can create their series before the first request.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// methodOther stands for every method outside methodLabel's set.
const methodOther = "OTHER"

// methodLabel maps a request method to one of a fixed set of constants,
// without allocating (the switch compares the bytes in place).
func methodLabel(m []byte) string {
	switch string(m) {
	case fasthttp.MethodGet:
		return fasthttp.MethodGet
	case fasthttp.MethodHead:
		return fasthttp.MethodHead
	case fasthttp.MethodPost:
		return fasthttp.MethodPost
	case fasthttp.MethodPut:
		return fasthttp.MethodPut
	case fasthttp.MethodPatch:
		return fasthttp.MethodPatch
	case fasthttp.MethodDelete:
		return fasthttp.MethodDelete
	case fasthttp.MethodOptions:
		return fasthttp.MethodOptions
	}
	return methodOther
}

// orderResult is the OrderResult constant for the outcome err of an order
// placement, by its problem code (the one error table, problem.go).
func orderResult(err error) string {
	if err == nil {
		return OrderResultCreated
	}
	switch classify(err).code {
	case "insufficient_stock":
		return OrderResultInsufficientStock
	case "malformed_json", "validation_failed", "payload_too_large", "idempotency_key_reused":
		return OrderResultInvalid
	case "overloaded":
		return OrderResultOverloaded
	case "rate_limited":
		return OrderResultRateLimited
	case "unavailable":
		return OrderResultUnavailable
	}
	return OrderResultError
}

// nopObserver observes nothing; it stands in for a nil Deps.Observer so that
// the request path calls the observer without checking for nil.
type nopObserver struct{}

func (nopObserver) Request(string, string, int, time.Duration)      {}
func (nopObserver) OrderPlaced(string, time.Duration, engine.Money) {}
