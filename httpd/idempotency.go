package httpd

// Idempotency-Key support for POST /orders/ (DESIGN.md): see the
// Idempotency port.

// Idempotency stores the outcome of requests made with an Idempotency-Key.
type Idempotency interface{}
