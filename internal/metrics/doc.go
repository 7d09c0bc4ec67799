// Package metrics defines flashstock's Prometheus metrics (namespace
// flashstock_) on a registry passed in by cmd, and implements the observer
// ports of actors and httpd with them. Label values are bounded: routes are
// patterns, statuses, outcomes, tasks and sources come from fixed lists;
// there is no per-user or per-product label.
//
// It imports engine and the Prometheus client only; cmd wires it.
package metrics
