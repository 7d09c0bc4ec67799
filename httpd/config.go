package httpd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Defaults for Config fields left zero.
const (
	readTimeoutDefault    = 10 * time.Second
	writeTimeoutDefault   = 10 * time.Second
	idleTimeoutDefault    = 60 * time.Second
	requestTimeoutDefault = 5 * time.Second
	bodyBytesMaxDefault   = 1 << 20
	headerBytesMaxDefault = 16 << 10
	concurrencyMaxDefault = 16 * 1024
	bcryptCostDefault     = 10
	jwtSecretBytesMin     = 32

	// Config.HeaderBytesMax is the read buffer of every connection: below
	// headerLimitBytesLow ordinary requests (a browser's cookies, a JWT)
	// would not fit, above headerLimitBytesHigh each of the concurrent
	// connections could pin that much memory.
	headerLimitBytesLow  = 1 << 10
	headerLimitBytesHigh = 1 << 20

	// A webhook secret is "whsec_" (optional, as the reference library
	// has it) and the standard base64 of the key. Standard Webhooks asks for
	// 24 to 64 random bytes; cmd enforces that in prod, the transport only
	// needs a key it can use.
	webhookSecretPrefix   = "whsec_"
	webhookSecretBytesMax = 1024
)

// Config configures the HTTP transport. Zero durations and sizes take the
// defaults above; JWTSecret is required, and WebhookSecret is required when
// Deps.Payments is set.
type Config struct {
	ReadTimeout    time.Duration // whole request read, headers and body
	WriteTimeout   time.Duration // whole response write
	IdleTimeout    time.Duration // keep-alive connection idle time
	RequestTimeout time.Duration // bound on the work behind one request
	BodyBytesMax   int           // larger request bodies get 413
	HeaderBytesMax int           // larger request line + headers get 431; 1 KiB..1 MiB
	ConcurrencyMax int           // connections served at once
	JWTSecret      []byte        // HS256 key, at least 32 bytes
	AccessTTL      time.Duration // access-token lifetime
	RefreshTTL     time.Duration // refresh-token lifetime
	BcryptCost     int           // password hashing cost (tests lower it)
	Limits         engine.Limits // per-order limits; zero fields = the hard maxima
	WebhookSecret  string        // payment webhook signing secret, "whsec_" + base64; never logged
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadTimeout, readTimeoutDefault)
	def(&c.WriteTimeout, writeTimeoutDefault)
	def(&c.IdleTimeout, idleTimeoutDefault)
	def(&c.RequestTimeout, requestTimeoutDefault)
	def(&c.AccessTTL, 15*time.Minute)
	def(&c.RefreshTTL, 168*time.Hour)
	if c.BodyBytesMax == 0 {
		c.BodyBytesMax = bodyBytesMaxDefault
	}
	if c.HeaderBytesMax == 0 {
		c.HeaderBytesMax = headerBytesMaxDefault
	}
	if c.ConcurrencyMax == 0 {
		c.ConcurrencyMax = concurrencyMaxDefault
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcryptCostDefault
	}
}

// Validate reports every unusable setting.
func (c Config) Validate() error {
	var errs []error
	if len(c.JWTSecret) < jwtSecretBytesMin {
		errs = append(errs, fmt.Errorf("jwt secret: need at least %d bytes, have %d", jwtSecretBytesMin, len(c.JWTSecret)))
	}
	for name, d := range map[string]time.Duration{"read timeout": c.ReadTimeout, "write timeout": c.WriteTimeout,
		"idle timeout": c.IdleTimeout, "request timeout": c.RequestTimeout,
		"access ttl": c.AccessTTL, "refresh ttl": c.RefreshTTL} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", name))
		}
	}
	if c.BodyBytesMax < 0 || c.ConcurrencyMax < 0 {
		errs = append(errs, errors.New("body size and concurrency limits must not be negative"))
	}
	if c.HeaderBytesMax != 0 && (c.HeaderBytesMax < headerLimitBytesLow || c.HeaderBytesMax > headerLimitBytesHigh) {
		errs = append(errs, fmt.Errorf("header limit: must be between %d and %d bytes, not %d",
			headerLimitBytesLow, headerLimitBytesHigh, c.HeaderBytesMax))
	}
	if c.Limits != (engine.Limits{}) {
		if err := c.Limits.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("order limits: %w", err))
		}
	}
	if c.WebhookSecret != "" {
		if _, err := WebhookKey(c.WebhookSecret); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BcryptCost != 0 && (c.BcryptCost < 4 || c.BcryptCost > 31) {
		errs = append(errs, errors.New("bcrypt cost: must be between 4 and 31"))
	}
	return errors.Join(errs...)
}

// WebhookKey returns the signing key of a webhook secret: the standard
// base64 after an optional "whsec_" prefix, as the reference library reads
// it. Its errors never quote the secret.
func WebhookKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhookSecretPrefix))
	if err != nil {
		return nil, errors.New("webhook secret: must be standard base64, after an optional whsec_ prefix")
	}
	if len(key) < 1 || len(key) > webhookSecretBytesMax {
		return nil, fmt.Errorf("webhook secret: need 1 to %d bytes, have %d", webhookSecretBytesMax, len(key))
	}
	return key, nil
}
