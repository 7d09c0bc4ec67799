package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/bench"
)

// parseBenchFlags parses args the way cmdBench does.
func parseBenchFlags(t *testing.T, args ...string) (bench.Config, []string, error) {
	t.Helper()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := defineBenchFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f.config()
}

func TestBenchFlags(t *testing.T) {
	c, targets, err := parseBenchFlags(t)
	d := bench.DefaultConfig()
	if err != nil || c.Rounds != d.Rounds || len(targets) != 4 || len(c.Scenarios) != 6 || c.Products != 1000 ||
		c.SpreadProducts != 1_000_000 || !slices.Equal(c.HotConnections, []int{64, 256}) {
		t.Fatalf("defaults: %+v %v %v", c, targets, err)
	}
	c, _, err = parseBenchFlags(t, "--quick")
	if err != nil || c.SpreadProducts != 20_000 || c.Products != 50 || !slices.Equal(c.HotConnections, []int{16}) {
		t.Fatalf("--quick: %+v %v", c, err)
	}
	// --products sizes catalog and spread alike; --hotsku-connections is a list.
	c, _, err = parseBenchFlags(t, "--quick", "--products", "5000", "--hotsku-connections", "32, 128")
	if err != nil || c.Products != 5000 || c.SpreadProducts != 5000 || !slices.Equal(c.HotConnections, []int{32, 128}) {
		t.Fatalf("--products and --hotsku-connections: %+v %v", c, err)
	}
	c, _, err = parseBenchFlags(t, "--quick", "--duration", "5s", "--warmup", "0s", "--scenarios", "sellout, hotsku,sellout")
	q := bench.QuickConfig()
	if err != nil || c.Duration != 5*time.Second || c.Warmup != 0 || c.Users != q.Users || c.Rounds != q.Rounds ||
		strings.Join(c.Scenarios, ",") != "sellout,hotsku" {
		t.Fatalf("--quick with overrides: %+v %v", c, err)
	}
	for _, args := range [][]string{
		{"--targets", "naive,ceiling"},
		{"--targets", "flashstock,nginx"},
		{"--scenarios", "hotsku,nope"},
		{"--rounds", "0"},
		{"--connections", "100000"},
		{"--read-ratio", "1.5"},
		{"--pg-settings", "shared_buffers=1GB fsync"},
		{"--hotsku-connections", "64,many"},
		{"--hotsku-connections", "64,64"},
		{"--hotsku-connections", "0"},
		{"--hotsku-connections", ""},
		{"--products", "0"},
		{"--products", "20000000"},
	} {
		if _, _, err := parseBenchFlags(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}

// TestBenchUsageErrorsExit2 goes through the command: bad flags exit 2
// before anything is started.
func TestBenchUsageErrorsExit2(t *testing.T) {
	code, _, stderr := runCmd(t, map[string]string{}, "", "bench", "--targets", "naive")
	if code != 2 || !strings.Contains(stderr, "targets must include flashstock") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ := runCmd(t, map[string]string{}, "", "bench", "--help")
	if code != 0 || !strings.Contains(stdout, "redislock") || !strings.Contains(stdout, "-soak-rate") ||
		!strings.Contains(stdout, "-hotsku-connections") || !strings.Contains(stdout, "spread 1000000") {
		t.Fatalf("--help: exit %d, %q", code, stdout)
	}
}

// TestBenchReportFiles: the report files are written, and a failed audit
// makes the command fail.
func TestBenchReportFiles(t *testing.T) {
	run := bench.Run{Scenario: "hotsku", Target: bench.TargetFlashstock, Round: 1, Mode: "closed", Requests: 10, OK: 10,
		Throughput: 100, Curve: []bench.Point{{Percentile: 0, Millis: 1}, {Percentile: 99, Millis: 2}},
		Audit: bench.Audit{Checked: true, OK: true}}
	for _, auditOK := range []bool{true, false} {
		dir := t.TempDir()
		run.Audit.OK = auditOK
		r := bench.Report{Runs: []bench.Run{run}}
		r.Evaluate()
		var out syncBuffer
		err := writeBenchReport(env{stdout: &out}, dir, r)
		if auditOK != (err == nil) || (!auditOK && !errors.Is(err, errAuditFailed)) {
			t.Fatalf("audit ok %v: err %v", auditOK, err)
		}
		for _, name := range []string{"report.json", "summary.txt", "latency-hotsku.svg"} {
			if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if !strings.Contains(out.String(), "flashstock") {
			t.Fatalf("no table on stdout: %q", out.String())
		}
	}
}
