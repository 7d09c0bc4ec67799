package httpd

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Transport-level errors; they map to problems like the engine sentinels.
var (
	errMalformedJSON = errors.New("malformed JSON")
	// errBadRequest: the HTTP request itself could not be parsed (400).
	errBadRequest = errors.New("unparseable HTTP request")
	// errHeaderTooLarge: the request line and headers exceed the limit (431).
	errHeaderTooLarge   = errors.New("request header too large")
	errPayloadTooLarge  = errors.New("request body too large")
	errMethodNotAllowed = errors.New("method not allowed")
	errRouteNotFound    = errors.New("no such route")
	// errRateLimited: the caller exceeded a rate limit (429).
	errRateLimited = errors.New("rate limited")
	// errIdempotencyKeyReused: the key was used before with another body (422).
	errIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
)

// problemKind is one row of the error table. detail is the sentence a
// client gets for an error that carries none of its own (engine.WithDetail).
type problemKind struct {
	err    error
	status int
	code   string
	title  string
	detail string
}

// problemKinds is THE table mapping errors to HTTP statuses and stable
// problem codes (DESIGN.md "HTTP API"). The first row whose err matches with
// errors.Is wins; anything unmatched is a 500 "internal".
var problemKinds = []problemKind{
	{errMalformedJSON, fasthttp.StatusBadRequest, "malformed_json", "Malformed JSON",
		"the request body is not valid JSON"},
	{errBadRequest, fasthttp.StatusBadRequest, "bad_request", "Bad request",
		"the request is not valid HTTP"},
	{errHeaderTooLarge, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large", "Request header fields too large",
		"the request line and headers are larger than this server accepts"},
	{engine.ErrInvalid, fasthttp.StatusBadRequest, "validation_failed", "Validation failed",
		"the request has invalid fields"},
	{engine.ErrInsufficientStock, fasthttp.StatusBadRequest, "insufficient_stock", "Insufficient stock",
		"a product has fewer units in stock than the order asks for"},
	{engine.ErrUnauthorized, fasthttp.StatusUnauthorized, "unauthorized", "Unauthorized",
		"authentication is missing or invalid"},
	{engine.ErrForbidden, fasthttp.StatusForbidden, "forbidden", "Forbidden",
		"this action is for administrators only"},
	{engine.ErrNotFound, fasthttp.StatusNotFound, "not_found", "Not found",
		"the resource does not exist"},
	{errRouteNotFound, fasthttp.StatusNotFound, "not_found", "Not found",
		"no route matches the path"},
	{errMethodNotAllowed, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
		"the route does not allow this method"},
	{engine.ErrConflict, fasthttp.StatusConflict, "conflict", "Conflict",
		"the request conflicts with the current state of the resource"},
	{errPayloadTooLarge, fasthttp.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large",
		"the request body is larger than this server accepts"},
	{errIdempotencyKeyReused, fasthttp.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused",
		"the Idempotency-Key was first used with another method, path or body"},
	{errRateLimited, fasthttp.StatusTooManyRequests, "rate_limited", "Too many requests",
		"too many requests; retry after the Retry-After delay"},
	{engine.ErrOverloaded, fasthttp.StatusServiceUnavailable, "overloaded", "Overloaded",
		"the server is refusing work to protect itself; retry after the Retry-After delay"},
	{engine.ErrUnavailable, fasthttp.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"a dependency is temporarily unavailable; retry after the Retry-After delay"},
}

var problemInternal = problemKind{nil, fasthttp.StatusInternalServerError, "internal", "Internal server error",
	"an internal error occurred; quote the request id when reporting it"}

// retryAfterSeconds is sent with every 503.
const retryAfterSeconds = 1

// problem is the RFC 9457 body.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id"`
	Errors    []fieldErrJSON `json:"errors,omitempty"`
	ProductID string         `json:"product_id,omitempty"`
	Available *int64         `json:"available,omitempty"`
	Requested *int64         `json:"requested,omitempty"`
}

type fieldErrJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func classify(err error) problemKind {
	for _, k := range problemKinds {
		if errors.Is(err, k.err) {
			return k
		}
	}
	return problemInternal
}

// newProblem builds the body for err. The detail is one sentence for the
// client, never err's text: the sentence err carries (engine.WithDetail)
// for a 4xx, else the row's. 5xx details are always the row's (driver
// messages carry hosts and ports). The chain itself is for the request's
// log line (Server.logRequest).
func newProblem(err error, requestID string) problem {
	k := classify(err)
	p := problem{Type: "about:blank", Title: k.title, Status: k.status, Code: k.code,
		Detail: k.detail, RequestID: requestID}
	if d, ok := engine.ClientDetail(err); ok && k.status < fasthttp.StatusInternalServerError {
		p.Detail = d
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, fieldErrJSON{Field: f.Field, Message: f.Message})
		}
	}
	var se *engine.StockError
	if errors.As(err, &se) {
		p.ProductID, p.Available, p.Requested = se.ProductID.String(), &se.Available, &se.Requested
	}
	return p
}

// writeProblem renders err as application/problem+json on ctx.
func writeProblem(ctx *fasthttp.RequestCtx, err error, requestID string) problemKind {
	p := newProblem(err, requestID)
	body, mErr := json.Marshal(p)
	if mErr != nil { // cannot happen for this struct; keep the status honest anyway
		body = []byte(`{"code":"internal"}`)
	}
	ctx.Response.Reset()
	ctx.Response.Header.Set(headerRequestID, requestID)
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType("application/problem+json")
	if p.Status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	var limited *rateLimitedError
	if errors.As(err, &limited) { // the Reset above dropped them
		limited.setHeaders(&ctx.Response.Header)
	}
	ctx.SetBody(body)
	return classify(err)
}
