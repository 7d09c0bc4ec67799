package bench

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// errorCodesShown is how many error codes the table names per group; the
// rest are counted.
const errorCodesShown = 3

// WriteTable writes r for a human: per scenario a row per target and mode
// (median over rounds), the ratios with their raw figures and targets, the
// other checks and the error codes seen; then the overall audit verdict, the
// commit and the CPU count.
func WriteTable(w io.Writer, r Report) error {
	groups, _ := groupRuns(r.Runs)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, scenario := range scenarios(r) {
		fmt.Fprintf(tw, "%s\n", scenario)
		writeRows(tw, r, scenario, groups)
		writeRatios(tw, r, scenario)
		writeChecks(tw, r, scenario)
		writeErrors(tw, r, scenario, groups)
		writeMemory(tw, r, scenario)
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "audit: %s (%s)\n", verdict(r.AuditOK), auditCounts(r.Runs))
	fmt.Fprintf(tw, "commit %s, %d CPUs, %s\n", cmp.Or(r.Commit, "unknown"), r.CPUs, cmp.Or(r.GoVersion, "go version unknown"))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: table: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("bench: table: %w", err)
	}
	return nil
}

// scenarios lists r's scenarios in summary order.
func scenarios(r Report) []string {
	var names []string
	for _, s := range r.Summaries {
		if !slices.Contains(names, s.Scenario) {
			names = append(names, s.Scenario)
		}
	}
	return names
}

// writeRows writes one scenario's summaries.
func writeRows(w io.Writer, r Report, scenario string, groups map[runGroup][]Run) {
	fmt.Fprintln(w, "  target\tmode\truns\tthroughput/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\taudit")
	for _, s := range r.Summaries {
		if s.Scenario != scenario {
			continue
		}
		audit := "-"
		if slices.ContainsFunc(groups[runGroup{s.Scenario, s.Target, s.Mode}], func(r Run) bool { return r.Audit.Checked }) {
			audit = verdict(s.AuditOK)
		}
		fmt.Fprintf(w, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.Target, s.Mode, s.Runs, formatCount(s.Throughput),
			formatMillis(s.P50), formatMillis(s.P99), formatMillis(s.P999), formatMillis(s.Max),
			formatCount(float64(s.Errors)), audit)
	}
}

// writeRatios writes one scenario's ratios, each with the two throughputs
// it divides, after a blank line.
func writeRatios(w io.Writer, r Report, scenario string) {
	var wrote bool
	for _, ratio := range r.Ratios {
		if ratio.Scenario != scenario {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		fs, _ := findSummary(r.Summaries, scenario, TargetFlashstock, closedLoop)
		_, baseline, _ := strings.Cut(ratio.Name, "/")
		b, _ := findSummary(r.Summaries, scenario, baseline, closedLoop)
		goal := "no target"
		if ratio.Met != nil {
			goal = fmt.Sprintf("target ≥%s× %s", strconv.FormatFloat(ratio.Target, 'f', -1, 64), metWord(*ratio.Met))
		}
		fmt.Fprintf(w, "  %s\t%s×\t(%s/s vs %s/s)\t%s\n",
			ratio.Name, formatRatio(ratio.Value), formatCount(fs.Throughput), formatCount(b.Throughput), goal)
	}
}

// writeChecks writes one scenario's checks, after a blank line.
func writeChecks(w io.Writer, r Report, scenario string) {
	var wrote bool
	for _, c := range r.Checks {
		if c.Scenario != scenario {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		fmt.Fprintf(w, "  %s\t%s\t(%s)\ttarget <%s %s\n",
			c.Name, formatMillis(c.Value), c.Detail, strconv.FormatFloat(c.Target, 'f', -1, 64), metWord(c.Met))
	}
}

// writeErrors writes, for every group of one scenario that had errors, its
// most frequent error codes over all rounds, after a blank line.
func writeErrors(w io.Writer, r Report, scenario string, groups map[runGroup][]Run) {
	var wrote bool
	for _, s := range r.Summaries {
		if s.Scenario != scenario || s.Errors == 0 {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		runs := groups[runGroup{s.Scenario, s.Target, s.Mode}]
		counts := make(map[string]int64)
		var failing int
		for _, run := range runs {
			if errorCount(run) > 0 {
				failing++
			}
			for code, n := range run.Errors {
				counts[code] += n
			}
		}
		fmt.Fprintf(w, "  errors %s %s (%d of %d runs): %s\n", s.Target, s.Mode, failing, len(runs), topCodes(counts))
	}
}

// topCodes names the errorCodesShown most frequent codes with their counts
// (ties by name), and how many other codes there were.
func topCodes(counts map[string]int64) string {
	codes := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	var parts []string
	for _, code := range codes[:min(len(codes), errorCodesShown)] {
		parts = append(parts, fmt.Sprintf("%s ×%s", code, formatCount(float64(counts[code]))))
	}
	if more := len(codes) - errorCodesShown; more > 0 {
		parts = append(parts, fmt.Sprintf("+%d more codes", more))
	}
	return strings.Join(parts, ", ")
}

// auditCounts says how many runs were audited and how many failed.
func auditCounts(runs []Run) string {
	var checked, failed int
	for _, r := range runs {
		if r.Audit.Checked {
			checked++
			if !r.Audit.OK {
				failed++
			}
		}
	}
	return fmt.Sprintf("%d of %d audited runs failed", failed, checked)
}

// verdict is PASS or FAIL.
func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// metWord is MET or MISSED.
func metWord(met bool) string {
	if met {
		return "MET"
	}
	return "MISSED"
}

// formatCount rounds v to an integer with thousands separators: 19,320.
func formatCount(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	digits := strconv.FormatInt(int64(math.Abs(math.Round(v))), 10)
	var b strings.Builder
	if v <= -0.5 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// formatMillis keeps about three significant digits: 0.412, 6.40, 31.2, 250.
func formatMillis(ms float64) string {
	switch {
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 3, 64)
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return formatCount(ms)
}

// formatRatio keeps about three significant digits: 0.231, 2.41, 24.1, 105.
func formatRatio(v float64) string {
	if v < 100 {
		return formatMillis(v)
	}
	return formatCount(v)
}

// WriteJSON writes r to path as indented JSON, atomically: readers see the
// old file or the whole new one.
func WriteJSON(path string, r Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	b = append(b, '\n')
	return writeFileAtomic(path, bytes.NewReader(b))
}

// writeFileAtomic writes src to a temporary file in path's directory, syncs
// it and renames it over path.
func writeFileAtomic(path string, src io.WriterTo) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = src.WriteTo(f); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// writeMemory prints the server's resident memory over each run that
// sampled it (soak).
func writeMemory(w io.Writer, r Report, scenario string) {
	const mib = 1 << 20
	for _, run := range r.Runs {
		if run.Scenario != scenario || run.Memory == nil {
			continue
		}
		m := run.Memory
		fmt.Fprintf(w, "  memory %s %s round %d (resident): start %.1f MiB, peak %.1f MiB, end %.1f MiB\n",
			run.Target, run.Mode, run.Round, float64(m.StartBytes)/mib, float64(m.PeakBytes)/mib, float64(m.EndBytes)/mib)
	}
}
