package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dashboardTitles are the committed dashboards, by file name.
var dashboardTitles = map[string]string{
	"orders-latency.json":  "Orders & latency",
	"actors-tasks.json":    "Actors & tasks",
	"inventory-locks.json": "Inventory & locks",
}

// dashboard is a Grafana dashboard as committed: only the fields checked
// are typed, the panels stay generic (rows nest panels).
type dashboard struct {
	UID        string           `json:"uid"`
	Title      string           `json:"title"`
	Panels     []map[string]any `json:"panels"`
	Templating struct {
		List []map[string]any `json:"list"`
	} `json:"templating"`
	raw map[string]any
}

func readDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoFile(grafanaDashboardDir), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", grafanaDashboardDir, err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal(b, &d.raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// flattenPanels returns the panels with the panels of rows (collapsed rows
// carry theirs inside) in place of the rows.
func flattenPanels(panels []map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range panels {
		if nested, ok := p["panels"].([]any); ok {
			for _, n := range nested {
				if m, ok := n.(map[string]any); ok {
					out = append(out, flattenPanels([]map[string]any{m})...)
				}
			}
		}
		if p["type"] != "row" {
			out = append(out, p)
		}
	}
	return out
}

// dashboardQueries returns every panel target's expr and every variable
// query of d; a panel with no query is an error.
func dashboardQueries(t *testing.T, file string, d dashboard) []namedQuery {
	t.Helper()
	var qs []namedQuery
	for _, p := range flattenPanels(d.Panels) {
		title, _ := p["title"].(string)
		targets, _ := p["targets"].([]any)
		n := 0
		for _, tg := range targets {
			expr, _ := tg.(map[string]any)["expr"].(string)
			if strings.TrimSpace(expr) == "" {
				continue
			}
			qs = append(qs, namedQuery{where: fmt.Sprintf("%s: panel %q", file, title), query: expr})
			n++
		}
		if n == 0 {
			t.Errorf("%s: panel %q (%v) has no query", file, title, p["type"])
		}
	}
	for _, v := range d.Templating.List {
		q := v["query"]
		if m, ok := q.(map[string]any); ok {
			q = m["query"]
		}
		if s, ok := q.(string); ok && v["type"] == "query" {
			qs = append(qs, namedQuery{where: fmt.Sprintf("%s: variable %v", file, v["name"]), query: s, grafana: true})
		}
	}
	return qs
}

// provisionedDatasourceUID returns the uid of the one provisioned
// Prometheus datasource.
func provisionedDatasourceUID(t *testing.T) string {
	t.Helper()
	var f struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	readYAML(t, grafanaDatasourceFile, &f)
	if len(f.Datasources) != 1 || f.Datasources[0].Type != "prometheus" || f.Datasources[0].UID == "" {
		t.Fatalf("%s: want one prometheus datasource with a uid, got %+v", grafanaDatasourceFile, f.Datasources)
	}
	return f.Datasources[0].UID
}

// datasourceUIDs returns every datasource uid referenced anywhere in v,
// except Grafana's built-in annotation source.
func datasourceUIDs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if ds, ok := x.(map[string]any); ok && k == "datasource" && ds["type"] != "grafana" {
				uid, _ := ds["uid"].(string)
				out = append(out, uid)
			}
			out = append(out, datasourceUIDs(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, datasourceUIDs(x)...)
		}
	}
	return out
}

// TestMonitoringDashboardsWellFormed: the three dashboards are there with
// their titles and unique uids, every panel has a query and names the
// provisioned datasource, and panel ids are unique per dashboard.
func TestMonitoringDashboardsWellFormed(t *testing.T) {
	t.Parallel()
	dsUID := provisionedDatasourceUID(t)
	dashboards := readDashboards(t)
	uids := map[string]string{}
	for file, d := range dashboards {
		want, ok := dashboardTitles[file]
		if !ok {
			t.Errorf("%s: not one of the dashboards this test knows (%v); add it to dashboardTitles", file, dashboardTitles)
		} else if d.Title != want {
			t.Errorf("%s: title %q, want %q", file, d.Title, want)
		}
		if d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: uid %q, want 1..40 characters", file, d.UID)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share the uid %q", file, other, d.UID)
		}
		uids[d.UID] = file
		if d.raw["id"] != nil {
			t.Errorf("%s: id %v, want null (Grafana assigns it)", file, d.raw["id"])
		}
		ids := map[float64]bool{}
		var walk func([]map[string]any)
		walk = func(ps []map[string]any) {
			for _, p := range ps {
				id, _ := p["id"].(float64)
				if ids[id] {
					t.Errorf("%s: panel id %v used twice", file, id)
				}
				ids[id] = true
				if _, ok := p["gridPos"].(map[string]any); !ok {
					t.Errorf("%s: panel %v has no gridPos", file, p["title"])
				}
				if nested, ok := p["panels"].([]any); ok {
					var ms []map[string]any
					for _, n := range nested {
						ms = append(ms, n.(map[string]any))
					}
					walk(ms)
				}
			}
		}
		walk(d.Panels)
		dashboardQueries(t, file, d)
		for _, uid := range datasourceUIDs(d.raw) {
			if uid != dsUID {
				t.Errorf("%s: datasource uid %q, want the provisioned %q", file, uid, dsUID)
			}
		}
	}
	for file := range dashboardTitles {
		if _, ok := dashboards[file]; !ok {
			t.Errorf("dashboard %s missing from %s", file, grafanaDashboardDir)
		}
	}
}
