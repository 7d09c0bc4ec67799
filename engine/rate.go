package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RateCountMax is the largest request count a Rate may allow per period.
const RateCountMax = 1_000_000

// rateDigitsMax is the most digits of a count in ParseRate: RateCountMax has 7.
const rateDigitsMax = 7

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
	Limit      int           // the burst: requests allowed at once; 0 when the rate is off
	Remaining  int           // requests still allowed right now
	RetryAfter time.Duration // when !Allowed: wait this long before retrying; 0 when Allowed
	ResetAfter time.Duration // until the budget is fully replenished
}

// rateUnits maps the unit letters of the configuration syntax to periods.
var rateUnits = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// errRateSyntax is the one message for every malformed rate.
const errRateSyntax = `must be "off" or N/s, N/m or N/h with N from 1 to 1000000`

// ParseRate reads a rate from configuration: "off" (the zero Rate, no
// limit) or "N/s", "N/m", "N/h", with N a decimal integer from 1 to
// RateCountMax written without sign or leading zeros. Anything else is an
// ErrInvalid error for the field "rate". ParseRate(r.String()) == r for
// every Rate it returns.
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	bad := Invalid("rate", errRateSyntax)
	digits, unit, ok := strings.Cut(s, "/")
	period, known := rateUnits[unit]
	if !ok || !known || len(digits) == 0 || len(digits) > rateDigitsMax || digits[0] == '0' {
		return Rate{}, bad
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return Rate{}, bad
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > RateCountMax {
		return Rate{}, bad
	}
	return Rate{Count: n, Period: period}, nil
}

// Validate reports whether r is a rate ParseRate could return: the zero
// Rate, or Count from 1 to RateCountMax per second, minute or hour.
func (r Rate) Validate() error {
	if r == (Rate{}) {
		return nil
	}
	if r.Count < 1 || r.Count > RateCountMax {
		return Invalid("rate", "count must be between 1 and 1000000")
	}
	if r.Period != time.Second && r.Period != time.Minute && r.Period != time.Hour {
		return Invalid("rate", "period must be a second, a minute or an hour")
	}
	return nil
}

// String formats r in ParseRate's syntax ("off", "5/m"). A Rate that fails
// Validate is formatted as count/duration, which ParseRate refuses.
func (r Rate) String() string {
	if r == (Rate{}) {
		return "off"
	}
	switch r.Period {
	case time.Second:
		return strconv.Itoa(r.Count) + "/s"
	case time.Minute:
		return strconv.Itoa(r.Count) + "/m"
	case time.Hour:
		return strconv.Itoa(r.Count) + "/h"
	}
	return fmt.Sprintf("%d/%s", r.Count, r.Period)
}

// Step is one step of the generic cell rate algorithm (GCRA) for a request
// arriving at now. tat is the key's theoretical arrival time as returned by
// the previous Step (the zero Time for a key not seen yet); Step returns the
// one to keep and the decision. The burst is Count and the emission interval
// Period/Count, as redis_rate's Limit{Rate: Count, Burst: Count, Period}: a
// fresh key may make Count requests at once, then one per emission interval.
//
// A denied request consumes nothing: Step returns tat unchanged. A key whose
// tat is not after now has its full budget back, so it may be forgotten.
// Over any span of time d starting from a fresh key, at most
// Count + d/(Period/Count) requests are allowed.
//
// An off rate allows everything and returns tat unchanged. Step panics if r
// fails Validate: limiters validate their rate when they are built.
func (r Rate) Step(tat, now time.Time) (time.Time, RateDecision) {
	if r.IsOff() {
		return tat, RateDecision{Allowed: true}
	}
	if err := r.Validate(); err != nil {
		panic(fmt.Sprintf("engine: Step on an invalid rate %s: %v", r, err))
	}
	emission := r.Period / time.Duration(r.Count)
	burstOffset := emission * time.Duration(r.Count)
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(emission)
	diff := now.Sub(newTAT.Add(-burstOffset)) // how long ago this request became conforming
	if diff < 0 {
		return tat, RateDecision{Limit: r.Count, RetryAfter: -diff, ResetAfter: tat.Sub(now)}
	}
	return newTAT, RateDecision{
		Allowed:    true,
		Limit:      r.Count,
		Remaining:  int(diff / emission),
		ResetAfter: newTAT.Sub(now),
	}
}
