package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/internal/devenv"
)

const (
	// prometheusSetupTimeout bounds installing (first time: apt-get) and
	// starting Prometheus.
	prometheusSetupTimeout = 10 * time.Minute
	// promtoolTimeout bounds one promtool run.
	promtoolTimeout = time.Minute
	// prometheusWait bounds each wait for Prometheus to have scraped or
	// evaluated something; it scrapes every second.
	prometheusWait = 30 * time.Second
	// ordersPlaced is how many orders the end-to-end test places.
	ordersPlaced = 3
)

// prometheusPrograms installs Prometheus when missing (apt-get, as root)
// and returns its programs' paths.
func prometheusPrograms(t *testing.T) devenv.PrometheusPrograms {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), prometheusSetupTimeout)
	defer cancel()
	progs, err := devenv.EnsurePrometheus(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	return progs
}

// TestPromtoolChecks: promtool accepts the Prometheus configuration (and
// the rule file it names) and the alert rules, and the rules pass their
// unit tests.
func TestPromtoolChecks(t *testing.T) {
	t.Parallel()
	progs := prometheusPrograms(t)
	for _, args := range [][]string{
		{"check", "config", repoFile(prometheusConfigFile)},
		{"check", "rules", repoFile(alertRulesFile)},
		{"test", "rules", repoFile(alertRulesTestFile)},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), promtoolTimeout)
		out, err := exec.CommandContext(ctx, progs.Promtool, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPrometheusScrapesOrders runs a real Prometheus against an in-process
// flashstock with the committed alert rules: it scrapes /metrics, the
// orders placed through the API show up in its query API, and every rule
// evaluates without error.
func TestPrometheusScrapesOrders(t *testing.T) {
	t.Parallel()
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off")
	base, _ := startServer(t, vars)
	prom := startPrometheus(t, strings.TrimPrefix(base, "http://"))

	const created = `sum(flashstock_orders_created_total{status="created"})`
	before, ok := waitForQuery(t, prom, created, func(float64) bool { return true })
	if !ok {
		t.Fatalf("Prometheus has no %s after %v; targets: %s", created, prometheusWait, targetHealth(t, prom))
	}
	admin := adminToken(t, vars, base)
	product := newProduct(t, base, admin, "PROM-1", 990, 10)
	buyer := register(t, base, "prometheus-buyer")
	for i := range ordersPlaced {
		status, body := api(t, "POST", base+"/orders/", buyer, orderBody(product, 1))
		expectStatus(t, fmt.Sprintf("order %d", i), status, 201, body)
	}
	after, ok := waitForQuery(t, prom, created, func(v float64) bool { return v >= before+ordersPlaced })
	if !ok {
		t.Fatalf("%s stayed at %v after %d orders (want %v); targets: %s", created, after, ordersPlaced, before+ordersPlaced, targetHealth(t, prom))
	}
	const value = `sum(flashstock_order_value_minor_units_total{currency="USD"})`
	if v, ok := waitForQuery(t, prom, value, func(v float64) bool { return v >= ordersPlaced*990 }); !ok {
		t.Errorf("%s = %v, want at least %d", value, v, ordersPlaced*990)
	}
	checkRulesHealthy(t, prom)
	checkDashboardQueriesEvaluate(t, prom)
}

// startPrometheus writes a configuration scraping target every second and
// evaluating the committed alert rules, and starts Prometheus on it; the
// server is stopped (its process group killed if need be) at cleanup.
func startPrometheus(t *testing.T, target string) *devenv.Prometheus {
	t.Helper()
	rules, err := filepath.Abs(repoFile(alertRulesFile))
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "prometheus.yml")
	body := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: flashstock
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), prometheusSetupTimeout)
	defer cancel()
	prom, err := devenv.StartPrometheus(ctx, devenv.PrometheusConfig{ConfigFile: config, Log: &logs})
	if err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := prom.Stop(ctx); err != nil {
			t.Errorf("stop prometheus: %v\n%s", err, logs.String())
		}
	})
	return prom
}

