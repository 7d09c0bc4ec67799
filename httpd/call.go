package httpd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// call is one request as handlers see it. It lives only while the fasthttp
// handler runs; handlers copy out what they keep.
type call struct {
	ctx       *fasthttp.RequestCtx
	context   context.Context // bounded: the request id over it
	bounded   requestContext  // Config.RequestTimeout from the request's start
	requestID string
	route     string     // route pattern, for logs and metrics
	user      *principal // set by requireUser / requireAdmin, to &caller
	caller    principal  // backs user, saving an allocation
	orderID   engine.ID  // the order the request addressed or created, for the log line
	srv       *Server
	// repeat: the answer repeats an earlier request's outcome (an idempotent
	// replay, or a refusal while the first is in flight), which the observer
	// is not told again.
	repeat bool
}

// principal is the authenticated caller, taken from a verified access token.
type principal struct {
	ID      engine.ID
	IsAdmin bool
}

// handler serves one route; a returned error becomes a problem response.
type handler func(c *call) error

// decode reads the JSON body strictly into dst: one value, no unknown fields,
// no trailing data. Syntax errors are malformed_json; type errors and unknown
// fields are validation_failed naming the field.
func (c *call) decode(dst any) error {
	body := c.ctx.Request.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errEmptyBody
	}
	return decodeJSON(body, dst)
}

func decodeJSON(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

// Malformed bodies, each with its client sentence.
var (
	errEmptyBody    = engine.WithDetail(errMalformedJSON, "the request body is empty")
	errTrailingData = engine.WithDetail(errMalformedJSON, "the request body has data after the JSON value")
	errNotAnObject  = engine.WithDetail(errMalformedJSON, "the request body must be a JSON object")
	errTruncated    = engine.WithDetail(errMalformedJSON, "the request body ends inside a JSON value")
)

// jsonError turns an encoding/json error into a problem: type errors and
// unknown members are field errors, the rest malformed_json with a sentence
// that quotes nothing of the body (the chain keeps the decoder's words).
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			return errNotAnObject
		}
		return engine.Invalid(field, "must be of type "+jsonTypeName(typeErr.Type.Kind().String()))
	}
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknownPrefix) && msg[:len(unknownPrefix)] == unknownPrefix {
		field := msg[len(unknownPrefix):]
		if len(field) >= 2 && field[0] == '"' {
			field = field[1 : len(field)-1]
		}
		if field == "" { // {"": ...} has no name to point at
			return engine.Invalid("body", `has an unknown member ""`)
		}
		return engine.Invalid(field, "is not a known field")
	}
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%v: %w", err, engine.WithDetail(errMalformedJSON,
			fmt.Sprintf("the request body is not valid JSON (at byte %d)", syntaxErr.Offset)))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncated
	}
	return fmt.Errorf("%v: %w", err, errMalformedJSON)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer (in range)"
	case "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return kind
}

// respond writes v as JSON with the given status.
func (c *call) respond(status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	c.respondRaw(status, body)
	return nil
}

// respondRaw writes an already-encoded JSON body.
func (c *call) respondRaw(status int, body []byte) {
	c.ctx.SetStatusCode(status)
	c.ctx.SetContentType("application/json")
	c.ctx.SetBody(body)
}

// pathID parses the {id} route parameter; a non-UUID is not_found, since no
// resource can have that id.
func (c *call) pathID() (engine.ID, error) {
	raw, _ := c.ctx.UserValue("id").(string)
	id, err := engine.ParseID(raw)
	if err != nil {
		return engine.NilID, fmt.Errorf("%w: the path's id is not a UUID", engine.ErrNotFound)
	}
	return id, nil
}
