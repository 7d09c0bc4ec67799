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

// ratioGoal is one of DESIGN.md's throughput goals: flashstock's median
// throughput must be at least target times the baseline's; moonshot, when
// not 0, is the stretch goal.
type ratioGoal struct {
	target, moonshot float64
}

// ratioTargets are DESIGN.md's throughput goals ("Performance targets"), by
// scenario then ratio name, at every connection count.
var ratioTargets = map[string]map[string]ratioGoal{
	"hotsku": {
		TargetFlashstock + "/" + TargetNaive:   {target: 30},
		TargetFlashstock + "/" + TargetCeiling: {target: 0.35, moonshot: 0.5},
	},
	"spread":  {TargetFlashstock + "/" + TargetNaive: {target: 5}},
	"catalog": {TargetFlashstock + "/" + TargetNaive: {target: 10}},
	"multi":   {TargetFlashstock + "/" + TargetNaive: {target: 10}},
}

// baselines are the targets flashstock is compared with, in report order.
var baselines = []string{TargetNaive, TargetRedisLock, TargetCeiling}

// section is a scenario at one connection count: what a table block, a
// plot, the ratios and the checks are made of (hotsku runs at several).
type section struct {
	scenario    string
	connections int
}

// runGroup names the runs one Summary is made of.
type runGroup struct {
	section
	target, mode string
}

// Summarize groups runs by scenario, connections, target and mode and takes
// medians over their rounds, then compares flashstock's closed-loop median
// throughput with each baseline's closed-loop median in the same scenario at
// the same connection count.
//
// Summaries come in scenario order as first seen in runs, then fewer
// connections first, then target order flashstock, naive, redislock,
// ceiling (others after, by name), closed loop before open. A ratio is left
// out when its baseline is missing or served nothing (a zero throughput has
// no meaningful ratio).
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
		g := runGroup{section{r.Scenario, r.Connections}, r.Target, r.Mode}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	slices.SortStableFunc(order, func(a, b runGroup) int {
		return cmp.Or(
			cmp.Compare(scenarioRank[a.scenario], scenarioRank[b.scenario]),
			cmp.Compare(a.connections, b.connections),
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
		Scenario:    g.scenario,
		Connections: g.connections,
		Target:      g.target,
		Mode:        g.mode,
		Runs:        len(runs),
		Throughput:  medianOf(runs, func(r Run) float64 { return r.Throughput }),
		P50:         medianOf(runs, func(r Run) float64 { return r.Latency.P50 }),
		P99:         medianOf(runs, func(r Run) float64 { return r.Latency.P99 }),
		P999:        medianOf(runs, func(r Run) float64 { return r.Latency.P999 }),
		AuditOK:     auditOK(runs),
		Fsync:       fsyncOf(runs),
	}
	for _, r := range runs {
		s.Max = max(s.Max, r.Latency.Max)
		s.Errors += errorCount(r)
		if r.Memory != nil {
			s.PeakRSS = max(s.PeakRSS, r.Memory.PeakBytes)
		}
	}
	return s
}

// fsyncOf sums up the fsync probes of runs: the medians of their p50 and
// p99, the largest max, every sample; nil when no run had a probe.
func fsyncOf(runs []Run) *DiskLatency {
	var probed []Run
	for _, r := range runs {
		if r.Fsync != nil {
			probed = append(probed, r)
		}
	}
	if len(probed) == 0 {
		return nil
	}
	d := &DiskLatency{
		P50: medianOf(probed, func(r Run) float64 { return r.Fsync.P50 }),
		P99: medianOf(probed, func(r Run) float64 { return r.Fsync.P99 }),
	}
	for _, r := range probed {
		d.Samples += r.Fsync.Samples
		d.Max = max(d.Max, r.Fsync.Max)
	}
	return d
}

// compare makes the ratios of every section that has a flashstock
// closed-loop summary.
func compare(summaries []Summary) []Ratio {
	var ratios []Ratio
	for _, fs := range summaries {
		if fs.Target != TargetFlashstock || fs.Mode != closedLoop {
			continue
		}
		sec := section{fs.Scenario, fs.Connections}
		for _, baseline := range baselines {
			b, ok := findSummary(summaries, sec, baseline, closedLoop)
			if !ok || b.Throughput <= 0 {
				continue
			}
			ratio := Ratio{
				Scenario:           fs.Scenario,
				Connections:        fs.Connections,
				Name:               TargetFlashstock + "/" + baseline,
				Value:              fs.Throughput / b.Throughput,
				Throughput:         fs.Throughput,
				BaselineThroughput: b.Throughput,
			}
			if goal, ok := ratioTargets[fs.Scenario][ratio.Name]; ok {
				met := ratio.Value >= goal.target
				ratio.Target, ratio.Met = goal.target, &met
				if goal.moonshot > 0 {
					landed := ratio.Value >= goal.moonshot
					ratio.Moonshot, ratio.MoonshotMet = goal.moonshot, &landed
				}
			}
			ratios = append(ratios, ratio)
		}
	}
	return ratios
}

// findSummary returns the summary of one section, target and mode.
func findSummary(summaries []Summary, sec section, target, mode string) (Summary, bool) {
	for _, s := range summaries {
		if s.Scenario == sec.scenario && s.Connections == sec.connections && s.Target == target && s.Mode == mode {
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
