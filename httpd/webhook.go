package httpd

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// The payment webhook (DESIGN.md "Payment webhook"): POST /webhooks/payment/,
// signed per the Standard Webhooks scheme and verified with its reference
// library, which this file alone imports. No JWT: the signature is the
// authentication. The order of checks is fixed: size (413), signature (401),
// then, and only then, the body (400); so an unsigned caller learns nothing
// about what a valid body looks like. Every event the port stored answers
// 200 with its outcome, whatever the outcome, so that the provider does not
// retry it; only an error (a 5xx such as 503 unavailable) asks for a retry.

const (
	// webhookBodyBytesMax bounds a webhook body; the events table holds
	// bodies up to this size.
	webhookBodyBytesMax = 64 << 10
	// webhookIDBytesMax bounds the webhook-id header, as the events table does.
	webhookIDBytesMax = 255
)

// webhookHeaders are the headers a signed delivery carries, in the order a
// "missing" detail names them.
var webhookHeaders = [...]string{
	standardwebhooks.HeaderWebhookID,
	standardwebhooks.HeaderWebhookTimestamp,
	standardwebhooks.HeaderWebhookSignature,
}

func (s *Server) registerWebhooks() {
	s.handle("POST", "/webhooks/payment/", s.paymentWebhook)
}

// errWebhooksOff answers the webhook route of a server built without
// Deps.Payments.
var errWebhooksOff = engine.WithDetail(engine.ErrNotFound, "payment webhooks are not enabled on this server")

// paymentWebhook verifies, decodes and applies one payment event.
func (s *Server) paymentWebhook(c *call) error {
	if s.deps.Payments == nil || s.hooks == nil {
		return errWebhooksOff
	}
	body := c.ctx.Request.Body()
	if len(body) > webhookBodyBytesMax {
		return engine.WithDetail(errPayloadTooLarge, fmt.Sprintf("a webhook body may have at most %d bytes", webhookBodyBytesMax))
	}
	webhookID, err := s.hooks.verify(&c.ctx.Request.Header, body)
	if err != nil {
		return err
	}
	ev, err := decodePaymentEvent(body)
	if err != nil {
		return err
	}
	if len(webhookID) > webhookIDBytesMax || !printable([]byte(webhookID)) {
		return engine.Invalid(standardwebhooks.HeaderWebhookID,
			fmt.Sprintf("must be 1 to %d printable ASCII characters", webhookIDBytesMax))
	}
	ev.WebhookID = webhookID
	ev.Body = bytes.Clone(body) // fasthttp reuses the request buffer after the handler returns
	ev.ReceivedAt = time.Now().UTC()
	outcome, err := s.deps.Payments.ApplyPayment(c.context, ev)
	if err != nil {
		return fmt.Errorf("payment event %q: %w", ev.EventID, err)
	}
	if !slices.Contains(engine.PaymentOutcomes, outcome) { // a broken port: a 500 makes the provider retry
		return fmt.Errorf("payment event %q: port returned unknown outcome %q", ev.EventID, outcome)
	}
	s.log.Info().Str("request_id", c.requestID).Str("event_id", ev.EventID).Str("reference", ev.Reference).
		Str("webhook_id", ev.WebhookID).Str("outcome", string(outcome)).Msg("payment webhook")
	return c.respond(fasthttp.StatusOK, paymentOutcomeJSON{Outcome: outcome, EventID: ev.EventID})
}

// webhookVerifier checks Standard Webhooks signatures: HMAC-SHA256 over
// "id.timestamp.body", compared in constant time, with a timestamp at most
// five minutes from now either way (the library's tolerance).
type webhookVerifier struct {
	wh *standardwebhooks.Webhook
}

// newWebhookVerifier builds a verifier for a secret WebhookKey reads.
func newWebhookVerifier(secret string) (*webhookVerifier, error) {
	key, err := WebhookKey(secret)
	if err != nil {
		return nil, err
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil { // NewWebhookRaw cannot fail; never quote the secret
		return nil, errors.New("webhook secret: unusable")
	}
	return &webhookVerifier{wh: wh}, nil
}

// verify checks the signature headers of a delivery against its raw body
// and returns the webhook id. Every failure wraps engine.ErrUnauthorized
// with a detail that says what was wrong but never what was expected.
func (v *webhookVerifier) verify(h *fasthttp.RequestHeader, body []byte) (string, error) {
	hdr := make(http.Header, len(webhookHeaders))
	var missing []string
	for _, name := range webhookHeaders {
		value := h.Peek(name)
		if len(value) == 0 {
			missing = append(missing, name)
			continue
		}
		hdr.Set(name, string(value))
	}
	if len(missing) > 0 {
		noun := "header"
		if len(missing) > 1 {
			noun = "headers"
		}
		return "", engine.WithDetail(engine.ErrUnauthorized, "the delivery lacks the "+strings.Join(missing, ", ")+" "+noun)
	}
	if err := v.wh.Verify(body, hdr); err != nil {
		return "", fmt.Errorf("verify webhook (%v): %w", err, engine.WithDetail(engine.ErrUnauthorized, verifyFailure(err)))
	}
	return hdr.Get(standardwebhooks.HeaderWebhookID), nil
}

// verifyFailure says why the library refused a delivery, in our words.
func verifyFailure(err error) string {
	switch {
	case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
		return "missing webhook-id, webhook-timestamp or webhook-signature header"
	case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
		return "webhook-timestamp must be a Unix time in seconds"
	case errors.Is(err, standardwebhooks.ErrMessageTooOld):
		return "webhook-timestamp is more than 5 minutes in the past"
	case errors.Is(err, standardwebhooks.ErrMessageTooNew):
		return "webhook-timestamp is more than 5 minutes in the future"
	case errors.Is(err, standardwebhooks.ErrNoMatchingSignature):
		return "no webhook-signature matches the delivery"
	}
	return "webhook signature verification failed"
}
