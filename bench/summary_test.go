package bench

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// run is a synthetic closed-loop run.
func run(scenario, target string, round int, throughput, p99 float64) Run {
	return Run{
		Scenario: scenario, Target: target, Round: round, Mode: closedLoop,
		Throughput: throughput,
		Latency:    Latency{P50: p99 / 4, P99: p99, P999: p99 * 2, Max: p99 * 3},
		Curve:      []Point{{0, p99 / 8}, {50, p99 / 4}, {90, p99 / 2}, {99, p99}, {99.9, p99 * 2}, {100, p99 * 3}},
	}
}

// openRun is a synthetic open-loop run at rate.
func openRun(scenario string, round int, rate, p99 float64) Run {
	r := run(scenario, TargetFlashstock, round, rate, p99)
	r.Mode, r.Rate = openLoop, rate
	return r
}

// audited returns r audited, passing or not.
func audited(r Run, ok bool) Run {
	r.Audit = Audit{Checked: true, OK: ok}
	if !ok {
		r.Audit.Problems = []string{"stock went negative"}
	}
	return r
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{7}, 7},
		{"odd", []float64{9, 1, 5}, 5},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"even two", []float64{10, 20}, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSummarizeMedians(t *testing.T) {
	tests := []struct {
		name     string
		runs     []Run
		want     Summary
		wantRuns int
	}{
		{
			name: "odd rounds",
			runs: []Run{
				run("hotsku", TargetFlashstock, 1, 300, 8),
				run("hotsku", TargetFlashstock, 2, 100, 2),
				run("hotsku", TargetFlashstock, 3, 200, 4),
			},
			want: Summary{Scenario: "hotsku", Target: TargetFlashstock, Mode: closedLoop, Runs: 3,
				Throughput: 200, P50: 1, P99: 4, P999: 8, Max: 24, AuditOK: true},
		},
		{
			name: "even rounds",
			runs: []Run{
				run("hotsku", TargetFlashstock, 1, 100, 2),
				run("hotsku", TargetFlashstock, 2, 400, 16),
				run("hotsku", TargetFlashstock, 3, 200, 4),
				run("hotsku", TargetFlashstock, 4, 300, 8),
			},
			want: Summary{Scenario: "hotsku", Target: TargetFlashstock, Mode: closedLoop, Runs: 4,
				Throughput: 250, P50: 1.5, P99: 6, P999: 12, Max: 48, AuditOK: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := Summarize(tt.runs)
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("Summarize = %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestSummarizeErrorsAndAudit(t *testing.T) {
	a := audited(run("sellout", TargetFlashstock, 1, 10, 1), true)
	a.Errors = map[string]int64{"400 insufficient_stock": 5, "503 overloaded": 2}
	b := audited(run("sellout", TargetFlashstock, 2, 10, 1), true)
	b.Errors = map[string]int64{"400 insufficient_stock": 3}
	failed := audited(run("sellout", TargetNaive, 1, 10, 1), false)
	passed := audited(run("sellout", TargetNaive, 2, 10, 1), true)
	unaudited := run("sellout", TargetCeiling, 1, 10, 1)

	got, _ := Summarize([]Run{a, failed, unaudited, b, passed})
	want := map[string]struct {
		errors  int64
		auditOK bool
	}{
		TargetFlashstock: {10, true},
		TargetNaive:      {0, false}, // one failed audit fails the summary
		TargetCeiling:    {0, true},  // nothing audited
	}
	if len(got) != len(want) {
		t.Fatalf("got %d summaries, want %d: %+v", len(got), len(want), got)
	}
	for _, s := range got {
		if w := want[s.Target]; s.Errors != w.errors || s.AuditOK != w.auditOK {
			t.Errorf("%s: errors %d audit %v, want %d %v", s.Target, s.Errors, s.AuditOK, w.errors, w.auditOK)
		}
	}
}

func TestSummarizeOrder(t *testing.T) {
	runs := []Run{
		run("sellout", TargetCeiling, 1, 1, 1),
		openRun("hotsku", 1, 1, 1),
		run("hotsku", TargetNaive, 1, 1, 1),
		run("sellout", "custom", 1, 1, 1),
		run("hotsku", TargetRedisLock, 1, 1, 1),
		run("sellout", TargetFlashstock, 1, 1, 1),
		run("hotsku", TargetFlashstock, 1, 1, 1),
		run("hotsku", TargetCeiling, 1, 1, 1),
	}
	got, _ := Summarize(runs)
	var order []string
	for _, s := range got {
		order = append(order, s.Scenario+" "+s.Target+" "+s.Mode)
	}
	want := []string{
		"sellout flashstock closed", "sellout ceiling closed", "sellout custom closed",
		"hotsku flashstock closed", "hotsku flashstock open", "hotsku naive closed",
		"hotsku redislock closed", "hotsku ceiling closed",
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order:\n got  %s\n want %s", strings.Join(order, ", "), strings.Join(want, ", "))
	}
}

func TestSummarizeRatios(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		runs []Run
		want []Ratio
	}{
		{
			name: "hotsku targets met, moonshot missed",
			runs: []Run{
				run("hotsku", TargetCeiling, 1, 80000, 1),
				run("hotsku", TargetFlashstock, 1, 32000, 5),
				run("hotsku", TargetNaive, 1, 800, 80),
				run("hotsku", TargetRedisLock, 1, 1600, 40),
			},
			want: []Ratio{
				{Scenario: "hotsku", Name: "flashstock/naive", Value: 40, Throughput: 32000, BaselineThroughput: 800,
					Target: 30, Met: &yes},
				{Scenario: "hotsku", Name: "flashstock/redislock", Value: 20, Throughput: 32000, BaselineThroughput: 1600},
				{Scenario: "hotsku", Name: "flashstock/ceiling", Value: 0.4, Throughput: 32000, BaselineThroughput: 80000,
					Target: 0.35, Met: &yes, Moonshot: 0.5, MoonshotMet: &no},
			},
		},
		{
			name: "hotsku moonshot landed",
			runs: []Run{run("hotsku", TargetCeiling, 1, 60000, 1), run("hotsku", TargetFlashstock, 1, 30000, 5)},
			want: []Ratio{{Scenario: "hotsku", Name: "flashstock/ceiling", Value: 0.5, Throughput: 30000,
				BaselineThroughput: 60000, Target: 0.35, Met: &yes, Moonshot: 0.5, MoonshotMet: &yes}},
		},
		{
			name: "hotsku targets missed, medians compared",
			runs: []Run{
				run("hotsku", TargetFlashstock, 1, 16000, 5),
				run("hotsku", TargetNaive, 1, 700, 80),
				run("hotsku", TargetFlashstock, 2, 18000, 5),
				run("hotsku", TargetNaive, 2, 900, 80),
				run("hotsku", TargetCeiling, 1, 85000, 1),
				run("hotsku", TargetCeiling, 2, 75000, 1),
			},
			want: []Ratio{
				{Scenario: "hotsku", Name: "flashstock/naive", Value: 21.25, Throughput: 17000, BaselineThroughput: 800,
					Target: 30, Met: &no},
				{Scenario: "hotsku", Name: "flashstock/ceiling", Value: 0.2125, Throughput: 17000,
					BaselineThroughput: 80000, Target: 0.35, Met: &no, Moonshot: 0.5, MoonshotMet: &no},
			},
		},
		{
			name: "spread, catalog and multi targets",
			runs: []Run{
				run("spread", TargetNaive, 1, 3000, 1),
				run("spread", TargetFlashstock, 1, 15000, 1),
				run("spread", TargetRedisLock, 1, 2500, 1),
				run("catalog", TargetNaive, 1, 1000, 1),
				run("catalog", TargetFlashstock, 1, 9000, 1),
				run("multi", TargetNaive, 1, 100, 1),
				run("multi", TargetFlashstock, 1, 1000, 1),
			},
			want: []Ratio{
				{Scenario: "spread", Name: "flashstock/naive", Value: 5, Throughput: 15000, BaselineThroughput: 3000,
					Target: 5, Met: &yes},
				{Scenario: "spread", Name: "flashstock/redislock", Value: 6, Throughput: 15000, BaselineThroughput: 2500},
				{Scenario: "catalog", Name: "flashstock/naive", Value: 9, Throughput: 9000, BaselineThroughput: 1000,
					Target: 10, Met: &no},
				{Scenario: "multi", Name: "flashstock/naive", Value: 10, Throughput: 1000, BaselineThroughput: 100,
					Target: 10, Met: &yes},
			},
		},
		{
			name: "no target for sellout",
			runs: []Run{
				run("sellout", TargetNaive, 1, 100, 1),
				run("sellout", TargetFlashstock, 1, 500, 1),
			},
			want: []Ratio{{Scenario: "sellout", Name: "flashstock/naive", Value: 5, Throughput: 500, BaselineThroughput: 100}},
		},
		{
			name: "each connection count compared with its own",
			runs: []Run{
				withConns(run("hotsku", TargetFlashstock, 1, 18000, 5), 64),
				withConns(run("hotsku", TargetNaive, 1, 900, 5), 64),
				withConns(run("hotsku", TargetFlashstock, 1, 25000, 5), 256),
				withConns(run("hotsku", TargetNaive, 1, 1000, 5), 256),
			},
			want: []Ratio{
				{Scenario: "hotsku", Connections: 64, Name: "flashstock/naive", Value: 20, Throughput: 18000,
					BaselineThroughput: 900, Target: 30, Met: &no},
				{Scenario: "hotsku", Connections: 256, Name: "flashstock/naive", Value: 25, Throughput: 25000,
					BaselineThroughput: 1000, Target: 30, Met: &no},
			},
		},
		{
			name: "no flashstock closed loop, no ratio",
			runs: []Run{run("hotsku", TargetNaive, 1, 100, 1), openRun("hotsku", 1, 100, 1)},
		},
		{
			name: "baseline served nothing, no ratio",
			runs: []Run{run("hotsku", TargetNaive, 1, 0, 1), run("hotsku", TargetFlashstock, 1, 100, 1)},
		},
		{
			name: "baseline at another connection count, no ratio",
			runs: []Run{withConns(run("hotsku", TargetNaive, 1, 10, 1), 64), withConns(run("hotsku", TargetFlashstock, 1, 100, 1), 256)},
		},
		{
			name: "open-loop baseline not compared",
			runs: []Run{run("hotsku", TargetFlashstock, 1, 100, 1), func() Run {
				r := run("hotsku", TargetNaive, 1, 10, 1)
				r.Mode = openLoop
				return r
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := Summarize(tt.runs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ratios:\n got  %s\n want %s", ratiosString(got), ratiosString(tt.want))
			}
		})
	}
}

// withConns returns r run at n connections.
func withConns(r Run, n int) Run {
	r.Connections = n
	return r
}

// TestSummarizeSections: runs at several connection counts are summed up
// apart, fewer connections first; the peak resident memory and the fsync
// probes are carried into each summary.
func TestSummarizeSections(t *testing.T) {
	mem := func(r Run, peak int64) Run { r.Memory = &Memory{StartBytes: 1, PeakBytes: peak, EndBytes: 1}; return r }
	probe := func(r Run, p50, p99, most float64, n int64) Run {
		r.Fsync = &DiskLatency{Samples: n, P50: p50, P99: p99, Max: most}
		return r
	}
	runs := []Run{
		mem(withConns(run("hotsku", TargetFlashstock, 1, 25000, 5), 256), 300<<20),
		mem(withConns(run("hotsku", TargetFlashstock, 1, 18000, 5), 64), 200<<20),
		mem(withConns(run("hotsku", TargetFlashstock, 2, 19000, 5), 64), 250<<20),
		withConns(run("hotsku", TargetNaive, 1, 900, 5), 64),
		probe(withConns(openRun("hotsku", 1, 12000, 8), 256), 1, 4, 30, 900),
		probe(withConns(openRun("hotsku", 2, 12000, 9), 256), 2, 6, 20, 800),
		probe(withConns(openRun("hotsku", 3, 12000, 7), 256), 3, 5, 10, 700),
	}
	got, _ := Summarize(runs)
	var order []string
	for _, s := range got {
		order = append(order, fmt.Sprintf("%s@%d %s %s", s.Scenario, s.Connections, s.Target, s.Mode))
	}
	want := []string{"hotsku@64 flashstock closed", "hotsku@64 naive closed", "hotsku@256 flashstock closed",
		"hotsku@256 flashstock open"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("order:\n got  %v\n want %v", order, want)
	}
	if got[0].Throughput != 18500 || got[0].PeakRSS != 250<<20 || got[1].PeakRSS != 0 || got[2].PeakRSS != 300<<20 {
		t.Errorf("throughput %v, peak RSS %d %d %d; want 18500 and 250, 0, 300 MiB", got[0].Throughput,
			got[0].PeakRSS, got[1].PeakRSS, got[2].PeakRSS)
	}
	if got[0].Fsync != nil {
		t.Errorf("closed loop has an fsync probe: %+v", got[0].Fsync)
	}
	if f := got[3].Fsync; f == nil || *f != (DiskLatency{Samples: 2400, P50: 2, P99: 5, Max: 30}) {
		t.Errorf("open loop fsync = %+v; want medians p50 2, p99 5, max 30 over 2400 samples", f)
	}
}

func ratiosString(rs []Ratio) string {
	var b strings.Builder
	for _, r := range rs {
		met := "nil"
		if r.Met != nil {
			met = map[bool]string{true: "met", false: "missed"}[*r.Met]
		}
		b.WriteString(r.Scenario + " " + r.Name + " " + formatMillis(r.Value) + " " + formatMillis(r.Target) + " " + met + "; ")
	}
	return b.String()
}

func TestLatencyChecks(t *testing.T) {
	closed := []Run{
		run("hotsku", TargetFlashstock, 1, 20000, 5),
		run("hotsku", TargetFlashstock, 2, 19000, 5),
		run("hotsku", TargetFlashstock, 3, 21000, 5),
	}
	tests := []struct {
		name       string
		runs       []Run
		wantValue  float64
		wantMet    bool
		wantDetail string
	}{
		{
			name: "met, other rates ignored",
			runs: append(slices.Clone(closed),
				openRun("hotsku", 1, 10000, 4), openRun("hotsku", 2, 9800, 6), openRun("hotsku", 3, 10100, 5),
				openRun("hotsku", 1, 18000, 90), openRun("hotsku", 1, 2000, 1)),
			wantValue: 5, wantMet: true,
			wantDetail: "open loop at 10,000/s of max 20,000/s, 3 runs",
		},
		{
			name:      "missed",
			runs:      append(slices.Clone(closed), openRun("hotsku", 1, 10000, 12)),
			wantValue: 12, wantMet: false,
			wantDetail: "open loop at 10,000/s of max 20,000/s, 1 run",
		},
		{
			name:      "exactly 10 ms is missed",
			runs:      append(slices.Clone(closed), openRun("hotsku", 1, 10000, 10)),
			wantValue: 10, wantMet: false,
			wantDetail: "open loop at 10,000/s of max 20,000/s, 1 run",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LatencyChecks(tt.runs)
			want := []Check{{Scenario: "hotsku", Name: CheckP99AtHalfMaxRate, Value: tt.wantValue,
				Target: 10, Met: tt.wantMet, Detail: tt.wantDetail}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("LatencyChecks =\n %+v, want\n %+v", got, want)
			}
		})
	}
}

// TestLatencyGoal: the order p99 at half the maximum rate is held to the
// disk's own p99 fsync + 5 ms, and under 10 ms whenever that is under 5 ms;
// without a probe, under 10 ms.
func TestLatencyGoal(t *testing.T) {
	disk := func(p99 float64) *DiskLatency {
		return &DiskLatency{Samples: 100, P50: p99 / 2, P99: p99, Max: p99 * 2}
	}
	tests := []struct {
		name      string
		p99       float64
		disk      *DiskLatency
		wantLimit float64
		wantMet   bool
	}{
		{"no probe, under 10", 9.9, nil, 10, true},
		{"no probe, 10 is missed", 10, nil, 10, false},
		{"fast disk, within 5 ms", 6, disk(2), 7, true},
		{"fast disk, exactly 5 ms above", 7, disk(2), 7, true},
		{"fast disk, more than 5 ms above", 7.5, disk(2), 7, false},
		{"slow disk, within 5 ms", 24, disk(20), 25, true},
		{"slow disk, over", 40, disk(20), 25, false},
		{"slow disk: 10 ms is no bound", 12, disk(8), 13, true},
		{"at 5 ms fsync the disk is not fast", 10, disk(5), 10, true},
		{"just under 5 ms fsync, 10 ms is a bound", 9.99, disk(4.99), 9.99, true},
	}
	for _, tt := range tests {
		limit, met := latencyGoal(tt.p99, tt.disk)
		if math.Abs(limit-tt.wantLimit) > 1e-9 || met != tt.wantMet {
			t.Errorf("%s: latencyGoal(%v, %+v) = %v, %v; want %v, %v", tt.name, tt.p99, tt.disk, limit, met,
				tt.wantLimit, tt.wantMet)
		}
	}
}

// TestLatencyChecksWithFsyncProbe: the check takes the fsync probe of the
// open-loop runs it counts (not of others) and holds their p99 to it, in
// the section (connection count) the open loop ran at.
func TestLatencyChecksWithFsyncProbe(t *testing.T) {
	probed := func(r Run, p99 float64) Run {
		r.Fsync = &DiskLatency{Samples: 1000, P50: p99 / 4, P99: p99, Max: p99 * 3}
		return r
	}
	runs := []Run{
		withConns(run("hotsku", TargetFlashstock, 1, 14000, 5), 64),
		withConns(run("hotsku", TargetFlashstock, 1, 20000, 5), 256),
		withConns(run("hotsku", TargetFlashstock, 2, 21000, 5), 256),
		withConns(run("hotsku", TargetFlashstock, 3, 19000, 5), 256),
		probed(withConns(openRun("hotsku", 1, 10000, 12), 256), 8),
		probed(withConns(openRun("hotsku", 2, 15000, 90), 256), 40), // not near half the maximum
	}
	got := LatencyChecks(runs)
	want := []Check{{Scenario: "hotsku", Connections: 256, Name: CheckP99AtHalfMaxRate, Value: 12, Target: 13, Met: true,
		Fsync:  &DiskLatency{Samples: 1000, P50: 2, P99: 8, Max: 24},
		Detail: "open loop at 10,000/s of max 20,000/s, 1 run"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LatencyChecks =\n %+v, want\n %+v", got, want)
	}
	runs[4] = probed(withConns(openRun("hotsku", 1, 10000, 12), 256), 3) // a fast disk: 12 ms is too slow
	if got := LatencyChecks(runs); len(got) != 1 || got[0].Met || got[0].Target != 8 {
		t.Fatalf("fast disk: %+v; want missed against 3 + 5 ms", got)
	}
}

func TestLatencyChecksNone(t *testing.T) {
	tests := []struct {
		name string
		runs []Run
	}{
		{"no open loop", []Run{run("hotsku", TargetFlashstock, 1, 100, 1)}},
		{"no closed loop, max unknown", []Run{openRun("hotsku", 1, 50, 1), openRun("hotsku", 2, 50, 1)}},
		{"no target", []Run{run("multi", TargetFlashstock, 1, 100, 1), openRun("multi", 1, 50, 1)}},
	}
	for _, tt := range tests {
		if got := LatencyChecks(tt.runs); len(got) != 0 {
			t.Errorf("%s: LatencyChecks = %+v, want none", tt.name, got)
		}
	}
}

func TestEvaluate(t *testing.T) {
	r := Report{Runs: []Run{
		audited(run("hotsku", TargetFlashstock, 1, 100, 1), true),
		audited(run("hotsku", TargetNaive, 1, 10, 1), false),
		openRun("hotsku", 1, 50, 1),
	}}
	r.Evaluate()
	if len(r.Summaries) != 3 || len(r.Ratios) != 1 || len(r.Checks) != 1 || r.AuditOK {
		t.Errorf("Evaluate: %d summaries, %d ratios, %d checks, audit %v; want 3, 1, 1, false",
			len(r.Summaries), len(r.Ratios), len(r.Checks), r.AuditOK)
	}
}
