package bench

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestFsyncProbeRecordsLatencies: the probe times fdatasyncs until stopped,
// then leaves nothing behind.
func TestFsyncProbeRecordsLatencies(t *testing.T) {
	dir := t.TempDir()
	p, err := startFsyncProbe(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for p.n.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	d, err := p.stop()
	if err != nil {
		t.Fatal(err)
	}
	if d.Samples < 5 || d.P50 <= 0 || d.P50 > d.P99 || d.P99 > d.Max {
		t.Fatalf("probe measured %+v; want at least 5 samples, 0 < p50 <= p99 <= max", d)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the probe left %v behind", entries)
	}
}

func TestFsyncProbeNeedsItsDirectory(t *testing.T) {
	if _, err := startFsyncProbe(t.TempDir() + "/missing"); err == nil {
		t.Fatal("a probe in a missing directory: want an error")
	}
}

// TestMeasureProbesOpenLoopAndSamplesMemory: every run samples the
// server's memory; only an open-loop run has the fsync probe beside it.
func TestMeasureProbesOpenLoopAndSamplesMemory(t *testing.T) {
	url := serve(t, func(c *fasthttp.RequestCtx) { c.SetBodyString(`{"status":"ok"}`) })
	var rssReads int
	target := Target{Name: TargetCeiling, URL: url, RSS: func() (int64, error) { rssReads++; return 42 << 20, nil }}
	s := &suite{env: Env{FsyncDir: t.TempDir()}}
	src := func(*rand.Rand) Request { return Request{Method: "GET", Path: "/", Expect: 200} }
	for _, rate := range []float64{0, 200} {
		st := step{scenario: "hotsku", target: target, round: 1, src: src,
			load: Load{Connections: 2, Duration: 300 * time.Millisecond, Rate: rate}}
		run, err := s.measure(testContext(t), st)
		if err != nil {
			t.Fatal(err)
		}
		if run.Memory == nil || run.Memory.PeakBytes != 42<<20 {
			t.Errorf("rate %v: memory %+v; want sampled, peak 42 MiB", rate, run.Memory)
		}
		if (run.Fsync != nil) != (rate > 0) {
			t.Errorf("rate %v: fsync %+v; want a probe exactly in the open loop", rate, run.Fsync)
		}
		if run.Fsync != nil && run.Fsync.Samples == 0 {
			t.Errorf("open loop: the probe timed nothing")
		}
	}
}
