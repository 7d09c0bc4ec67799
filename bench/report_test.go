package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testReport is a synthetic report of two scenarios; the naive baseline's
// audit fails in round 2 when failAudit.
func testReport(failAudit bool) Report {
	fs1 := audited(run("hotsku", TargetFlashstock, 1, 19320, 6.4), true)
	fs1.Errors = map[string]int64{"503 overloaded": 12, "400 insufficient_stock": 3, "timeout": 1, "500 internal": 1}
	runs := []Run{
		fs1,
		audited(run("hotsku", TargetFlashstock, 2, 19000, 7), true),
		audited(run("hotsku", TargetNaive, 1, 802, 120), true),
		audited(run("hotsku", TargetNaive, 2, 790, 130), !failAudit),
		run("hotsku", TargetRedisLock, 1, 2395, 40),
		run("hotsku", TargetCeiling, 1, 84000, 0.9),
		openRun("hotsku", 1, 9660, 4.2),
		audited(run("sellout", TargetFlashstock, 1, 5000, 3), true),
	}
	r := Report{
		StartedAt:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Duration:   5 * time.Minute,
		Commit:     "abc1234",
		Version:    "v0.1.0",
		GoVersion:  "go1.26.0",
		CPUs:       2,
		Parameters: map[string]any{"connections": float64(64), "scenarios": []any{"hotsku", "sellout"}},
		Runs:       runs,
	}
	r.Evaluate()
	return r
}

func TestWriteJSONRoundTrip(t *testing.T) {
	want := testReport(true)
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteJSON(path, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got  %+v\n want %+v", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only report.json (no temporary file left)", len(entries))
	}
}

func TestWriteJSONReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 1<<16)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, Report{Commit: "new"}); err != nil {
		t.Fatal(err)
	}
	var got Report
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &got); err != nil || got.Commit != "new" {
		t.Errorf("after WriteJSON: commit %q, err %v; want the new report", got.Commit, err)
	}
}

func TestWriteJSONBadDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "report.json")
	if err := WriteJSON(path, Report{}); err == nil {
		t.Error("WriteJSON into a missing directory: want an error")
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, testReport(true)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"hotsku\n",
		"sellout\n",
		"flashstock/naive      24.1×   (19,160/s vs 796/s)     target ≥30× MISSED",
		"flashstock/redislock  8.00×   (19,160/s vs 2,395/s)   no target\n",
		"flashstock/ceiling    0.228×  (19,160/s vs 84,000/s)  target ≥0.35× MISSED, moonshot ≥0.5× MISSED",
		"p99 at half max rate (ms)  4.20  (open loop at 9,660/s of max 19,160/s, 1 run)  target <10 MET",
		"errors flashstock closed (1 of 2 runs): 503 overloaded ×12, 400 insufficient_stock ×3, 500 internal ×1, +1 more codes",
		"audit: FAIL",
		"commit abc1234, 2 CPUs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for line := range strings.Lines(out) {
		if strings.TrimRight(line, " \n") != strings.TrimSuffix(line, "\n") {
			t.Errorf("trailing space in %q", line)
		}
	}
	if got := rowOf(out, "naive"); !strings.HasSuffix(got, "FAIL") {
		t.Errorf("naive row %q: want audit FAIL", got)
	}
	if got := rowOf(out, "ceiling"); !strings.HasSuffix(got, "-") {
		t.Errorf("ceiling row %q: want audit - (nothing audited)", got)
	}
}

func TestWriteTablePass(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, testReport(false)); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "audit: PASS") || strings.Contains(out, "FAIL") {
		t.Errorf("want audit PASS and no FAIL:\n%s", out)
	}
}

