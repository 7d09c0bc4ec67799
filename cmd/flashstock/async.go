package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/httpd"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/persist"
	"github.com/flashstock/flashstock/usecase"
)

// Webhook secrets (Standard Webhooks): "whsec_" + base64 of 24 to 64
// random bytes. httpd.WebhookKey reads them (the prefix is optional, as in
// the reference library); prod refuses keys shorter than
// webhookSecretBytesMin, dev accepts them (test secrets).
const (
	webhookSecretPrefix   = "whsec_"
	webhookSecretBytesMin = 24
	webhookSecretFile     = "webhook-secret" // in the data dir, dev only
)

// checkWebhookSecret reports whether s gives a signing key, and its length.
// Its messages never quote the secret.
func checkWebhookSecret(s string) (keyBytes int, err error) {
	key, err := httpd.WebhookKey(s)
	if err != nil {
		return 0, fmt.Errorf("want whsec_ followed by the standard base64 of the key (24 to 64 random bytes): %w", err)
	}
	return len(key), nil
}

// newWebhookSecret returns a fresh secret of 32 random bytes.
func newWebhookSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on Linux
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// devWebhookSecret returns the dev webhook secret kept in dataDir, creating
// it on first use, so that `flashstock serve` and `flashstock webhook send`
// agree without configuration. created is true when it was just made.
func devWebhookSecret(dataDir string) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, webhookSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		secret = strings.TrimSpace(string(b))
		if _, err := checkWebhookSecret(secret); err != nil {
			return "", false, fmt.Errorf("%s: %w", path, err)
		}
		return secret, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("dev webhook secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", false, fmt.Errorf("dev webhook secret: %w", err)
	}
	secret = newWebhookSecret()
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("dev webhook secret: %w", err)
	}
	return secret, true, nil
}

// resolveWebhookSecret fills in the dev secret when none is configured:
// the one kept in the data dir, or, when the data dir cannot be written
// (a read-only container), a random one for this start.
// where says where the secret came from, for a developer to read.
func resolveWebhookSecret(c *config, log zerolog.Logger) (where string) {
	if !c.webhookGenerated {
		return ""
	}
	path := filepath.Join(c.DataDir, webhookSecretFile)
	secret, created, err := devWebhookSecret(c.DataDir)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("dev webhook secret not kept in the data dir: using a random one for this start")
		secret, where = newWebhookSecret(), "random for this start"
	case created:
		where = "generated into " + path
	default:
		where = "kept in " + path
	}
	c.WebhookSecret = secret
	return where
}

// newMailSender returns the SMTP sender, or in its absence one that logs
// each mail, and the test of permanent errors.
func newMailSender(c config, log zerolog.Logger) (actors.MailSender, func(error) bool, error) {
	if c.SMTPURL == "" {
		return smtpmail.NewLogSender(log.With().Str("component", "mailer").Logger()), nil, nil
	}
	s, err := smtpmail.New(smtpmail.Config{URL: c.SMTPURL, From: c.MailFrom})
	if err != nil {
		return nil, nil, fmt.Errorf("smtp: %w", err)
	}
	return s, smtpmail.Permanent, nil
}

// newTaskRunner builds the scheduled tasks and their runner: expiry cancels
// through orders, the job lock is Redis's when configured.
func newTaskRunner(c config, d *deps, orders usecase.OrderTransitioner, gauges *usecase.GaugeBoard, obs actors.Observer,
	log zerolog.Logger) (*actors.TaskRunner, error) {
	work, err := usecase.NewTasks(d.store, orders, gauges, c.tasksConfig())
	if err != nil {
		return nil, err
	}
	tasks := make([]actors.Task, len(work))
	for i, t := range work {
		tasks[i] = actors.Task{Name: t.Name, Schedule: t.Schedule, Run: t.Run, PerNode: t.PerNode}
	}
	var locks actors.JobLocks
	if d.redis != nil {
		locks = d.redis
	}
	rc := c.runnerConfig()
	rc.Observer = obs
	return actors.NewTaskRunner(tasks, d.store, locks, rc, log)
}

// storeTransitioner moves orders in the database only: the CLI's way to
// run the expiry task without SKU actors of its own (a second writer of
// stock would break the single-writer rule). The returning holds it writes
// are released by the running server's repair loop (FLASHSTOCK_REPAIR_INTERVAL).
type storeTransitioner struct{ store *persist.Store }

// TransitionOrder applies the transition; see storeTransitioner.
func (t storeTransitioner) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	o, _, err := t.store.TransitionOrder(ctx, cmd.OrderID, func(cur engine.Order) (engine.Order, error) {
		return cur.Transition(cmd.To, cmd.By, cmd.Reason, cmd.Now)
	})
	return o, err
}
