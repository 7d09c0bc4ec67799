package devenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// pgDirs are the directories of one server.
type pgDirs struct {
	data     string // the cluster
	sock     string // Unix socket and its lock file; always temporary
	tempData bool   // data is temporary too
}

// newPGDirs prepares the directories for a server with the given DataDir
// (empty = temporary) and hands them to owner.
func newPGDirs(dataDir string, owner *serverUser) (pgDirs, error) {
	var d pgDirs
	var err error
	if dataDir == "" {
		d.tempData = true
		if dataDir, err = os.MkdirTemp("", "flashstock-pg-"); err != nil {
			return d, fmt.Errorf("devenv: %w", err)
		}
	} else if dataDir, err = filepath.Abs(dataDir); err != nil {
		return d, fmt.Errorf("devenv: %w", err)
	}
	d.data = dataDir
	// The socket path must stay short (about 100 bytes), hence its own
	// temporary directory rather than one inside DataDir.
	if d.sock, err = os.MkdirTemp("", "flashstock-pgsock-"); err != nil {
		return d, errors.Join(fmt.Errorf("devenv: %w", err), d.remove())
	}
	if err = owner.ownDir(d.data); err == nil {
		err = owner.ownDir(d.sock)
	}
	if err != nil {
		return d, errors.Join(err, d.remove())
	}
	return d, nil
}

// remove deletes the temporary directories.
func (d pgDirs) remove() error {
	var errs []error
	if d.sock != "" {
		errs = append(errs, os.RemoveAll(d.sock))
	}
	if d.tempData && d.data != "" {
		errs = append(errs, os.RemoveAll(d.data))
	}
	return errors.Join(errs...)
}
