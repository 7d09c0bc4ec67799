package httpd

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/flashstock/flashstock/engine"
)

// Wire forms of the payment webhook. Unlike client requests, a webhook body
// is decoded leniently: providers add members over time, and refusing one
// would make them retry an event we could have applied. Syntax errors are
// still malformed_json and a present member of the wrong type is still
// validation_failed naming it.

// paymentEventRequest is the body of POST /webhooks/payment/.
type paymentEventRequest struct {
	EventID   jsonField[string] `json:"event_id"`
	Reference jsonField[string] `json:"reference"`
	Status    jsonField[string] `json:"status"`
	Amount    jsonField[int64]  `json:"amount"`
}

// decodePaymentEvent decodes and validates a verified body into the
// sender-controlled fields of an event; the caller fills in the rest.
func decodePaymentEvent(body []byte) (engine.PaymentEvent, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return engine.PaymentEvent{}, errEmptyBody
	}
	var req paymentEventRequest
	if err := decodeJSONLenient(body, &req); err != nil {
		return engine.PaymentEvent{}, err
	}
	var fc fieldChecks
	present(&fc, "event_id", req.EventID, true)
	present(&fc, "reference", req.Reference, true)
	present(&fc, "status", req.Status, true)
	present(&fc, "amount", req.Amount, true)
	ev := engine.PaymentEvent{EventID: req.EventID.v, Reference: req.Reference.v,
		Result: engine.PaymentResult(req.Status.v), Amount: req.Amount.v}
	if err := fc.merge(ev.Validate()); err != nil {
		return engine.PaymentEvent{}, err
	}
	return ev, nil
}

// decodeJSONLenient is decodeJSON without the unknown-member check: one
// value, no trailing data.
func decodeJSONLenient(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

// paymentOutcomeJSON answers every stored event: what it did.
type paymentOutcomeJSON struct {
	Outcome engine.PaymentOutcome `json:"outcome"`
	EventID string                `json:"event_id"`
}
