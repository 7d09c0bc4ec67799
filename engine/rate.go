package engine

import "time"

// Rate is a request budget: Count requests per Period, with a burst of
// Count. The zero Rate means "no limit" (configured as "off").
type Rate struct {
	Count  int
	Period time.Duration
}

// IsOff reports whether the rate imposes no limit.
func (r Rate) IsOff() bool { return r.Count == 0 }

// RateDecision is a rate limiter's answer for one request.
type RateDecision struct {
	Allowed    bool
	Limit      int           // the burst: requests allowed at once
	Remaining  int           // requests still allowed right now
	RetryAfter time.Duration // when !Allowed: wait this long before retrying
	ResetAfter time.Duration // until the budget is fully replenished
}
