package devenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// relocatedDataRoot is where a cluster goes when the server's user cannot
// reach the directory asked for (a checkout under /root, or under a 0700
// temporary directory, while PostgreSQL runs as user postgres): a directory
// there, linked from the one asked for.
const relocatedDataRoot = "/var/tmp"

// pgDirs are the directories of one server.
type pgDirs struct {
	data     string // the cluster
	sock     string // Unix socket and its lock file; always temporary
	tempData bool   // data is temporary too
	linked   string // the directory asked for, when data is relocated and linked from it
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
	} else if d.data, d.linked, err = owner.placeData(dataDir); err != nil {
		return d, err
	}
	if d.data == "" {
		d.data = dataDir
	}
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

// placeData returns where the cluster asked for at dir really lives:
// dir's target when dir is a link made by an earlier call, or else, when
// u cannot reach dir's parent, a new directory under relocatedDataRoot
// that dir now links to (linked = dir). It returns "" when the cluster
// lives at dir itself. A non-empty directory at an unreachable dir is left
// alone: its cluster could not have been made by u.
func (u *serverUser) placeData(dir string) (data, linked string, err error) {
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", "", fmt.Errorf("devenv: data dir %s links to a missing directory (remove the link to start over): %w", dir, err)
		}
		return target, dir, nil
	}
	if u.cred == nil {
		return "", "", nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", "", fmt.Errorf("devenv: create %s: %w", parent, err)
	}
	if u.checkReachable(parent) == nil {
		return "", "", nil
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("devenv: user %s cannot reach %s, and it is not empty: %w", u.name, dir, err)
	}
	if data, err = os.MkdirTemp(relocatedDataRoot, "flashstock-pg-"); err != nil {
		return "", "", fmt.Errorf("devenv: %w", err)
	}
	if err := os.Symlink(data, dir); err != nil {
		return "", "", errors.Join(fmt.Errorf("devenv: %w", err), os.Remove(data))
	}
	return data, dir, nil
}
