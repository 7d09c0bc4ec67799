package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// redisServerDirs are searched after PATH: some accounts' PATH lacks sbin.
var redisServerDirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"}

// ErrRedisMissing reports that redis-server is not installed and cannot be
// installed by us.
var ErrRedisMissing = errors.New("redis-server is not installed")

// EnsureRedisServer returns the path of redis-server. If it is missing and
// we are root, it installs the Debian package redis-server with apt-get,
// writing a progress line and apt-get's output to log (nil = discard).
// If it is missing and we are not root, the error wraps ErrRedisMissing and
// says what to install.
func EnsureRedisServer(ctx context.Context, log io.Writer) (string, error) {
	if path, ok := findRedisServer(); ok {
		return path, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("devenv: %w; install it with `sudo apt-get install -y redis-server`, "+
			"or point FLASHSTOCK_REDIS_URL (FLASHSTOCK_TEST_REDIS_URL for tests) at a running server", ErrRedisMissing)
	}
	unlock, err := lockFile(ctx, aptLockPath)
	if err != nil {
		return "", err
	}
	defer unlock()
	if path, ok := findRedisServer(); ok { // installed while we waited
		return path, nil
	}
	sink := newLogSink(log)
	fmt.Fprintln(sink, "devenv: redis-server not found; installing it with apt-get (once, may take a minute)")
	ctx, cancel := context.WithTimeout(ctx, aptTimeout)
	defer cancel()
	if err := aptGet(ctx, sink, "update"); err != nil {
		return "", err
	}
	// The package's postinst may fail to start a service (no init system
	// here); that is fine as long as the binary is there afterwards.
	installErr := aptGet(ctx, sink, "install", "-y", "--no-install-recommends", "redis-server")
	if path, ok := findRedisServer(); ok {
		return path, nil
	}
	if installErr == nil {
		return "", fmt.Errorf("devenv: %w even after apt-get install", ErrRedisMissing)
	}
	return "", fmt.Errorf("devenv: %w: %w", ErrRedisMissing, installErr)
}

func findRedisServer() (string, bool) {
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path, true
	}
	for _, dir := range redisServerDirs {
		path := filepath.Join(dir, "redis-server")
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
