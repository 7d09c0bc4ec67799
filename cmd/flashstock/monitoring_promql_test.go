package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// promqlNotMetrics are identifiers that PromQL reads as something other
// than a metric name even when no parenthesis follows: aggregation
// operators (whose "by (...)" may come first), binary and modifier
// keywords, and number literals.
var promqlNotMetrics = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true,
	"limit_ratio": true, "and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true,
}

// promqlLabelLists are the keywords followed by a parenthesized list of
// label names (not an expression).
var promqlLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// promqlMetricNames returns the metric names that the PromQL expression
// expr selects, each once, in order of appearance. It is a scanner, not a
// parser: it drops strings, label matchers ({...}), ranges ([...]),
// Grafana variables ($x), numbers and durations, label lists after
// by/without/on/ignoring/group_left/group_right, and identifiers followed
// by "(" (functions); what is left of the identifiers are metric names.
// A selector by __name__ is an error: the names it matches are unknown.
func promqlMetricNames(expr string) ([]string, error) {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	s := promqlScanner{src: expr}
	for !s.done() {
		c := s.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := s.skipString(); err != nil {
				return nil, err
			}
		case c == '{':
			start := s.pos
			if err := s.skipGroup('{', '}'); err != nil {
				return nil, err
			}
			if strings.Contains(s.src[start:s.pos], "__name__") {
				return nil, fmt.Errorf("%q: name metrics before their braces, not with __name__ (the check cannot follow it)", expr)
			}
		case c == '[':
			if err := s.skipGroup('[', ']'); err != nil {
				return nil, err
			}
		case c == '$':
			s.pos++
			s.identifier()
		case isDigit(c) || (c == '.' && isDigit(s.at(s.pos+1))):
			s.number()
		case isIdentStart(c):
			id := s.identifier()
			next := s.nextNonSpace()
			switch {
			case promqlLabelLists[id] && next == '(':
				s.skipSpace()
				if err := s.skipGroup('(', ')'); err != nil {
					return nil, err
				}
			case next == '(' || promqlNotMetrics[strings.ToLower(id)]:
				// a function, an aggregation or a keyword
			default:
				add(id)
			}
		default:
			s.pos++
		}
	}
	return names, nil
}

// labelValuesQuery matches Grafana's label_values(metric, label) and
// label_values(label) variable queries.
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.*)\)\s*$`)

// grafanaQueryMetricNames returns the metric names a Grafana Prometheus
// variable query names: label_values(selector, label) names the
// selector's metric, label_values(label) none; query_result(expr) and a
// plain expression are PromQL.
func grafanaQueryMetricNames(query string) ([]string, error) {
	if m := labelValuesQuery.FindStringSubmatch(query); m != nil {
		args := m[1]
		i := strings.LastIndex(args, ",")
		if i < 0 {
			return nil, nil
		}
		return promqlMetricNames(args[:i])
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(query), "query_result("); ok {
		return promqlMetricNames(strings.TrimSuffix(rest, ")"))
	}
	return promqlMetricNames(query)
}

// promqlScanner walks a PromQL expression byte by byte.
type promqlScanner struct {
	src string
	pos int
}

func (s *promqlScanner) done() bool { return s.pos >= len(s.src) }

func (s *promqlScanner) peek() byte { return s.at(s.pos) }

func (s *promqlScanner) at(i int) byte {
	if i < len(s.src) {
		return s.src[i]
	}
	return 0
}

func (s *promqlScanner) skipSpace() {
	for !s.done() && strings.IndexByte(" \t\r\n", s.peek()) >= 0 {
		s.pos++
	}
}

// nextNonSpace returns the next byte that is not white space, without
// consuming anything.
func (s *promqlScanner) nextNonSpace() byte {
	i := s.pos
	for i < len(s.src) && strings.IndexByte(" \t\r\n", s.src[i]) >= 0 {
		i++
	}
	return s.at(i)
}

func (s *promqlScanner) identifier() string {
	start := s.pos
	for !s.done() && (isIdentStart(s.peek()) || isDigit(s.peek())) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// number skips a number or duration literal: 0.99, 1e-9 (up to the sign),
// 0x1f, 5m, 1h30m.
func (s *promqlScanner) number() {
	for !s.done() && (isDigit(s.peek()) || isIdentStart(s.peek()) || s.peek() == '.') {
		s.pos++
	}
}

// skipString skips a quoted string; backquoted ones have no escapes.
func (s *promqlScanner) skipString() error {
	quote, start := s.peek(), s.pos
	s.pos++
	for !s.done() {
		c := s.peek()
		s.pos++
		switch {
		case c == '\\' && quote != '`':
			s.pos++
		case c == quote:
			return nil
		}
	}
	return fmt.Errorf("unterminated string at %d in %q", start, s.src)
}

// skipGroup skips from open to its matching close, over strings.
func (s *promqlScanner) skipGroup(open, close byte) error {
	start, depth := s.pos, 0
	for !s.done() {
		switch c := s.peek(); {
		case c == '"' || c == '\'' || c == '`':
			if err := s.skipString(); err != nil {
				return err
			}
			continue
		case c == open:
			depth++
		case c == close:
			depth--
			if depth == 0 {
				s.pos++
				return nil
			}
		}
		s.pos++
	}
	return fmt.Errorf("unbalanced %c at %d in %q", open, start, s.src)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func TestMonitoringPromQLMetricNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want []string
	}{
		{`up{job="flashstock"} == 0`, []string{"up"}},
		{`histogram_quantile(0.99, sum by (le) (rate(flashstock_order_creation_duration_seconds_bucket[5m]))) > 0.010`,
			[]string{"flashstock_order_creation_duration_seconds_bucket"}},
		{`sum(rate(a_total{status=~"5..",route=~"$route"}[$__rate_interval])) / sum without (instance) (rate(a_total[5m] offset 1h))`,
			[]string{"a_total"}},
		{`sum(x) by (route, le) / on (job) group_left (instance) y * ignoring(code) z`, []string{"x", "y", "z"}},
		{`max(go_gc_duration_seconds{quantile="1"}) + flashstock_process_open_fds > 1e-9 and bool 2`,
			[]string{"go_gc_duration_seconds", "flashstock_process_open_fds"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)") or vector(0) unless absent(n{a="}{"})`, []string{"m", "n"}},
		{`count_values("v", w) + topk(3, v:recorded:rate5m)`, []string{"w", "v:recorded:rate5m"}},
		{`x > $threshold`, []string{"x"}},
		{`sum(increase(c_total[$__range])) / sum(increase(c_total[$__range]))`, []string{"c_total"}},
	}
	for _, tc := range cases {
		got, err := promqlMetricNames(tc.expr)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetricNames(%q) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{`x{a="b}`, `rate(x[5m)`, `sum by (le (x)`, `{__name__=~"flashstock_.*"}`} {
		if got, err := promqlMetricNames(bad); err == nil {
			t.Errorf("promqlMetricNames(%q) = %q, want an error", bad, got)
		}
	}
	for q, want := range map[string][]string{
		"label_values(flashstock_http_requests_total, route)":           {"flashstock_http_requests_total"},
		`label_values(flashstock_task_runs_total{result="dead"}, task)`: {"flashstock_task_runs_total"},
		"label_values(route)": nil,
		"query_result(topk(5, sum by (route) (rate(h_total[5m]))))": {"h_total"},
	} {
		got, err := grafanaQueryMetricNames(q)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("grafanaQueryMetricNames(%q) = %q, %v; want %q", q, got, err, want)
		}
	}
}
