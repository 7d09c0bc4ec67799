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

// WriteTable writes r for a human: per section (scenario and connection
// count) a row per target and mode (median over rounds, the server's peak
// resident memory), the ratios with their raw figures and targets, the fsync
// probe beside the open-loop runs, the other checks and the error codes
// seen; then the overall audit verdict, the commit and the CPU count.
func WriteTable(w io.Writer, r Report) error {
	groups, _ := groupRuns(r.Runs)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, sec := range sections(r) {
		fmt.Fprintf(tw, "%s\n", sec.title())
		writeRows(tw, r, sec, groups)
		writeRatios(tw, r, sec)
		writeFsync(tw, r, sec)
		writeChecks(tw, r, sec)
		writeErrors(tw, r, sec, groups)
		writeMemory(tw, r, sec)
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

// sections lists r's sections in summary order.
func sections(r Report) []section {
	var secs []section
	for _, s := range r.Summaries {
		if sec := (section{s.Scenario, s.Connections}); !slices.Contains(secs, sec) {
			secs = append(secs, sec)
		}
	}
	return secs
}

// title is the section's heading: "hotsku, 64 connections".
func (sec section) title() string {
	if sec.connections == 0 {
		return sec.scenario
	}
	return fmt.Sprintf("%s, %d connections", sec.scenario, sec.connections)
}

// writeRows writes one section's summaries.
func writeRows(w io.Writer, r Report, sec section, groups map[runGroup][]Run) {
	fmt.Fprintln(w, "  target\tmode\truns\tthroughput/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tpeak RSS\taudit")
	for _, s := range r.Summaries {
		if s.Scenario != sec.scenario || s.Connections != sec.connections {
			continue
		}
		audit := "-"
		if slices.ContainsFunc(groups[runGroup{sec, s.Target, s.Mode}], func(r Run) bool { return r.Audit.Checked }) {
			audit = verdict(s.AuditOK)
		}
		fmt.Fprintf(w, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.Target, s.Mode, s.Runs, formatCount(s.Throughput),
			formatMillis(s.P50), formatMillis(s.P99), formatMillis(s.P999), formatMillis(s.Max),
			formatCount(float64(s.Errors)), formatMiB(s.PeakRSS), audit)
	}
}

// formatMiB is a resident set in MiB, "-" when unknown.
func formatMiB(bytes int64) string {
	if bytes <= 0 {
		return "-"
	}
	return formatCount(float64(bytes)/(1<<20)) + " MiB"
}

// writeRatios writes one section's ratios, each with the two throughputs
// it divides, after a blank line.
func writeRatios(w io.Writer, r Report, sec section) {
	var wrote bool
	for _, ratio := range r.Ratios {
		if ratio.Scenario != sec.scenario || ratio.Connections != sec.connections {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		goal := "no target"
		if ratio.Met != nil {
			goal = fmt.Sprintf("target ≥%s× %s", strconv.FormatFloat(ratio.Target, 'f', -1, 64), metWord(*ratio.Met))
		}
		if ratio.MoonshotMet != nil {
			goal += fmt.Sprintf(", moonshot ≥%s× %s", strconv.FormatFloat(ratio.Moonshot, 'f', -1, 64), metWord(*ratio.MoonshotMet))
		}
		fmt.Fprintf(w, "  %s\t%s×\t(%s/s vs %s/s)\t%s\n",
			ratio.Name, formatRatio(ratio.Value), formatCount(ratio.Throughput), formatCount(ratio.BaselineThroughput), goal)
	}
}

// writeFsync writes, for every summary of one section that had an fsync
// probe, the disk's latency beside the order p99, after a blank line.
func writeFsync(w io.Writer, r Report, sec section) {
	var wrote bool
	for _, s := range r.Summaries {
		if s.Scenario != sec.scenario || s.Connections != sec.connections || s.Fsync == nil {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		d := s.Fsync
		fmt.Fprintf(w, "  fsync probe beside %s %s (%s): p50 %s ms, p99 %s ms, max %s ms over %s fdatasyncs; order p99 %s ms\n",
			s.Target, s.Mode, countRuns(s.Runs), formatMillis(d.P50), formatMillis(d.P99), formatMillis(d.Max),
			formatCount(float64(d.Samples)), formatMillis(s.P99))
	}
}

// writeChecks writes one section's checks, after a blank line.
func writeChecks(w io.Writer, r Report, sec section) {
	var wrote bool
	for _, c := range r.Checks {
		if c.Scenario != sec.scenario || c.Connections != sec.connections {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		detail, goal := c.Detail, "<"+strconv.FormatFloat(c.Target, 'f', -1, 64)
		if c.Fsync != nil {
			detail += fmt.Sprintf("; fsync p99 %s ms", formatMillis(c.Fsync.P99))
			goal = fmt.Sprintf("≤%s (fsync p99 + %s)", formatMillis(c.Target), strconv.FormatFloat(fsyncAllowanceMillis, 'f', -1, 64))
			if c.Fsync.P99 < fastDiskFsyncMillis {
				goal += fmt.Sprintf(" and <%s", strconv.FormatFloat(fastDiskP99Millis, 'f', -1, 64))
			}
		}
		fmt.Fprintf(w, "  %s\t%s\t(%s)\ttarget %s %s\n", c.Name, formatMillis(c.Value), detail, goal, metWord(c.Met))
	}
}

// writeErrors writes, for every group of one section that had errors, its
// most frequent error codes over all rounds, after a blank line.
func writeErrors(w io.Writer, r Report, sec section, groups map[runGroup][]Run) {
	var wrote bool
	for _, s := range r.Summaries {
		if s.Scenario != sec.scenario || s.Connections != sec.connections || s.Errors == 0 {
			continue
		}
		if !wrote {
			fmt.Fprintln(w)
			wrote = true
		}
		runs := groups[runGroup{sec, s.Target, s.Mode}]
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

// writeMemory prints the server's resident memory at the start, peak and
// end of each soak run (every other run has its peak in its row).
func writeMemory(w io.Writer, r Report, sec section) {
	const mib = 1 << 20
	for _, run := range r.Runs {
		if run.Scenario != "soak" || run.Scenario != sec.scenario || run.Connections != sec.connections || run.Memory == nil {
			continue
		}
		m := run.Memory
		fmt.Fprintf(w, "  memory %s %s round %d (resident): start %.1f MiB, peak %.1f MiB, end %.1f MiB\n",
			run.Target, run.Mode, run.Round, float64(m.StartBytes)/mib, float64(m.PeakBytes)/mib, float64(m.EndBytes)/mib)
	}
}
