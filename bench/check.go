package bench

import (
	"fmt"
	"math"
	"slices"
)

// CheckP99AtHalfMaxRate is the name of the latency Check.
const CheckP99AtHalfMaxRate = "p99 at half max rate (ms)"

// halfRateTolerance is how far (relative) an open-loop run's rate may be from
// the rate nearest half the maximum and still count towards the check:
// rounds may each aim at half of their own measured maximum.
const halfRateTolerance = 0.1

// DESIGN.md's latency goal ("Performance targets"): flashstock's p99 in the
// open loop at half its maximum rate within fsyncAllowanceMillis of the
// disk's own p99 fsync measured in the same run, and under fastDiskP99Millis
// whenever that fsync p99 is under fastDiskFsyncMillis. Without an fsync
// probe the goal is the plain fastDiskP99Millis.
const (
	fsyncAllowanceMillis = 5.0
	fastDiskFsyncMillis  = 5.0
	fastDiskP99Millis    = 10.0
)

// latencyCheckScenarios are the scenarios whose half-maximum open-loop runs
// are checked against the latency goal.
var latencyCheckScenarios = []string{"hotsku"}

// Check is one of DESIGN.md's performance targets that is not a throughput
// ratio, evaluated on a report's runs.
type Check struct {
	Scenario    string  `json:"scenario"`
	Connections int     `json:"connections"`
	Name        string  `json:"name"` // for example CheckP99AtHalfMaxRate
	Value       float64 `json:"value"`
	// Target is the bound Value is held to: the disk's p99 fsync + 5 ms
	// (Met is Value <= Target, and Value < 10 when that p99 is under
	// 5 ms), or 10 without an fsync probe (Met is Value < Target).
	Target float64 `json:"target"`
	Met    bool    `json:"met"`
	// Fsync is the fsync probe beside the runs Value was measured on; nil
	// without a probe.
	Fsync *DiskLatency `json:"fsync,omitempty"`
	// Detail says what Value was measured on, for example
	// "open loop at 9,660/s of max 19,320/s, 3 runs".
	Detail string `json:"detail,omitempty"`
}

// LatencyChecks evaluates the p99-at-half-the-maximum-rate target of every
// section (scenario and connection count) of a checked scenario that has
// both flashstock closed-loop and open-loop runs. The maximum rate is the
// median throughput of flashstock's closed-loop runs in the section; the
// open-loop runs whose rate is nearest half of it count (within 10 %), and
// Value is their median p99, held to their fsync probe (latencyGoal).
// Without closed-loop runs (every run open loop at a configured rate) the
// maximum is unknown and there is no check. Checks come in section order as
// first seen in runs.
func LatencyChecks(runs []Run) []Check {
	var checks []Check
	seen := make(map[section]bool)
	for _, r := range runs {
		sec := section{r.Scenario, r.Connections}
		if !slices.Contains(latencyCheckScenarios, r.Scenario) || seen[sec] {
			continue
		}
		seen[sec] = true
		if c, ok := checkP99AtHalfRate(runs, sec); ok {
			checks = append(checks, c)
		}
	}
	return checks
}

// checkP99AtHalfRate evaluates one section; false when it lacks flashstock
// closed-loop or open-loop runs.
func checkP99AtHalfRate(runs []Run, sec section) (Check, bool) {
	var closed, open []Run
	for _, r := range runs {
		if r.Scenario != sec.scenario || r.Connections != sec.connections || r.Target != TargetFlashstock {
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
		Scenario:    sec.scenario,
		Connections: sec.connections,
		Name:        CheckP99AtHalfMaxRate,
		Value:       medianOf(open, func(r Run) float64 { return r.Latency.P99 }),
		Fsync:       fsyncOf(open),
	}
	c.Target, c.Met = latencyGoal(c.Value, c.Fsync)
	rate := medianOf(open, func(r Run) float64 { return r.Rate })
	c.Detail = fmt.Sprintf("open loop at %s/s of max %s/s, %s", formatCount(rate), formatCount(peak), countRuns(len(open)))
	return c, true
}

// latencyGoal holds an order p99 (ms) to DESIGN.md's latency goal given the
// disk's fsync latency measured beside it (nil: not measured), and returns
// the bound and whether p99 meets it.
func latencyGoal(p99 float64, disk *DiskLatency) (limit float64, met bool) {
	if disk == nil {
		return fastDiskP99Millis, p99 < fastDiskP99Millis
	}
	limit = disk.P99 + fsyncAllowanceMillis
	met = p99 <= limit
	if disk.P99 < fastDiskFsyncMillis {
		met = met && p99 < fastDiskP99Millis
	}
	return limit, met
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
