package engine_test

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// almostOne is the largest jitter below 1.
var almostOne = math.Nextafter(1, 0)

// backoffCeiling is min(base·2^(n-1), max), computed without overflow.
func backoffCeiling(base, max time.Duration, n int) time.Duration {
	d := new(big.Int).Lsh(big.NewInt(int64(base)), uint(n-1))
	if d.Cmp(big.NewInt(int64(max))) > 0 {
		return max
	}
	return time.Duration(d.Int64())
}

func TestBackoffDelay(t *testing.T) {
	b := engine.Backoff{Base: time.Second, Max: time.Minute}
	tests := []struct {
		n    int
		want time.Duration // the ceiling d
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second},
		{7, time.Minute}, {8, time.Minute}, {64, time.Minute}, {1000, time.Minute},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n, 0); got != tt.want/2 {
			t.Errorf("Delay(%d, 0) = %v, want %v", tt.n, got, tt.want/2)
		}
		if got := b.Delay(tt.n, 0.5); got != tt.want*3/4 {
			t.Errorf("Delay(%d, 0.5) = %v, want %v", tt.n, got, tt.want*3/4)
		}
		if got := b.Delay(tt.n, almostOne); got > tt.want || got < tt.want-time.Microsecond {
			t.Errorf("Delay(%d, almost 1) = %v, want just under %v", tt.n, got, tt.want)
		}
	}
}

// TestBackoffDelayBounds checks [d/2, d] and a non-decreasing ceiling for
// several configurations, including a cap that is not base·2^k and caps so
// large that doubling up to them would overflow.
func TestBackoffDelayBounds(t *testing.T) {
	configs := []engine.Backoff{
		{Base: time.Second, Max: time.Minute},
		{Base: 3 * time.Second, Max: 10 * time.Second},
		{Base: time.Millisecond, Max: 5 * time.Millisecond},
		{Base: time.Minute, Max: time.Minute},
		{Base: time.Nanosecond, Max: 3 * time.Nanosecond},
		{Base: time.Second, Max: 1 << 62},
		{Base: time.Second, Max: math.MaxInt64},
		{Base: 3, Max: math.MaxInt64},
		{Base: math.MaxInt64, Max: math.MaxInt64},
	}
	for _, b := range configs {
		var prev time.Duration
		for n := 1; n <= 1000; n++ {
			if !checkDelay(t, b, n, backoffCeiling(b.Base, b.Max, n)) {
				break
			}
			hi := b.Delay(n, almostOne)
			if hi < prev {
				t.Errorf("%+v: Delay(%d, almost 1) = %v, below retry %d's %v", b, n, hi, n-1, prev)
				break
			}
			prev = hi
		}
	}
}

// checkDelay checks retry n against its ceiling d; false if it failed.
func checkDelay(t *testing.T, b engine.Backoff, n int, d time.Duration) bool {
	t.Helper()
	for _, jitter := range []float64{0, 0.25, 0.5, 0.999, almostOne} {
		if got := b.Delay(n, jitter); got < d/2 || got > d {
			t.Errorf("%+v: Delay(%d, %v) = %v, want within [%v, %v]", b, n, jitter, got, d/2, d)
			return false
		}
	}
	if got := b.Delay(n, 0); got != d/2 {
		t.Errorf("%+v: Delay(%d, 0) = %v, want %v", b, n, got, d/2)
		return false
	}
	return true
}

func FuzzBackoffDelay(f *testing.F) {
	f.Add(int64(time.Second), int64(time.Minute), 1, 0.0)
	f.Add(int64(time.Second), int64(math.MaxInt64), 100, 0.5)
	f.Add(int64(1), int64(1), 1000, 0.99)
	f.Fuzz(func(t *testing.T, base, max int64, n int, jitter float64) {
		if base <= 0 || max < base || n < 1 || n > 10_000 || !(jitter >= 0 && jitter < 1) {
			return // outside the contract (the configs validate base > 0, max >= base)
		}
		b := engine.Backoff{Base: time.Duration(base), Max: time.Duration(max)}
		d := backoffCeiling(b.Base, b.Max, n)
		if got := b.Delay(n, jitter); got < d/2 || got > d {
			t.Fatalf("%+v: Delay(%d, %v) = %v, want within [%v, %v]", b, n, jitter, got, d/2, d)
		}
	})
}

func TestDeadLetterRetryable(t *testing.T) {
	tests := []struct {
		source engine.DeadLetterSource
		want   bool
	}{
		{engine.DeadMail, true}, {engine.DeadTask, true}, {engine.DeadActor, false}, {"", false}, {"webhook", false},
	}
	for _, tt := range tests {
		if got := (engine.DeadLetter{Source: tt.source, Kind: "k"}).Retryable(); got != tt.want {
			t.Errorf("%q: Retryable() = %v, want %v", tt.source, got, tt.want)
		}
	}
	if engine.DeadMail != "mail" || engine.DeadTask != "task" || engine.DeadActor != "actor" {
		t.Errorf("sources %q, %q, %q", engine.DeadMail, engine.DeadTask, engine.DeadActor)
	}
}
