package bench

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable (not its metadata, as the WAL's own
// flushes do).
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
