package engine

import "context"

// requestIDKey keys the request id in a context.
type requestIDKey struct{}

// requestIDContext carries a request id. It answers Value with itself, a
// pointer, so that neither storing nor reading the id allocates more than
// the context (it is on every order's path).
type requestIDContext struct {
	context.Context
	id string
}

// Value returns the context itself for requestIDKey.
func (c *requestIDContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// WithRequestID returns ctx carrying the id of the request it serves, so
// that the work it causes (actor messages, commits) logs the same id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &requestIDContext{Context: ctx, id: id}
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestIDContext); ok {
		return c.id
	}
	return ""
}
