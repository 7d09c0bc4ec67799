package bench

import (
	"cmp"
	"slices"
	"strings"
)

// Loop modes of a Run.
const (
	closedLoop = "closed"
	openLoop   = "open"
)

// ratioTargets are DESIGN.md's throughput goals ("Performance targets"), by
// scenario then ratio name: flashstock's median throughput must be at least
// this multiple of the baseline's.
var ratioTargets = map[string]map[string]float64{
	"hotsku": {
		TargetFlashstock + "/" + TargetNaive:   30,
		TargetFlashstock + "/" + TargetCeiling: 0.3,
	},
}

// baselines are the targets flashstock is compared with, in report order.
var baselines = []string{TargetNaive, TargetRedisLock, TargetCeiling}

// runGroup names the runs one Summary is made of.
type runGroup struct {
	scenario, target, mode string
}

// Summarize groups runs by scenario, target and mode and takes medians over
// their rounds, then compares flashstock's closed-loop median throughput with
// each baseline's closed-loop median in the same scenario.
//
// Summaries come in scenario order as first seen in runs, then target order
// flashstock, naive, redislock, ceiling (others after, by name), closed loop
// before open. A ratio is left out when its baseline is missing or served
// nothing (a zero throughput has no meaningful ratio).
func Summarize(runs []Run) ([]Summary, []Ratio) {
	groups, order := groupRuns(runs)
	summaries := make([]Summary, 0, len(order))
	for _, g := range order {
		summaries = append(summaries, summarize(g, groups[g]))
	}
	return summaries, compare(summaries)
}

// groupRuns splits runs into groups, returned with their report order.
func groupRuns(runs []Run) (map[runGroup][]Run, []runGroup) {
	groups := make(map[runGroup][]Run)
	scenarioRank := make(map[string]int)
	var order []runGroup
	for _, r := range runs {
		if _, ok := scenarioRank[r.Scenario]; !ok {
			scenarioRank[r.Scenario] = len(scenarioRank)
		}
		g := runGroup{r.Scenario, r.Target, r.Mode}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	slices.SortStableFunc(order, func(a, b runGroup) int {
		return cmp.Or(
			cmp.Compare(scenarioRank[a.scenario], scenarioRank[b.scenario]),
			cmp.Compare(targetRank(a.target), targetRank(b.target)),
			strings.Compare(a.target, b.target),
			cmp.Compare(modeRank(a.mode), modeRank(b.mode)),
			strings.Compare(a.mode, b.mode),
		)
	})
	return groups, order
}

// targetRank orders flashstock first, then the baselines, then unknown
// targets.
func targetRank(target string) int {
	if target == TargetFlashstock {
		return 0
	}
	if i := slices.Index(baselines, target); i >= 0 {
		return 1 + i
	}
	return 1 + len(baselines)
}

// modeRank orders the closed loop before the open loop.
func modeRank(mode string) int {
	switch mode {
	case closedLoop:
		return 0
	case openLoop:
		return 1
	}
	return 2
}

// summarize reduces the runs of one group (at least one run).
func summarize(g runGroup, runs []Run) Summary {
	s := Summary{
		Scenario:   g.scenario,
		Target:     g.target,
		Mode:       g.mode,
		Runs:       len(runs),
		Throughput: medianOf(runs, func(r Run) float64 { return r.Throughput }),
		P50:        medianOf(runs, func(r Run) float64 { return r.Latency.P50 }),
		P99:        medianOf(runs, func(r Run) float64 { return r.Latency.P99 }),
		P999:       medianOf(runs, func(r Run) float64 { return r.Latency.P999 }),
		AuditOK:    auditOK(runs),
	}
	for _, r := range runs {
		s.Max = max(s.Max, r.Latency.Max)
		s.Errors += errorCount(r)
	}
	return s
}

// compare makes the ratios of every scenario that has a flashstock
// closed-loop summary.
func compare(summaries []Summary) []Ratio {
	var ratios []Ratio
	for _, fs := range summaries {
		if fs.Target != TargetFlashstock || fs.Mode != closedLoop {
			continue
		}
		for _, baseline := range baselines {
			b, ok := findSummary(summaries, fs.Scenario, baseline, closedLoop)
			if !ok || b.Throughput <= 0 {
				continue
			}
			ratio := Ratio{
				Scenario: fs.Scenario,
				Name:     TargetFlashstock + "/" + baseline,
				Value:    fs.Throughput / b.Throughput,
			}
			if target, ok := ratioTargets[fs.Scenario][ratio.Name]; ok {
				met := ratio.Value >= target
				ratio.Target, ratio.Met = target, &met
			}
			ratios = append(ratios, ratio)
		}
	}
	return ratios
}

// findSummary returns the summary of one scenario, target and mode.
func findSummary(summaries []Summary, scenario, target, mode string) (Summary, bool) {
	for _, s := range summaries {
		if s.Scenario == scenario && s.Target == target && s.Mode == mode {
			return s, true
		}
	}
	return Summary{}, false
}

// auditOK is true when every audited run passed, and when none was audited.
func auditOK(runs []Run) bool {
	for _, r := range runs {
		if r.Audit.Checked && !r.Audit.OK {
			return false
		}
	}
	return true
}

// errorCount is the number of a run's answers that were errors.
func errorCount(r Run) int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// medianOf is the median of f over runs: the middle value, or the mean of
// the two middle values for an even count; 0 for no runs.
func medianOf(runs []Run, f func(Run) float64) float64 {
	vs := make([]float64, len(runs))
	for i, r := range runs {
		vs[i] = f(r)
	}
	return median(vs)
}

// median sorts vs in place and returns its median (0 when empty).
func median(vs []float64) float64 {
	n := len(vs)
	if n == 0 {
		return 0
	}
	slices.Sort(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// Evaluate fills r's Summaries, Ratios, Checks and AuditOK from r.Runs.
func (r *Report) Evaluate() {
	r.Summaries, r.Ratios = Summarize(r.Runs)
	r.Checks = LatencyChecks(r.Runs)
	r.AuditOK = auditOK(r.Runs)
}