func TestWriteTableWriteError(t *testing.T) {
	if err := WriteTable(failingWriter{}, testReport(false)); err == nil {
		t.Error("WriteTable to a failing writer: want an error")
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// rowOf returns the first table row of target, trimmed.
func rowOf(table, target string) string {
	for line := range strings.Lines(table) {
		if strings.HasPrefix(strings.TrimSpace(line), target+" ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatCount(0), "0"},
		{formatCount(802.4), "802"},
		{formatCount(19320), "19,320"},
		{formatCount(1234567.6), "1,234,568"},
		{formatCount(-1500), "-1,500"},
		{formatMillis(0.4123), "0.412"},
		{formatMillis(6.4), "6.40"},
		{formatMillis(31.24), "31.2"},
		{formatMillis(1250), "1,250"},
		{formatRatio(24.09), "24.1"},
		{formatRatio(105.2), "105"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	paths, err := WritePlots(dir, testReport(false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "latency-hotsku.svg"), filepath.Join(dir, "latency-sellout.svg")}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
	texts := svgTexts(t, paths[0])
	for _, label := range []string{"flashstock closed", "flashstock open", "naive closed", "ceiling closed", "99.9%", "latency (ms)"} {
		if !texts[label] {
			t.Errorf("%s lacks text %q; has %v", paths[0], label, texts)
		}
	}
}

// sectionsReport is a synthetic report of hotsku at 64 and 256
// connections, its open loop at 256 beside an fsync probe, memory sampled.
func sectionsReport() Report {
	mem := func(r Run, peak int64) Run { r.Memory = &Memory{StartBytes: 1, PeakBytes: peak, EndBytes: 1}; return r }
	open := withConns(openRun("hotsku", 1, 10000, 8), 256)
	open.Fsync = &DiskLatency{Samples: 1200, P50: 0.9, P99: 4, Max: 31}
	r := Report{Runs: []Run{
		mem(withConns(run("hotsku", TargetFlashstock, 1, 15000, 5), 64), 200<<20),
		mem(withConns(run("hotsku", TargetNaive, 1, 500, 5), 64), 40<<20),
		mem(withConns(run("hotsku", TargetCeiling, 1, 60000, 5), 64), 20<<20),
		mem(withConns(run("hotsku", TargetFlashstock, 1, 20000, 5), 256), 300<<20),
		mem(withConns(run("hotsku", TargetNaive, 1, 800, 5), 256), 41<<20),
		mem(withConns(run("hotsku", TargetCeiling, 1, 40000, 5), 256), 21<<20),
		mem(open, 310<<20),
	}}
	r.Evaluate()
	return r
}

// TestWriteTableSections: a section per connection count, each with its
// ratios (raw figures beside, the moonshot too); the fsync probe beside the
// order p99; the latency check against the probe; the peak memory.
func TestWriteTableSections(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sectionsReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"hotsku, 64 connections\n",
		"flashstock/naive    30.0×   (15,000/s vs 500/s)     target ≥30× MET\n",
		"flashstock/ceiling  0.250×  (15,000/s vs 60,000/s)  target ≥0.35× MISSED, moonshot ≥0.5× MISSED\n",
		"hotsku, 256 connections\n",
		"flashstock/naive    25.0×   (20,000/s vs 800/s)     target ≥30× MISSED\n",
		"flashstock/ceiling  0.500×  (20,000/s vs 40,000/s)  target ≥0.35× MET, moonshot ≥0.5× MET\n",
		"fsync probe beside flashstock open (1 run): p50 0.900 ms, p99 4.00 ms, max 31.0 ms over 1,200 fdatasyncs; order p99 8.00 ms\n",
		"p99 at half max rate (ms)  8.00  (open loop at 10,000/s of max 20,000/s, 1 run; fsync p99 4.00 ms)  target ≤9.00 (fsync p99 + 5) and <10 MET\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if got := rowOf(out, "flashstock"); !strings.Contains(got, "200 MiB") {
		t.Errorf("flashstock row %q: want its peak resident memory, 200 MiB", got)
	}
	if strings.Index(out, "hotsku, 64 connections") > strings.Index(out, "hotsku, 256 connections") {
		t.Errorf("64 connections should come first:\n%s", out)
	}
	if strings.Count(out, "p99 at half max rate") != 1 {
		t.Errorf("want one latency check, in the open loop's section:\n%s", out)
	}
}

// TestWriteJSONCarriesRatiosAndChecks: report.json has every ratio with its
// raw figures, the latency check with its probe, the peak memory.
func TestWriteJSONCarriesRatiosAndChecks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteJSON(path, sectionsReport()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Ratios []map[string]any `json:"ratios"`
		Checks []map[string]any `json:"checks"`
		Sums   []map[string]any `json:"summaries"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"scenario": "hotsku", "connections": float64(256), "name": "flashstock/ceiling",
		"value": 0.5, "throughput": float64(20000), "baseline_throughput": float64(40000), "target": 0.35,
		"met": true, "moonshot": 0.5, "moonshot_met": true}
	if len(got.Ratios) != 4 || !reflect.DeepEqual(got.Ratios[3], want) {
		t.Errorf("ratios = %v; want 4, the last %v", got.Ratios, want)
	}
	fsync, _ := got.Checks[0]["fsync"].(map[string]any)
	if len(got.Checks) != 1 || got.Checks[0]["target"] != float64(9) || fsync["p99_ms"] != float64(4) ||
		fsync["samples"] != float64(1200) {
		t.Errorf("checks = %v; want one, target 9 against fsync p99 4 over 1200 samples", got.Checks)
	}
	if got.Sums[0]["peak_rss_bytes"] != float64(200<<20) {
		t.Errorf("first summary = %v; want peak_rss_bytes %d", got.Sums[0], 200<<20)
	}
}

// TestWritePlotsPerSection: a scenario run at several connection counts
// gets a plot per count.
func TestWritePlotsPerSection(t *testing.T) {
	dir := t.TempDir()
	paths, err := WritePlots(dir, sectionsReport())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "latency-hotsku-64c.svg"), filepath.Join(dir, "latency-hotsku-256c.svg")}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
	if texts := svgTexts(t, paths[1]); !texts["flashstock open"] || !texts["hotsku, 256 connections: latency by percentile (median round)"] {
		t.Errorf("%s lacks the open loop's line or its title: %v", paths[1], texts)
	}
}

func TestWritePlotPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latency.png")
	if err := WritePlot(path, testReport(false)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s is not a PNG: %v", path, err)
	}
}

func TestWritePlotNoCurves(t *testing.T) {
	r := Report{Runs: []Run{{Scenario: "hotsku", Target: TargetFlashstock, Mode: closedLoop}}}
	r.Evaluate()
	path := filepath.Join(t.TempDir(), "latency.svg")
	if err := WritePlot(path, r); !errors.Is(err, errNoCurves) {
		t.Errorf("WritePlot without curves: err %v, want errNoCurves", err)
	}
	if paths, err := WritePlots(t.TempDir(), r); err != nil || len(paths) != 0 {
		t.Errorf("WritePlots without curves = %v, %v; want no file, no error", paths, err)
	}
}

func TestMedianRun(t *testing.T) {
	runs := []Run{{Round: 1, Throughput: 30}, {Round: 2, Throughput: 10}, {Round: 3, Throughput: 20}, {Round: 4, Throughput: 40}}
	if got := medianRun(runs[:3]); got.Round != 3 {
		t.Errorf("median of 3: round %d, want 3", got.Round)
	}
	if got := medianRun(runs); got.Round != 3 {
		t.Errorf("median of 4: round %d, want 3 (the lower middle)", got.Round)
	}
}

func TestNinesLabel(t *testing.T) {
	for k, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := ninesLabel(k); got != want {
			t.Errorf("ninesLabel(%d) = %q, want %q", k, got, want)
		}
	}
}

// svgTexts parses the SVG at path as XML and returns the set of its text
// elements' contents.
func svgTexts(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	texts := make(map[string]bool)
	var inText, sawSVG bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			sawSVG = sawSVG || tok.Name.Local == "svg"
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts[strings.TrimSpace(string(tok))] = true
			}
		}
	}
	if !sawSVG {
		t.Fatalf("%s has no svg element", path)
	}
	return texts
}

func TestWriteTableMemory(t *testing.T) {
	r := Report{Runs: []Run{{Scenario: "soak", Target: TargetFlashstock, Mode: "open", Round: 1, OK: 1,
		Memory: &Memory{StartBytes: 10 << 20, PeakBytes: 30 << 20, EndBytes: 20 << 20}}}}
	r.Evaluate()
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "start 10.0 MiB, peak 30.0 MiB, end 20.0 MiB") {
		t.Fatalf("no memory line in\n%s", b.String())
	}
}
