package bench

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The fsync probe: beside every open-loop run, the disk the database's WAL
// is on is timed by doing what a commit does to it, a small write made
// durable, so that the order p99 can be held to what the disk allows (a
// durable answer cannot beat one fsync).
const (
	// fsyncProbeBytes is written before each fdatasync: about one commit's
	// WAL of a group of orders.
	fsyncProbeBytes = 8 << 10
	// fsyncProbePause is the wait between probes: a sample every few
	// milliseconds, without doubling the disk's flush load.
	fsyncProbePause = 5 * time.Millisecond
)

// fsyncProbe writes fsyncProbeBytes at the start of its own file and
// fdatasyncs them, every fsyncProbePause until stopped, recording each
// fdatasync's latency.
type fsyncProbe struct {
	file *os.File
	hist *hdrhistogram.Histogram // microseconds; written by the probe's goroutine until done is closed
	quit chan struct{}
	done chan struct{}
	err  error        // set by the goroutine before done is closed
	n    atomic.Int64 // fdatasyncs timed so far
}

// startFsyncProbe creates the probe's file in dir (which must be on the
// database's disk), makes its first block durable (not timed) and starts
// probing.
func startFsyncProbe(dir string) (*fsyncProbe, error) {
	f, err := os.CreateTemp(dir, ".fsync-probe-*")
	if err != nil {
		return nil, fmt.Errorf("bench: fsync probe: %w", err)
	}
	buf := make([]byte, fsyncProbeBytes)
	for i := range buf {
		buf[i] = byte(i)
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: fsync probe: %w", err), f.Close(), os.Remove(f.Name()))
	}
	if err := f.Sync(); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: fsync probe: %w", err), f.Close(), os.Remove(f.Name()))
	}
	p := &fsyncProbe{file: f, hist: newHistogram(), quit: make(chan struct{}), done: make(chan struct{})}
	go p.loop(buf)
	return p, nil
}

// loop probes until quit is closed or a write fails.
func (p *fsyncProbe) loop(buf []byte) {
	defer close(p.done)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for n := 0; ; n++ {
		select {
		case <-p.quit:
			return
		case <-pause.C:
		}
		buf[0] = byte(n) // a changed block: nothing may skip the write
		if _, err := p.file.WriteAt(buf, 0); err != nil {
			p.err = fmt.Errorf("bench: fsync probe: %w", err)
			return
		}
		start := time.Now()
		if err := fdatasync(p.file); err != nil {
			p.err = fmt.Errorf("bench: fsync probe: %w", err)
			return
		}
		_ = p.hist.RecordValue(clampMicros(time.Since(start)))
		p.n.Add(1)
		pause.Reset(fsyncProbePause)
	}
}

// stop ends the probe, removes its file and returns what it measured.
func (p *fsyncProbe) stop() (*DiskLatency, error) {
	close(p.quit)
	<-p.done
	err := errors.Join(p.err, p.file.Close(), os.Remove(p.file.Name()))
	if err != nil {
		return nil, err
	}
	return diskLatency(p.hist), nil
}

// diskLatency summarizes a histogram of microseconds.
func diskLatency(h *hdrhistogram.Histogram) *DiskLatency {
	ms := func(us int64) float64 { return float64(us) / millisPerSec }
	return &DiskLatency{Samples: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P99: ms(h.ValueAtQuantile(99)),
		Max: ms(h.Max())}
}
