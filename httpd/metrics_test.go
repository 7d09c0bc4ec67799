package httpd

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GET /metrics: Deps.Metrics, a net/http handler, served through
// fasthttpadaptor; public, and observed like any other route.

const exposition = "# HELP flashstock_test_total A test counter.\n# TYPE flashstock_test_total counter\nflashstock_test_total 3\n"

func TestMetricsServesTheHandler(t *testing.T) {
	t.Parallel()
	var seen recorder[string]
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r.Method + " " + r.URL.Path + " " + r.Header.Get("Accept"))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(exposition))
	})
	obs := newObserved()
	ts := newTestServer(t, obs.option, func(_ *Config, d *Deps) { d.Metrics = handler })
	for _, path := range []string{"/metrics", "/metrics/"} {
		status, hdr, body := ts.do("GET", path, nil, "Accept", "text/plain")
		if status != 200 || string(body) != exposition {
			t.Errorf("GET %s: %d %q", path, status, body)
		}
		if ct := headerValue(hdr, "Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if headerValue(hdr, headerRequestID) == "" {
			t.Errorf("GET %s: no %s", path, headerRequestID)
		}
	}
	if got := seen.all(); len(got) != 2 || got[0] != "GET /metrics text/plain" {
		t.Errorf("the handler saw %q, want GET /metrics text/plain twice", got)
	}
	reqs := obs.requests.all()
	if len(reqs) != 2 || reqs[0].route != "/metrics" || reqs[0].method != "GET" || reqs[0].status != 200 {
		t.Errorf("Request calls %+v, want two for GET /metrics 200", reqs)
	}
}

// TestMetricsPromhttp: a real promhttp handler, through the adaptor.
func TestMetricsPromhttp(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "flashstock_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{}) })
	status, hdr, body := ts.do("GET", "/metrics", nil)
	if status != 200 || string(body) != exposition {
		t.Errorf("GET /metrics: %d %q", status, body)
	}
	if ct := headerValue(hdr, "Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the 0.0.4 text exposition", ct)
	}
}

// TestMetricsOff: without Deps.Metrics, /metrics is not_found.
func TestMetricsOff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	status, hdr, body := ts.do("GET", "/metrics", nil)
	wantProblem(t, status, hdr, body, 404, "not_found")
}
