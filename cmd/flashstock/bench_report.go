package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flashstock/flashstock/bench"
)

// errAuditFailed makes flashstock bench exit non-zero when a run's audit
// found a mismatch.
var errAuditFailed = errors.New("bench: audit FAILED: the database does not match the answers (see above)")

// writeBenchReport prints the table and writes report.json, summary.txt
// and the latency plots into dir.
func writeBenchReport(e env, dir string, r bench.Report) error {
	var table bytes.Buffer
	if err := bench.WriteTable(&table, r); err != nil {
		return err
	}
	if _, err := io.Copy(e.stdout, bytes.NewReader(table.Bytes())); err != nil {
		return err
	}
	files := []string{filepath.Join(dir, "report.json"), filepath.Join(dir, "summary.txt")}
	if err := bench.WriteJSON(files[0], r); err != nil {
		return err
	}
	if err := os.WriteFile(files[1], table.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	plots, err := bench.WritePlots(dir, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nreport: %v\n", append(files, plots...))
	if !r.AuditOK {
		return errAuditFailed
	}
	return nil
}
