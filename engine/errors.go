package engine

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Adapters wrap them with %w and context; httpd maps them to
// HTTP statuses and problem codes in one table.
var (
	// ErrNotFound means the addressed entity does not exist or is not visible
	// to the caller.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input breaks a rule; see ValidationError for details.
	ErrInvalid = errors.New("invalid input")
	// ErrInsufficientStock means an order asked for more units than remain;
	// see StockError for details.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrConflict means the request clashes with current state: a taken unique
	// key, an impossible state transition, a request still in flight.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized means the caller is not authenticated (missing, invalid or
	// expired credentials).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the caller is authenticated but not allowed.
	ErrForbidden = errors.New("forbidden")
	// ErrOverloaded means work was refused to protect the system; retry later.
	ErrOverloaded = errors.New("overloaded")
	// ErrUnavailable means a dependency (database, cache, owner node) cannot
	// serve the request right now; retry later.
	ErrUnavailable = errors.New("unavailable")
)

// FieldError names one invalid input field and why it is invalid.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every invalid field of one input. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	Fields []FieldError
}

// Error joins the field messages.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a *ValidationError for a single field.
func Invalid(field, message string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: message}}}
}

// validator collects field errors; err returns nil when there are none.
type validator struct{ fields []FieldError }

func (v *validator) add(field, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Message: message})
}

func (v *validator) check(ok bool, field, message string) {
	if !ok {
		v.add(field, message)
	}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// StockError reports which product lacked stock. It matches
// ErrInsufficientStock with errors.Is.
type StockError struct {
	ProductID ID
	Available int64
	Requested int64
}

// Error describes the shortfall.
func (e *StockError) Error() string {
	return fmt.Sprintf("insufficient stock for product %s: %d available, %d requested",
		e.ProductID, e.Available, e.Requested)
}

// Is makes errors.Is(err, ErrInsufficientStock) true for a *StockError.
func (e *StockError) Is(target error) bool { return target == ErrInsufficientStock }

// DetailedError gives an error the sentence a client is shown for it. The
// transport answers with Detail as the problem's detail and logs Error(),
// the whole chain with its ids and context; so Detail is one sentence for
// the caller, with no ids and nothing internal. It matches whatever Err
// matches (errors.Is and errors.As see through it).
type DetailedError struct {
	Err    error
	Detail string
}

// WithDetail returns err with detail as its client sentence. Wrapping a
// sentinel reads like the usual "%w: text":
// WithDetail(ErrConflict, "username is already taken") says
// "conflict: username is already taken".
func WithDetail(err error, detail string) error {
	return &DetailedError{Err: err, Detail: detail}
}

// Error is Err's text followed by the detail, unless that text ends with
// the detail already (a layer repeating a lower layer's sentence).
func (e *DetailedError) Error() string {
	msg := e.Err.Error()
	if strings.HasSuffix(msg, e.Detail) {
		return msg
	}
	return msg + ": " + e.Detail
}

// Unwrap returns Err.
func (e *DetailedError) Unwrap() error { return e.Err }

// ClientDetail returns the client sentence of err: that of the outermost
// DetailedError in its chain (the layer closest to the caller knows best
// what the caller did), or false if it has none.
func ClientDetail(err error) (string, bool) {
	var de *DetailedError
	if errors.As(err, &de) {
		return de.Detail, true
	}
	return "", false
}
