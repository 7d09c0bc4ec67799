package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// TestDevWebhookSecret: dev mode keeps one secret in the data dir, so that
// serve and `webhook send` agree; a data dir that cannot be written gives
// a random secret for this start instead of a failure.
func TestDevWebhookSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := config{DataDir: dir, webhookGenerated: true}
	if from := resolveWebhookSecret(&c, zerolog.Nop()); !strings.HasPrefix(from, "generated into") || !validSecret(c.WebhookSecret) {
		t.Fatalf("first start: %q, secret %q", from, c.WebhookSecret)
	}
	first := c.WebhookSecret
	info, err := os.Stat(filepath.Join(dir, webhookSecretFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", info, err)
	}
	c = config{DataDir: dir, webhookGenerated: true}
	if from := resolveWebhookSecret(&c, zerolog.Nop()); !strings.HasPrefix(from, "kept in") || c.WebhookSecret != first {
		t.Fatalf("second start: %q, secret changed: %v", from, c.WebhookSecret != first)
	}
	notADir := filepath.Join(dir, webhookSecretFile) // a file: nothing can be created under it
	c = config{DataDir: notADir, webhookGenerated: true}
	if from := resolveWebhookSecret(&c, zerolog.Nop()); from != "random for this start" || !validSecret(c.WebhookSecret) {
		t.Fatalf("unwritable data dir: %q, secret %q", from, c.WebhookSecret)
	}
	// A configured secret is left alone.
	c = config{DataDir: dir, WebhookSecret: "whsec_configured"}
	if from := resolveWebhookSecret(&c, zerolog.Nop()); from != "" || c.WebhookSecret != "whsec_configured" {
		t.Fatalf("configured secret: %q, %q", from, c.WebhookSecret)
	}
}

// TestConcurrentDuplicateDeliveries: the provider delivers the same event
// many times at once; it applies once, every other answer is duplicate,
// and the buyer gets one mail.
func TestConcurrentDuplicateDeliveries(t *testing.T) {
	t.Parallel()
	p := startPaymentServer(t)
	smtp, vars, secret, base := p.smtp, p.vars, p.secret, p.base
	product := newProduct(t, base, p.admin, "DUP-1", 700, 5)
	buyer := buyerWithEmail(t, base, "twice")
	id, ref, _ := placeOrder(t, base, buyer, product, 1)
	const deliveries = 8
	outcomes := make([]string, deliveries)
	var wg sync.WaitGroup
	for i := range deliveries {
		wg.Go(func() {
			outcomes[i] = outcome(t, base, secret, "--reference", ref, "--status", "success", "--amount", "700", "--event-id", "evt_dup")
		})
	}
	wg.Wait()
	applied := 0
	for _, o := range outcomes {
		switch o {
		case "applied":
			applied++
		case "duplicate":
		default:
			t.Errorf("outcome %q", o)
		}
	}
	if applied != 1 {
		t.Fatalf("outcomes %v: want exactly one applied", outcomes)
	}
	if s, p := orderState(t, base, buyer, id); s != "confirmed" || p != "paid" {
		t.Errorf("order %s/%s", s, p)
	}
	mailsTo(t, smtp, "twice@example.com", 1)
	code, out, errOut := runCmd(t, vars, "", "jobs", "run", "refresh_gauges")
	if code != 0 || !strings.Contains(out, `"outbox_pending":0`) {
		t.Fatalf("jobs run refresh_gauges: exit %d\n%s%s", code, out, errOut)
	}
	if n := len(mailsTo(t, smtp, "twice@example.com", 1)); n != 1 {
		t.Errorf("%d confirmation mails, want 1", n)
	}
}

// validSecret reports whether s is a full-strength signing secret.
func validSecret(s string) bool {
	n, err := checkWebhookSecret(s)
	return err == nil && n >= webhookSecretBytesMin && strings.HasPrefix(s, webhookSecretPrefix)
}
