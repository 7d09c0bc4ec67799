package testenv

import (
	"runtime/debug"
	"testing"
)

// allocTrials is how many times Allocs measures.
const allocTrials = 5

// Allocs is testing.AllocsPerRun made robust for assertions on a busy
// machine: it warms f up, switches the garbage collector off while it
// measures (a collection empties sync.Pools, whose refills then count as
// f's allocations), and returns the least of several measurements (the
// count is process-wide, so a goroutine left running by another test can
// only add to it). Like AllocsPerRun it must not run in parallel with other
// tests.
func Allocs(runs int, f func()) float64 {
	f()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	least := testing.AllocsPerRun(runs, f)
	for range allocTrials - 1 {
		least = min(least, testing.AllocsPerRun(runs, f))
	}
	return least
}
