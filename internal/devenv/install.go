package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// aptTimeout bounds `apt-get update` plus `apt-get install`.
	aptTimeout = 10 * time.Minute
	// aptLockPath serializes installs by concurrent processes of ours (say,
	// two test binaries), which would otherwise fight over dpkg's lock.
	aptLockPath = "/tmp/flashstock-apt.lock"
	// lockPollInterval is the pause between two attempts to take aptLockPath.
	lockPollInterval = 200 * time.Millisecond
)

// programDirs are searched after PATH: some accounts' PATH lacks sbin.
var programDirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"}

// ErrRedisMissing reports that redis-server is not installed and cannot be
// installed by us.
var ErrRedisMissing = errors.New("redis-server is not installed")

// redisPackage provides redis-server.
var redisPackage = debianPackage{name: "redis-server", programs: []string{"redis-server"}, missing: ErrRedisMissing,
	hint: "install it with `sudo apt-get install -y redis-server`, " +
		"or point FLASHSTOCK_REDIS_URL (FLASHSTOCK_TEST_REDIS_URL for tests) at a running server"}

// EnsureRedisServer returns the path of redis-server. If it is missing and
// we are root, it installs the Debian package redis-server with apt-get,
// writing a progress line and apt-get's output to log (nil = discard).
// If it is missing and we are not root, the error wraps ErrRedisMissing and
// says what to install.
func EnsureRedisServer(ctx context.Context, log io.Writer) (string, error) {
	paths, err := ensurePackage(ctx, log, redisPackage)
	if err != nil {
		return "", err
	}
	return paths[0], nil
}

// debianPackage is a Debian package that provides programs we run.
type debianPackage struct {
	name     string   // for apt-get install
	programs []string // every program we need from it
	missing  error    // wrapped by the error when the programs cannot be had
	hint     string   // what a user who is not root should do instead
}

// ensurePackage returns the paths of pkg's programs, in the order of
// pkg.programs. If one is missing and we are root, it installs the package
// with apt-get (update first), writing a progress line and apt-get's output
// to log (nil = discard); concurrent installs of ours are serialized by
// aptLockPath. If one is missing and we are not root, the error wraps
// pkg.missing and carries pkg.hint.
func ensurePackage(ctx context.Context, log io.Writer, pkg debianPackage) ([]string, error) {
	if paths, ok := findPrograms(pkg.programs); ok {
		return paths, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("devenv: %w; %s", pkg.missing, pkg.hint)
	}
	unlock, err := lockFile(ctx, aptLockPath)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if paths, ok := findPrograms(pkg.programs); ok { // installed while we waited
		return paths, nil
	}
	sink := newLogSink(log)
	fmt.Fprintf(sink, "devenv: %s not found; installing the package %s with apt-get (once, may take a minute)\n",
		strings.Join(pkg.programs, " or "), pkg.name)
	ctx, cancel := context.WithTimeout(ctx, aptTimeout)
	defer cancel()
	if err := aptGet(ctx, sink, "update"); err != nil {
		return nil, err
	}
	// The package's postinst may fail to start a service (no init system
	// here); that is fine as long as the programs are there afterwards.
	installErr := aptGet(ctx, sink, "install", "-y", "--no-install-recommends", pkg.name)
	if paths, ok := findPrograms(pkg.programs); ok {
		return paths, nil
	}
	if installErr == nil {
		return nil, fmt.Errorf("devenv: %w even after apt-get install %s", pkg.missing, pkg.name)
	}
	return nil, fmt.Errorf("devenv: %w: %w", pkg.missing, installErr)
}

// findPrograms returns the path of every named program, or false if one
// is missing.
func findPrograms(names []string) ([]string, bool) {
	paths := make([]string, len(names))
	for i, name := range names {
		path, ok := findProgram(name)
		if !ok {
			return nil, false
		}
		paths[i] = path
	}
	return paths, true
}

func findProgram(name string) (string, bool) {
	if path, err := exec.LookPath(name); err == nil {
		return path, true
	}
	for _, dir := range programDirs {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return path, true
		}
	}
	return "", false
}

// aptGet runs apt-get non-interactively, waiting up to two minutes for a
// dpkg lock held by someone else.
func aptGet(ctx context.Context, log *logSink, args ...string) error {
	args = append([]string{"-o", "DPkg::Lock::Timeout=120"}, args...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout = log
	cmd.Stderr = log
	log.ResetTail()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devenv: apt-get %v: %w; output:\n%s", args, err, log.Tail())
	}
	return nil
}

// lockFile takes an exclusive flock on path, polling until ctx is done.
// The returned function releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devenv: open lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("devenv: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("devenv: wait for lock %s: %w", path, ctx.Err())
		case <-time.After(lockPollInterval):
		}
	}
}