// waitForQuery polls the instant query expr until it has a value for which
// want holds, for up to prometheusWait; it returns the last value seen.
func waitForQuery(t *testing.T, prom *devenv.Prometheus, expr string, want func(float64) bool) (float64, bool) {
	t.Helper()
	var last float64
	var lastErr error
	ok := pollUntil(prometheusWait, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, has, err := prom.Query(ctx, expr)
		lastErr = err
		if err != nil || !has {
			return false
		}
		last = v
		return want(v)
	})
	if lastErr != nil {
		t.Logf("last query of %s: %v", expr, lastErr)
	}
	return last, ok
}

// getPrometheusJSON decodes the answer to GET prom/path into v; a status
// other than 200 is an error, after v is decoded (for its error field).
func getPrometheusJSON(t *testing.T, prom *devenv.Prometheus, path string, v any) error {
	t.Helper()
	resp, err := http.Get(prom.URL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(v) // the API answers errors in JSON too
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return err
}

// targetHealth describes the scrape targets, for failure messages.
func targetHealth(t *testing.T, prom *devenv.Prometheus) string {
	t.Helper()
	var answer struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := getPrometheusJSON(t, prom, "/api/v1/targets", &answer); err != nil {
		return err.Error()
	}
	var parts []string
	for _, tg := range answer.Data.ActiveTargets {
		parts = append(parts, fmt.Sprintf("%s %s %q", tg.ScrapeURL, tg.Health, tg.LastError))
	}
	return strings.Join(parts, "; ")
}

// checkRulesHealthy waits until every alert rule has been evaluated and
// checks that none failed (a bad vector match, say, fails only on data).
func checkRulesHealthy(t *testing.T, prom *devenv.Prometheus) {
	t.Helper()
	var problems []string
	ok := pollUntil(prometheusWait, func() bool {
		var answer struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name      string `json:"name"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := getPrometheusJSON(t, prom, "/api/v1/rules", &answer); err != nil {
			problems = []string{err.Error()}
			return false
		}
		problems = nil
		n := 0
		for _, g := range answer.Data.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health != "ok" {
					problems = append(problems, fmt.Sprintf("%s: %s %s", r.Name, r.Health, r.LastError))
				}
			}
		}
		if n == 0 {
			problems = []string{"no rules loaded"}
		}
		return len(problems) == 0
	})
	if !ok {
		t.Errorf("alert rules not healthy after %v:\n  %s", prometheusWait, strings.Join(problems, "\n  "))
	}
}

// grafanaVariable matches a Grafana variable in a query: $name or ${name}.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// grafanaExpand replaces Grafana's variables as a dashboard would: the
// interval ones by a duration, the others (the multi-value "All" of a
// regex matcher) by ".*".
func grafanaExpand(expr string) string {
	return grafanaVariable.ReplaceAllStringFunc(expr, func(m string) string {
		switch grafanaVariable.FindStringSubmatch(m)[1] {
		case "__rate_interval", "__interval", "__range":
			return "1m"
		}
		return ".*"
	})
}

// checkDashboardQueriesEvaluate has Prometheus evaluate every dashboard
// panel query (variables expanded): each must parse and run.
func checkDashboardQueriesEvaluate(t *testing.T, prom *devenv.Prometheus) {
	t.Helper()
	for file, d := range readDashboards(t) {
		for _, q := range dashboardQueries(t, file, d) {
			if q.grafana {
				continue
			}
			var answer struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			}
			path := "/api/v1/query?query=" + url.QueryEscape(grafanaExpand(q.query))
			if err := getPrometheusJSON(t, prom, path, &answer); err != nil || answer.Status != "success" {
				t.Errorf("%s: Prometheus cannot evaluate %q: %v %s", q.where, q.query, err, answer.Error)
			}
		}
	}
}
