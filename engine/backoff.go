package engine

import "time"

// Backoff spaces out the attempts of a job: the n-th retry waits Base·2^(n-1),
// capped at Max, of which the second half is random (jitter), so that jobs
// failing together do not retry together.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay is the wait before retry n (1 = the first retry); jitter in [0, 1)
// picks the point in the random half.
func (b Backoff) Delay(n int, jitter float64) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		if d > b.Max/2 { // doubling would pass Max, or overflow
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(jitter*float64(d-half))
}
