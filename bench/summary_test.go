package bench

import (
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
			name: "hotsku targets met",
			runs: []Run{
				run("hotsku", TargetCeiling, 1, 80000, 1),
				run("hotsku", TargetFlashstock, 1, 32000, 5),
				run("hotsku", TargetNaive, 1, 800, 80),
				run("hotsku", TargetRedisLock, 1, 1600, 40),
			},
			want: []Ratio{
				{Scenario: "hotsku", Name: "flashstock/naive", Value: 40, Target: 30, Met: &yes},
				{Scenario: "hotsku", Name: "flashstock/redislock", Value: 20},
				{Scenario: "hotsku", Name: "flashstock/ceiling", Value: 0.4, Target: 0.3, Met: &yes},
			},
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
				{Scenario: "hotsku", Name: "flashstock/naive", Value: 21.25, Target: 30, Met: &no},
				{Scenario: "hotsku", Name: "flashstock/ceiling", Value: 0.2125, Target: 0.3, Met: &no},
			},
		},
		{
			name: "no target outside hotsku",
			runs: []Run{
				run("multi", TargetNaive, 1, 100, 1),
				run("multi", TargetFlashstock, 1, 500, 1),
			},
			want: []Ratio{{Scenario: "multi", Name: "flashstock/naive", Value: 5}},
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
