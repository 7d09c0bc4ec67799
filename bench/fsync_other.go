//go:build !linux

package bench

import "os"

// fdatasync makes f durable; where fdatasync is missing, with fsync.
func fdatasync(f *os.File) error { return f.Sync() }
