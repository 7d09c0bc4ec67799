package httpd

import (
	"context"

	"github.com/flashstock/flashstock/engine"
)

// RateLimiter decides whether one more request under key fits its rate.
type RateLimiter interface {
	// Allow counts one request under key and says whether it conforms.
	Allow(ctx context.Context, key string) (engine.RateDecision, error)
}
