package httpd

import (
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// The webhook body decoder must never panic: any verified body is either a
// 400-class error or an event that passes engine validation.
func FuzzDecodePaymentEvent(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[]`, `"x"`, paymentBody("evt_1"), paymentBody("evt_1") + ` {}`,
		`{"event_id":"e","reference":"ORD-0123456789AB","status":"failed","amount":0,"extra":[1,{"a":null}]}`,
		`{"event_id":1}`, `{"amount":1e3}`, `{"amount":-1}`, `{"status":"SUCCESS"}`, "{\"event_id\":\"\xff\"}",
		`{"event_id":"a","event_id":"b","reference":"ORD-0123456789AB","status":"success","amount":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodePaymentEvent(body)
		if err != nil {
			wantClientError(t, err)
			return
		}
		if ev.Validate() != nil || ev.WebhookID != "" || ev.Body != nil || !ev.ReceivedAt.IsZero() {
			t.Fatalf("accepted an invalid event: %+v", ev)
		}
		if ev.Result != engine.PaymentSucceeded && ev.Result != engine.PaymentDeclined {
			t.Fatalf("accepted result %q", ev.Result)
		}
	})
}
