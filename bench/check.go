package bench

import (
	"fmt"
	"math"
)

// CheckP99AtHalfMaxRate is the name of the latency Check.
const CheckP99AtHalfMaxRate = "p99 at half max rate (ms)"

// halfRateTolerance is how far (relative) an open-loop run's rate may be from
// the rate nearest half the maximum and still count towards the check:
// rounds may each aim at half of their own measured maximum.
const halfRateTolerance = 0.1

// p99AtHalfRateTargets are DESIGN.md's latency goals ("Performance
// targets"), by scenario: flashstock's p99 (ms) in the open loop at half its
// maximum rate must stay below this.
var p99AtHalfRateTargets = map[string]float64{
	"hotsku": 10,
}

// Check is one of DESIGN.md's performance targets that is not a throughput
// ratio, evaluated on a report's runs. Met is Value < Target.
type Check struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"` // for example CheckP99AtHalfMaxRate
	Value    float64 `json:"value"`
	Target   float64 `json:"target"`
	Met      bool    `json:"met"`
	// Detail says what Value was measured on, for example
	// "open loop at 9,660/s of max 19,320/s, 3 runs".
	Detail string `json:"detail,omitempty"`
}

// LatencyChecks evaluates the p99-at-half-the-maximum-rate target of every
// scenario that has one and both flashstock closed-loop and open-loop runs.
// The maximum rate is the median throughput of flashstock's closed-loop runs
// in the scenario; the open-loop runs whose rate is nearest half of it count
// (within 10 %), and Value is their median p99. Without closed-loop runs
// (every run open loop at a configured rate) the maximum is unknown and there
// is no check. Checks come in scenario order as first seen in runs.
func LatencyChecks(runs []Run) []Check {
	var checks []Check
	seen := make(map[string]bool)
	for _, r := range runs {
		target, ok := p99AtHalfRateTargets[r.Scenario]
		if !ok || seen[r.Scenario] {
			continue
		}
		seen[r.Scenario] = true
		if c, ok := checkP99AtHalfRate(runs, r.Scenario, target); ok {
			checks = append(checks, c)
		}
	}
	return checks
}

// checkP99AtHalfRate evaluates one scenario; false when it lacks flashstock
// closed-loop or open-loop runs.
func checkP99AtHalfRate(runs []Run, scenario string, target float64) (Check, bool) {
	var closed, open []Run
	for _, r := range runs {
		if r.Scenario != scenario || r.Target != TargetFlashstock {
			continue
		}
		switch r.Mode {
		case closedLoop:
			closed = append(closed, r)
		case openLoop:
			open = append(open, r)
		}
	}
	if len(open) == 0 || len(closed) == 0 {
		return Check{}, false
	}
	peak := medianOf(closed, func(r Run) float64 { return r.Throughput })
	open = nearestRate(open, peak/2)
	c := Check{
		Scenario: scenario,
		Name:     CheckP99AtHalfMaxRate,
		Value:    medianOf(open, func(r Run) float64 { return r.Latency.P99 }),
		Target:   target,
	}
	c.Met = c.Value < c.Target
	rate := medianOf(open, func(r Run) float64 { return r.Rate })
	c.Detail = fmt.Sprintf("open loop at %s/s of max %s/s, %s", formatCount(rate), formatCount(peak), countRuns(len(open)))
	return c, true
}

// nearestRate returns the runs (at least one) whose rate is within
// halfRateTolerance of the rate nearest want.
func nearestRate(runs []Run, want float64) []Run {
	nearest := runs[0].Rate
	for _, r := range runs[1:] {
		if math.Abs(r.Rate-want) < math.Abs(nearest-want) {
			nearest = r.Rate
		}
	}
	var near []Run
	for _, r := range runs {
		if math.Abs(r.Rate-nearest) <= halfRateTolerance*nearest {
			near = append(near, r)
		}
	}
	return near
}

// countRuns is "1 run" or "n runs".
func countRuns(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}
