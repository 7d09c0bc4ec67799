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

// problemKind is one row of the error table.
type problemKind struct {
	err    error
	status int
	code   string
	title  string
}

// problemKinds is THE table mapping errors to HTTP statuses and stable
// problem codes (DESIGN.md "HTTP API"). The first row whose err matches with
// errors.Is wins; anything unmatched is a 500 "internal".
var problemKinds = []problemKind{
	{errMalformedJSON, fasthttp.StatusBadRequest, "malformed_json", "Malformed JSON"},
	{errBadRequest, fasthttp.StatusBadRequest, "bad_request", "Bad request"},
	{errHeaderTooLarge, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large", "Request header fields too large"},
	{engine.ErrInvalid, fasthttp.StatusBadRequest, "validation_failed", "Validation failed"},
	{engine.ErrInsufficientStock, fasthttp.StatusBadRequest, "insufficient_stock", "Insufficient stock"},
	{engine.ErrUnauthorized, fasthttp.StatusUnauthorized, "unauthorized", "Unauthorized"},
	{engine.ErrForbidden, fasthttp.StatusForbidden, "forbidden", "Forbidden"},
	{engine.ErrNotFound, fasthttp.StatusNotFound, "not_found", "Not found"},
	{errRouteNotFound, fasthttp.StatusNotFound, "not_found", "Not found"},
	{errMethodNotAllowed, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"},
	{engine.ErrConflict, fasthttp.StatusConflict, "conflict", "Conflict"},
	{errPayloadTooLarge, fasthttp.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large"},
	{errIdempotencyKeyReused, fasthttp.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused"},
	{errRateLimited, fasthttp.StatusTooManyRequests, "rate_limited", "Too many requests"},
	{engine.ErrOverloaded, fasthttp.StatusServiceUnavailable, "overloaded", "Overloaded"},
	{engine.ErrUnavailable, fasthttp.StatusServiceUnavailable, "unavailable", "Service unavailable"},
}

var problemInternal = problemKind{nil, fasthttp.StatusInternalServerError, "internal", "Internal server error"}

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

// newProblem builds the body for err. Internal errors never leak their text.
func newProblem(err error, requestID string) problem {
	k := classify(err)
	p := problem{Type: "about:blank", Title: k.title, Status: k.status, Code: k.code,
		Detail: err.Error(), RequestID: requestID}
	switch k.code { // 5xx details never carry internals (driver messages, hosts, ports)
	case "internal":
		p.Detail = "an internal error occurred; quote the request id when reporting it"
	case "unavailable":
		p.Detail = "a dependency is temporarily unavailable; retry after the Retry-After delay"
	case "overloaded":
		p.Detail = "the server is refusing work to protect itself; retry after the Retry-After delay"
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		p.Detail = "the request has invalid fields"
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
