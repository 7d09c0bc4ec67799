package bench

import "time"

// Target names: flashstock itself and the three baselines it is compared
// with in the same invocation.
const (
	TargetFlashstock = "flashstock"
	TargetNaive      = "naive"     // row lock per order (SELECT … FOR UPDATE)
	TargetRedisLock  = "redislock" // the original design: Redis lock per product, then a transaction
	TargetCeiling    = "ceiling"   // a trivial fasthttp handler returning a fixed body
)

// Latency is a latency distribution summary, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Point is one point of a latency-percentile curve: the latency (ms) at or
// under which Percentile per cent of the requests finished.
type Point struct {
	Percentile float64 `json:"percentile"`
	Millis     float64 `json:"ms"`
}

// Audit is the result of checking the database after a run.
type Audit struct {
	// Checked is false when the target stores nothing (the ceiling).
	Checked  bool     `json:"checked"`
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
	// Products, Orders and Units say what was checked: the run's products,
	// the orders stored for them, the units they sold (for a product block
	// reused by several runs: since the block was created).
	Products int   `json:"products"`
	Orders   int64 `json:"orders"`
	Units    int64 `json:"units_sold"`
}

// Run is one run of a scenario against one target.
type Run struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Round    int    `json:"round"` // 1-based; rounds alternate the targets
	// Mode is "closed" (fixed concurrency, as fast as answers come) or
	// "open" (fixed arrival rate, latency measured from the intended send
	// time: coordinated omission corrected).
	Mode        string        `json:"mode"`
	Connections int           `json:"connections"`
	Rate        float64       `json:"rate_per_s,omitempty"` // open loop only: the intended rate
	Duration    time.Duration `json:"duration_ns"`
	Requests    int64         `json:"requests"`
	OK          int64         `json:"ok"`         // answered as the scenario expects (201 for an order, 200 for a read)
	Throughput  float64       `json:"throughput"` // OK answers per second
	Latency     Latency       `json:"latency"`
	Curve       []Point       `json:"curve"`
	// Errors counts every other answer by "status code" (for example
	// "400 insufficient_stock", "503 overloaded") or transport error.
	Errors map[string]int64 `json:"errors,omitempty"`
	Audit  Audit            `json:"audit"`
	// Memory samples the server's resident set (bytes) during the measured
	// run; nil when the target's process is unknown.
	Memory *Memory `json:"memory,omitempty"`
	// Fsync is the disk's fdatasync latency measured beside an open-loop
	// run (FsyncProbe); nil for closed-loop runs and without a probe.
	Fsync *DiskLatency `json:"fsync,omitempty"`
}

// DiskLatency is what the fsync probe measured: each of Samples writes of
// 8 KiB followed by an fdatasync, in milliseconds.
type DiskLatency struct {
	Samples int64   `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// Memory is the server process's resident set size over a run.
type Memory struct {
	StartBytes int64 `json:"start_bytes"`
	PeakBytes  int64 `json:"peak_bytes"`
	EndBytes   int64 `json:"end_bytes"`
}

// Summary is the median over rounds of one scenario's runs on one target,
// at one connection count, in one mode.
type Summary struct {
	Scenario    string  `json:"scenario"`
	Connections int     `json:"connections"`
	Target      string  `json:"target"`
	Mode        string  `json:"mode"`
	Runs        int     `json:"runs"`
	Throughput  float64 `json:"throughput_median"`
	P50         float64 `json:"p50_ms_median"`
	P99         float64 `json:"p99_ms_median"`
	P999        float64 `json:"p99_9_ms_median"`
	Max         float64 `json:"max_ms_max"`
	Errors      int64   `json:"errors"`
	AuditOK     bool    `json:"audit_ok"`
	// PeakRSS is the server's largest resident set over the runs (bytes);
	// 0 when not sampled.
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
	// Fsync is the fsync probe beside the open-loop runs: the medians of
	// their p50 and p99, the largest max, the samples of all.
	Fsync *DiskLatency `json:"fsync,omitempty"`
}

// Ratio compares flashstock's median throughput with a baseline's in one
// scenario at one connection count: Value = Throughput / BaselineThroughput.
type Ratio struct {
	Scenario           string  `json:"scenario"`
	Connections        int     `json:"connections"`
	Name               string  `json:"name"` // for example "flashstock/naive"
	Value              float64 `json:"value"`
	Throughput         float64 `json:"throughput"`          // flashstock's median, per second
	BaselineThroughput float64 `json:"baseline_throughput"` // the baseline's median, per second
	Target             float64 `json:"target,omitempty"`    // the DESIGN.md goal, 0 when none
	Met                *bool   `json:"met,omitempty"`
	Moonshot           float64 `json:"moonshot,omitempty"` // DESIGN.md's stretch goal, 0 when none
	MoonshotMet        *bool   `json:"moonshot_met,omitempty"`
}

// Report is everything one `flashstock bench` invocation measured.
type Report struct {
	StartedAt  time.Time      `json:"started_at"`
	Duration   time.Duration  `json:"duration_ns"`
	Commit     string         `json:"commit"`
	Version    string         `json:"version"`
	GoVersion  string         `json:"go_version"`
	CPUs       int            `json:"cpus"`
	Parameters map[string]any `json:"parameters"`
	Runs       []Run          `json:"runs"`
	Summaries  []Summary      `json:"summaries"`
	Ratios     []Ratio        `json:"ratios"`
	// Checks are the targets that are not throughput ratios (latency).
	Checks []Check `json:"checks,omitempty"`
	// AuditOK is true when every audited run passed.
	AuditOK bool `json:"audit_ok"`
}
