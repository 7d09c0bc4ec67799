package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Wire forms of orders. Requests decode strictly (call.decode) into
// jsonField members; the methods below turn them into engine values or a
// validation error naming every bad field.

// orderCreateRequest is the body of POST /orders/. Lines stay raw until
// items decodes each one strictly (a nested json.Unmarshal would not
// inherit the outer decoder's DisallowUnknownFields).
type orderCreateRequest struct {
	Items jsonField[[]json.RawMessage] `json:"items"`
}

type orderItemRequest struct {
	ProductID jsonField[string] `json:"product_id"`
	Quantity  jsonField[int64]  `json:"quantity"`
}

// items validates the lines and merges duplicate products (engine.MergeItems).
func (r orderCreateRequest) items(l engine.Limits) ([]engine.ItemRequest, error) {
	var fc fieldChecks
	present(&fc, "items", r.Items, true)
	if err := fc.merge(nil); err != nil {
		return nil, err
	}
	if n := len(r.Items.v); n > engine.ItemsPerOrderMax*linesPerItemMax {
		return nil, engine.Invalid("items", fmt.Sprintf("at most %d lines", engine.ItemsPerOrderMax*linesPerItemMax))
	}
	items := make([]engine.ItemRequest, len(r.Items.v))
	for i, raw := range r.Items.v {
		var it orderItemRequest
		if err := decodeLine(raw, i, &it); err != nil {
			return nil, err
		}
		pidField, qField := fmt.Sprintf("items[%d].product_id", i), fmt.Sprintf("items[%d].quantity", i)
		present(&fc, pidField, it.ProductID, true)
		present(&fc, qField, it.Quantity, true)
		if it.ProductID.set && !it.ProductID.null {
			id, err := engine.ParseID(it.ProductID.v)
			if err != nil {
				fc.add(pidField, "must be a product id (UUID)")
			}
			items[i].ProductID = id
		}
		items[i].Quantity = it.Quantity.v
	}
	if err := fc.merge(nil); err != nil {
		return nil, err
	}
	return engine.MergeItems(items, l)
}

// decodeLine decodes line i strictly; errors name their field under
// items[i] (a line that is not an object is items[i] itself).
func decodeLine(raw json.RawMessage, i int, dst *orderItemRequest) error {
	prefix := fmt.Sprintf("items[%d]", i)
	err := decodeJSON(raw, dst)
	var ve *engine.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		out := &engine.ValidationError{Fields: make([]engine.FieldError, len(ve.Fields))}
		for j, f := range ve.Fields {
			out.Fields[j] = engine.FieldError{Field: prefix + "." + f.Field, Message: f.Message}
		}
		return out
	}
	return engine.Invalid(prefix, "must be an object with product_id and quantity")
}

// linesPerItemMax bounds the lines of one request before merging: a body
// may name a product more than once, but not without limit.
const linesPerItemMax = 10

// orderPatchRequest is the body of PATCH /orders/{id} (admin).
type orderPatchRequest struct {
	Status jsonField[string] `json:"status"`
}

func (r orderPatchRequest) status() (engine.Status, error) {
	var fc fieldChecks
	present(&fc, "status", r.Status, true)
	if err := fc.merge(nil); err != nil {
		return "", err
	}
	return engine.ParseStatus(r.Status.v)
}

// orderJSON is an order as clients see it. Times are UTC RFC 3339.
type orderJSON struct {
	ID            engine.ID       `json:"id"`
	Reference     string          `json:"reference"`
	UserID        engine.ID       `json:"user_id"`
	Status        engine.Status   `json:"status"`
	PaymentStatus string          `json:"payment_status"`
	Total         int64           `json:"total"`
	Currency      string          `json:"currency"`
	Items         []orderItemJSON `json:"items"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	ExpiresAt     time.Time       `json:"expires_at"`
	CancelReason  string          `json:"cancel_reason"`
}

type orderItemJSON struct {
	ProductID   engine.ID `json:"product_id"`
	ProductName string    `json:"product_name"`
	Quantity    int64     `json:"quantity"`
	UnitPrice   int64     `json:"unit_price"`
	Subtotal    int64     `json:"subtotal"`
}

func newOrderJSON(o engine.Order) orderJSON {
	j := orderJSON{ID: o.ID, Reference: o.Reference, UserID: o.UserID, Status: o.Status,
		PaymentStatus: string(o.PaymentStatus), Total: o.Total.Amount, Currency: string(o.Total.Currency),
		Items: make([]orderItemJSON, len(o.Items)), CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
		ExpiresAt: o.ExpiresAt.UTC(), CancelReason: o.CancelReason}
	for i, it := range o.Items {
		j.Items[i] = orderItemJSON{ProductID: it.ProductID, ProductName: it.ProductName, Quantity: it.Quantity,
			UnitPrice: it.UnitPrice.Amount, Subtotal: it.Subtotal.Amount}
	}
	return j
}

// orderPageJSON is one page of GET /orders/; NextCursor is null on the last page.
type orderPageJSON struct {
	Items      []orderJSON `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}
