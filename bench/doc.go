// Package bench is the load generator behind `flashstock bench`: flash-sale
// scenarios, latency histograms, the post-run correctness audit, baseline
// implementations run side by side, and reports.
//
// bench imports engine (and persist for the audit); never httpd, actors or
// cmd.
//
// The bench-suite issue fills this package in.
package bench
