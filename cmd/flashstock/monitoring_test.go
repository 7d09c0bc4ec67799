package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flashstock/flashstock/usecase"
)

// The monitoring files, relative to the repository root.
const (
	prometheusConfigFile  = "monitoring/prometheus.yml"
	alertRulesFile        = "monitoring/alerts.yml"
	alertRulesTestFile    = "monitoring/alerts_test.yml"
	grafanaDatasourceFile = "monitoring/grafana/provisioning/datasources/prometheus.yml"
	grafanaProvidersFile  = "monitoring/grafana/provisioning/dashboards/dashboards.yml"
	grafanaDashboardDir   = "monitoring/grafana/dashboards"
)

// prometheusMadeMetrics are series Prometheus makes itself for each
// target; rules may name them although no binary exports them.
var prometheusMadeMetrics = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// metricsWait bounds the wait for every named metric to be exported: some
// appear only once a scheduled task has run or an order changed status.
const metricsWait = 30 * time.Second

// repoFile returns the path of a repository file from this package's
// directory, where `go test` runs.
func repoFile(rel string) string { return filepath.Join("..", "..", filepath.FromSlash(rel)) }

func readYAML(t *testing.T, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(repoFile(rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// alertRules is the part of a Prometheus rule file the checks read.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// namedQuery is one PromQL query of the monitoring files and where it is.
type namedQuery struct {
	where   string // file and panel or rule
	query   string
	grafana bool // a Grafana variable query (label_values(...)) rather than PromQL
}

// alertQueries returns every rule's expression, checking that each alert
// has a severity and a summary.
func alertQueries(t *testing.T) []namedQuery {
	t.Helper()
	var rules alertRules
	readYAML(t, alertRulesFile, &rules)
	var qs []namedQuery
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if r.Alert != "" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "") {
				t.Errorf("%s: alert %s lacks a severity label or a summary annotation", alertRulesFile, r.Alert)
			}
			qs = append(qs, namedQuery{where: alertRulesFile + ": " + name, query: r.Expr})
		}
	}
	if len(qs) == 0 {
		t.Fatalf("%s: no rules", alertRulesFile)
	}
	return qs
}

// monitoringQueries returns every query of the alert rules and dashboards.
func monitoringQueries(t *testing.T) []namedQuery {
	t.Helper()
	qs := alertQueries(t)
	for file, d := range readDashboards(t) {
		qs = append(qs, dashboardQueries(t, file, d)...)
	}
	return qs
}

// referencedMetrics returns the metric names the queries name, each with
// the first place that names it.
func referencedMetrics(t *testing.T, qs []namedQuery) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range qs {
		extract := promqlMetricNames
		if q.grafana {
			extract = grafanaQueryMetricNames
		}
		names, err := extract(q.query)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		if len(names) == 0 && !q.grafana {
			t.Errorf("%s: %q names no metric", q.where, q.query)
		}
		for _, n := range names {
			if _, seen := out[n]; !seen {
				out[n] = q.where
			}
		}
	}
	return out
}

// exposition is what one scrape of /metrics showed.
type exposition struct {
	series   map[string]bool   // sample names: counters with _total, histograms' _bucket/_sum/_count
	families map[string]string // family name → type, from # TYPE lines
}

// scrapeMetrics fetches and parses base/metrics (text format).
func scrapeMetrics(base string) (exposition, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return exposition{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return exposition{}, fmt.Errorf("GET /metrics: %s: %q", resp.Status, b)
	}
	e := exposition{series: map[string]bool{}, families: map[string]string{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if f := strings.Fields(rest); len(f) == 2 {
				e.families[f[0]] = f[1]
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			e.series[line[:i]] = true
		}
	}
	return e, sc.Err()
}

// missingMetrics returns the referenced names that e does not export, with
// why, sorted.
func missingMetrics(refs map[string]string, e exposition) []string {
	var out []string
	for name, where := range refs {
		if e.series[name] || prometheusMadeMetrics[name] {
			continue
		}
		why := "not exported"
		if typ := e.families[name]; typ == "histogram" || typ == "summary" {
			why = "a " + typ + ": name its _bucket, _sum or _count series"
		} else if !strings.HasPrefix(name, "flashstock_") && !strings.HasPrefix(name, "go_") {
			why = "not exported (flashstock's metrics start with flashstock_, the Go runtime's with go_)"
		}
		out = append(out, fmt.Sprintf("%s (%s): %s", name, where, why))
	}
	slices.Sort(out)
	return out
}

// TestMonitoringMetricsExported starts a real server, makes it place and
// cancel an order and run its frequent tasks, and checks that every metric
// named by an alert rule or a dashboard query (panels, rows' panels and
// variables) appears in its /metrics.
func TestMonitoringMetricsExported(t *testing.T) {
	t.Parallel()
	refs := referencedMetrics(t, monitoringQueries(t))
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off",
		"FLASHSTOCK_SCHEDULE_REFRESH_GAUGES", "1s", "FLASHSTOCK_SCHEDULE_EXPIRE_ORDERS", "1s")
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	product := newProduct(t, base, admin, "METRIC-1", 1500, 5)
	buyer := register(t, base, "watcher")
	status, order := api(t, "POST", base+"/orders/", buyer, orderBody(product, 1))
	expectStatus(t, "order", status, 201, order)
	status, body := api(t, "POST", base+"/orders/"+order["id"].(string)+"/cancel", buyer, nil)
	expectStatus(t, "cancel", status, 200, body)

	var missing []string
	var scrapeErr error
	ok := pollUntil(metricsWait, func() bool {
		var e exposition
		if e, scrapeErr = scrapeMetrics(base); scrapeErr != nil {
			return false
		}
		missing = missingMetrics(refs, e)
		return len(missing) == 0
	})
	switch {
	case ok:
		t.Logf("all %d metrics named by the alert rules and dashboards are exported", len(refs))
	case scrapeErr != nil:
		t.Fatalf("scraping %s/metrics: %v", base, scrapeErr)
	default:
		t.Fatalf("after %v, %d of the %d metrics named by the monitoring files are not exported:\n  %s",
			metricsWait, len(missing), len(refs), strings.Join(missing, "\n  "))
	}
}

// TestMonitoringMetricsAtFirstScrape starts a real server that does nothing
// (no order, no request but the scrape, every scheduled task off) and checks
// that its very first /metrics already has every series the alert rules and
// dashboards name: a series that appears only with its first increment is
// invisible to rate() for that increment, and its panels say "No data".
func TestMonitoringMetricsAtFirstScrape(t *testing.T) {
	t.Parallel()
	refs := referencedMetrics(t, monitoringQueries(t))
	vars := testEnv(t)
	for _, name := range usecase.TaskNames {
		vars["FLASHSTOCK_SCHEDULE_"+strings.ToUpper(name)] = "off"
	}
	base, _ := startServer(t, vars)
	e, err := scrapeMetrics(base)
	if err != nil {
		t.Fatalf("scraping %s/metrics: %v", base, err)
	}
	if missing := missingMetrics(refs, e); len(missing) > 0 {
		t.Fatalf("the first scrape of a fresh server lacks %d of the %d metrics named by the monitoring files:\n  %s",
			len(missing), len(refs), strings.Join(missing, "\n  "))
	}
}

// pollInterval is the pause between two checks of a condition.
const pollInterval = 200 * time.Millisecond

// pollUntil checks cond until it holds (true) or within has passed (false).
func pollUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
}
