package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Product set-up of the runs.
const (
	benchPrice   = 1250       // minor units
	plentyStock  = 50_000_000 // per product in runs that must not sell out
	rssEvery     = 500 * time.Millisecond
	millisPerSec = 1000
)

// curvePercentiles are the points of a run's latency-percentile curve:
// ten per "nine" from 0% to 99.999%, then 100%.
var curvePercentiles = func() []float64 {
	var ps []float64
	for k := 0; k <= 50; k++ {
		ps = append(ps, 100*(1-math.Pow(10, -float64(k)/10)))
	}
	return append(ps, 100)
}()

// step is one measured run: which target, how to drive it, what to send
// and what the database must show afterwards.
type step struct {
	scenario string
	target   Target
	round    int
	load     Load
	warmup   time.Duration // closed-loop load before the measured run, audited with it
	src      Source
	expect   expectation
}

// measure carries out one step: warm-up, run (the server's memory sampled;
// open loop, the disk's fsync latency probed beside it), audit.
func (s *suite) measure(ctx context.Context, st step) (Run, error) {
	st.load.URL = st.target.URL
	st.expect.since = time.Now()
	label := fmt.Sprintf("%s %s round %d, %d connections", st.scenario, st.target.Name, st.round, st.load.Connections)
	if st.warmup > 0 {
		w := Load{URL: st.target.URL, Connections: st.load.Connections, Duration: st.warmup}
		o, err := Generate(ctx, w, st.src)
		if err != nil {
			return Run{}, err
		}
		st.expect.orderIDs = append(st.expect.orderIDs, o.OrderIDs...)
		st.expect.orderTags = append(st.expect.orderTags, o.OrderTags...)
	}
	st.load.Progress = s.progress(label)
	o, mem, disk, err := s.generate(ctx, st)
	if err != nil {
		return Run{}, err
	}
	run := newRun(st, o)
	run.Memory, run.Fsync = mem, disk
	if st.target.Name != TargetCeiling {
		st.expect.orderIDs = append(st.expect.orderIDs, o.OrderIDs...)
		st.expect.orderTags = append(st.expect.orderTags, o.OrderTags...)
		if run.Audit, err = s.audit(ctx, st.expect); err != nil {
			return Run{}, err
		}
	}
	line := fmt.Sprintf("%s: %.0f/s ok, p99 %.2f ms, %d errors, audit %s", label, run.Throughput, run.Latency.P99,
		o.Requests-o.OK, auditWord(run.Audit))
	if disk != nil {
		line += fmt.Sprintf(", fsync p99 %.2f ms", disk.P99)
	}
	s.logf("%s", line)
	for _, p := range run.Audit.Problems {
		s.logf("  AUDIT: %s", p)
	}
	s.runs = append(s.runs, run)
	return run, nil
}

// generate runs the step's load, sampling the server's resident set and,
// open loop, probing the disk's fsync latency meanwhile.
func (s *suite) generate(ctx context.Context, st step) (Outcome, *Memory, *DiskLatency, error) {
	var mem *Memory
	stopRSS := func() {}
	if st.target.RSS != nil {
		mem, stopRSS = sampleRSS(st.target.RSS)
	}
	var probe *fsyncProbe
	if st.load.Rate > 0 && s.env.FsyncDir != "" {
		var err error
		if probe, err = startFsyncProbe(s.env.FsyncDir); err != nil {
			stopRSS()
			return Outcome{}, nil, nil, err
		}
	}
	o, err := Generate(ctx, st.load, st.src)
	stopRSS()
	var disk *DiskLatency
	if probe != nil {
		var perr error
		disk, perr = probe.stop()
		err = errors.Join(err, perr)
	}
	return o, mem, disk, err
}

// audit checks a run against the database, by its products or its block.
func (s *suite) audit(ctx context.Context, x expectation) (Audit, error) {
	if x.block != nil {
		return auditBlock(ctx, s.env.Auditor, s.env.Blocks, x.block, x)
	}
	return audit(ctx, s.env.Auditor, x)
}

// newRun summarizes an outcome.
func newRun(st step, o Outcome) Run {
	h := o.Latency
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / millisPerSec }
	r := Run{Scenario: st.scenario, Target: st.target.Name, Round: st.round, Mode: "closed",
		Connections: st.load.Connections, Rate: st.load.Rate, Duration: o.Elapsed, Requests: o.Requests,
		OK: o.OK, Errors: o.Errors,
		Latency: Latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9),
			Max: float64(h.Max()) / millisPerSec, Mean: h.Mean() / millisPerSec}}
	if st.load.Rate > 0 {
		r.Mode = "open"
	}
	if o.Elapsed > 0 {
		r.Throughput = float64(o.OK) / o.Elapsed.Seconds()
	}
	for _, p := range curvePercentiles {
		r.Curve = append(r.Curve, Point{Percentile: p, Millis: ms(p)})
	}
	return r
}

// progress returns the progress callback of one run.
func (s *suite) progress(label string) func(Snapshot) {
	return func(p Snapshot) {
		s.logf("  %s: %4.0fs  %8.0f/s  ok %d  errors %d  p99 so far %.2f ms", label,
			p.Elapsed.Seconds(), p.Rate, p.OK, p.Errors, float64(p.P99)/float64(time.Millisecond))
	}
}

// sampleRSS samples a process's resident set until stop is called.
func sampleRSS(rss func() (int64, error)) (*Memory, func()) {
	m := &Memory{}
	first, _ := rss()
	m.StartBytes, m.PeakBytes = first, first
	var peak atomic.Int64
	peak.Store(first)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(rssEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if b, err := rss(); err == nil && b > peak.Load() {
					peak.Store(b)
				}
			}
		}
	}()
	return m, func() {
		close(done)
		<-finished
		m.EndBytes, _ = rss()
		m.PeakBytes = max(peak.Load(), m.EndBytes)
	}
}

func auditWord(a Audit) string {
	switch {
	case !a.Checked:
		return "n/a"
	case a.OK:
		return "ok"
	}
	return "FAILED"
}

// products creates n products with the given stock for one run.
func (s *suite) products(ctx context.Context, label string, n int, stock int64) ([]Product, error) {
	ps := make([]Product, n)
	for i := range ps {
		p, err := s.env.API.CreateProduct(ctx, fmt.Sprintf("b%s-%s-%d", s.tag, label, i), benchPrice, stock)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}
