package devenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPrometheusStartQueryStop starts a throwaway Prometheus (installing it
// first when missing), checks its config with promtool, queries it and
// stops it.
func TestPrometheusStartQueryStop(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	progs, err := EnsurePrometheus(ctx, testLog{t})
	if err != nil {
		t.Fatalf("EnsurePrometheus: %v", err)
	}
	config := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 1s\nscrape_configs: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, progs.Promtool, "check", "config", config).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	start := time.Now()
	p, err := StartPrometheus(ctx, PrometheusConfig{ConfigFile: config, Log: testLog{t}})
	if err != nil {
		t.Fatalf("StartPrometheus: %v", err)
	}
	t.Logf("prometheus ready at %s in %v", p.URL(), time.Since(start))
	t.Cleanup(func() { _ = p.Stop(context.Background()) })

	if v, ok, err := p.Query(ctx, "vector(42)"); err != nil || !ok || v != 42 {
		t.Errorf("Query(vector(42)) = %v, %v, %v; want 42, true, nil", v, ok, err)
	}
	if v, ok, err := p.Query(ctx, "scalar(vector(7))"); err != nil || !ok || v != 7 {
		t.Errorf("Query(scalar) = %v, %v, %v; want 7, true, nil", v, ok, err)
	}
	if _, ok, err := p.Query(ctx, `absent_series_of_a_test{x="y"}`); err != nil || ok {
		t.Errorf("Query(no data) = ok %v, %v; want false, nil", ok, err)
	}
	if _, _, err := p.Query(ctx, "sum(("); err == nil {
		t.Error("Query of a syntax error succeeded")
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(p.dataDir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Stop (%v)", p.dataDir, err)
	}
	if err := p.ready(ctx); err == nil {
		t.Error("server still answers after Stop")
	}
}

// testLog writes progress lines (apt-get's, the server's) to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}
