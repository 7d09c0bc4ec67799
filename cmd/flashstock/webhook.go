package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const webhookUsage = "webhook send --reference R --status success|failed --amount N [--url U] [--event-id E] [--secret S]"

// webhookResponseBytesMax bounds the response body printed.
const webhookResponseBytesMax = 64 << 10

// cmdWebhook signs and sends one payment webhook event, as a payment
// provider would: for trying the payment flow by hand and in tests.
func cmdWebhook(ctx context.Context, e env, args []string) error {
	if _, err := subcommand(e, args, webhookUsage, "send"); err != nil {
		return err
	}
	fs := newFlagSet(e, "webhook send", webhookUsage)
	target := fs.String("url", "http://127.0.0.1:8080/webhooks/payment/", "the webhook endpoint")
	reference := fs.String("reference", "", "the order reference, ORD-…")
	status := fs.String("status", "", "success or failed")
	amount := fs.Int64("amount", -1, "the amount paid, in minor units (must equal the order total)")
	eventID := fs.String("event-id", "", "the provider's event id (default: a new random one); send the same one again to test replays")
	webhookID := fs.String("webhook-id", "", "the webhook-id header (default: msg_ + random)")
	secret := fs.String("secret", e.getenv("FLASHSTOCK_WEBHOOK_SECRET"), "signing secret, whsec_… ($FLASHSTOCK_WEBHOOK_SECRET; dev: the data dir's)")
	dataDir := fs.String("data-dir", envOr(e, "FLASHSTOCK_DATA_DIR", ".data"), "dev: where serve keeps its generated webhook secret ($FLASHSTOCK_DATA_DIR)")
	age := fs.Duration("age", 0, "sign as if sent this long ago (e.g. 6m to see a stale event refused)")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the request")
	if err := parseFlags(e, fs, args[1:], fs.Parse); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *reference == "" || (*status != "success" && *status != "failed") || *amount < 0 {
		return fmt.Errorf("%w: --reference, --status success|failed and --amount N (>= 0) are required", errUsage)
	}
	if *secret == "" {
		s, _, err := devWebhookSecret(*dataDir)
		if err != nil {
			return err
		}
		*secret = s
	}
	if _, err := checkWebhookSecret(*secret); err != nil {
		return fmt.Errorf("%w: webhook secret: %v", errUsage, err)
	}
	if *eventID == "" {
		*eventID = "evt_" + rand.Text()
	}
	if *webhookID == "" {
		*webhookID = "msg_" + rand.Text()
	}
	body, err := json.Marshal(map[string]any{"event_id": *eventID, "reference": *reference, "status": *status, "amount": *amount})
	if err != nil {
		return err
	}
	req, err := signedWebhook(ctx, *target, *secret, *webhookID, time.Now().Add(-*age), body)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: *timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("webhook send: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, webhookResponseBytesMax))
	if err != nil {
		return fmt.Errorf("webhook send: reading the answer: %w", err)
	}
	fmt.Fprintf(e.stdout, "event %s → HTTP %d %s\n", *eventID, resp.StatusCode, bytes.TrimSpace(answer))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook send: the server answered %s", resp.Status)
	}
	return nil
}

// signedWebhook builds the POST of body to target, signed per Standard
// Webhooks with secret at time at.
func signedWebhook(ctx context.Context, target, secret, webhookID string, at time.Time, body []byte) (*http.Request, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	sig, err := wh.Sign(webhookID, at, body)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: --url: %v", errUsage, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, webhookID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return req, nil
}

// envOr returns the environment variable name, or def when it is empty.
func envOr(e env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}
