package bench

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Errors of the baselines' transport; they map to problems like the engine
// sentinels.
var (
	errBaselineMalformed = errors.New("malformed JSON")
	errBaselineTooLarge  = errors.New("request body too large")
	errBaselineMethod    = errors.New("method not allowed")
)

// baselineProblemKind is one row of the error table.
type baselineProblemKind struct {
	err    error
	status int
	code   string
	title  string
}

// baselineProblemKinds maps errors to statuses and problem codes as
// flashstock's httpd does (DESIGN.md "HTTP API"), for the errors the
// baselines can meet. The first row whose err matches wins; anything
// unmatched is a 500 "internal".
var baselineProblemKinds = []baselineProblemKind{
	{errBaselineMalformed, fasthttp.StatusBadRequest, "malformed_json", "Malformed JSON"},
	{engine.ErrInvalid, fasthttp.StatusBadRequest, "validation_failed", "Validation failed"},
	{engine.ErrInsufficientStock, fasthttp.StatusBadRequest, "insufficient_stock", "Insufficient stock"},
	{engine.ErrUnauthorized, fasthttp.StatusUnauthorized, "unauthorized", "Unauthorized"},
	{engine.ErrNotFound, fasthttp.StatusNotFound, "not_found", "Not found"},
	{errBaselineMethod, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"},
	{engine.ErrConflict, fasthttp.StatusConflict, "conflict", "Conflict"},
	{errBaselineTooLarge, fasthttp.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large"},
	{engine.ErrOverloaded, fasthttp.StatusServiceUnavailable, "overloaded", "Overloaded"},
	{engine.ErrUnavailable, fasthttp.StatusServiceUnavailable, "unavailable", "Service unavailable"},
}

var baselineProblemInternal = baselineProblemKind{nil, fasthttp.StatusInternalServerError, "internal", "Internal server error"}

// baselineRetryAfterSeconds is sent with every 503.
const baselineRetryAfterSeconds = 1

// baselineProblem is the RFC 9457 body, as flashstock sends it.
type baselineProblem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      string              `json:"code"`
	RequestID string              `json:"request_id"`
	Errors    []baselineFieldJSON `json:"errors,omitempty"`
	ProductID string              `json:"product_id,omitempty"`
	Available *int64              `json:"available,omitempty"`
	Requested *int64              `json:"requested,omitempty"`
}

type baselineFieldJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func classifyBaseline(err error) baselineProblemKind {
	for _, k := range baselineProblemKinds {
		if errors.Is(err, k.err) {
			return k
		}
	}
	return baselineProblemInternal
}

// fail answers err as application/problem+json. Only internal errors are
// logged: the others are the client's or the load's, and expected.
func (b *baselineServer) fail(ctx *fasthttp.RequestCtx, err error) {
	k := classifyBaseline(err)
	p := baselineProblem{Type: "about:blank", Title: k.title, Status: k.status, Code: k.code,
		Detail: err.Error(), RequestID: string(ctx.Request.Header.Peek("X-Request-ID"))}
	switch k.status {
	case fasthttp.StatusInternalServerError:
		b.log.Error().Err(err).Str("path", string(ctx.Path())).Msg("baseline request failed")
		p.Detail = "an internal error occurred"
	case fasthttp.StatusServiceUnavailable:
		p.Detail = "retry after the Retry-After delay"
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(baselineRetryAfterSeconds))
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		p.Detail = "the request has invalid fields"
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, baselineFieldJSON{Field: f.Field, Message: f.Message})
		}
	}
	var se *engine.StockError
	if errors.As(err, &se) {
		p.ProductID, p.Available, p.Requested = se.ProductID.String(), &se.Available, &se.Requested
	}
	body, mErr := json.Marshal(p)
	if mErr != nil { // cannot happen for this struct
		body = []byte(`{"code":"internal"}`)
	}
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType("application/problem+json")
	ctx.SetBody(body)
}
