package devenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// RedisConfig says how to run a Redis server.
type RedisConfig struct {
	// DataDir holds the append-only file and snapshots; the server persists
	// to it. Empty means a temporary directory that Stop removes, and no
	// persistence.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives the server's output and progress lines (including
	// apt-get's, should redis-server need installing); nil discards them.
	// Writes from one server are serialized; a writer shared by two servers
	// must be safe for concurrent use.
	Log io.Writer
}

// Redis is a Redis server started by StartRedis. It runs until Stop; its
// methods are safe for concurrent use.
type Redis struct {
	url     string
	addr    string // host:port
	proc    *process
	tempDir string // removed by Stop; empty when persistent

	mu      sync.Mutex // guards stopped and stopErr
	stopped bool
	stopErr error
}

// URL returns the connection URL, for example redis://127.0.0.1:6380/0.
func (r *Redis) URL() string { return r.url }

// StartRedis makes sure redis-server is installed (see EnsureRedisServer),
// starts it as a child process and waits until it answers PING.
// ctx bounds only the start.
func StartRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	log := newLogSink(cfg.Log)
	bin, err := EnsureRedisServer(ctx, log)
	if err != nil {
		return nil, err
	}
	dir, tempDir, err := redisDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				break
			}
		}
		var r *Redis
		if r, err = runRedis(ctx, bin, dir, cfg.DataDir != "", port, log); err == nil {
			r.tempDir = tempDir
			return r, nil
		}
		if cfg.Port != 0 || attempt == portAttemptsMax || !errors.Is(err, errPortTaken) {
			break
		}
		fmt.Fprintf(log, "devenv: redis port %d was taken; retrying on another\n", port)
	}
	if tempDir != "" {
		err = errors.Join(err, os.RemoveAll(tempDir))
	}
	return nil, err
}

// redisDir returns the absolute working directory for a server with the
// given DataDir, creating it, and the same path again if it is temporary.
func redisDir(dataDir string) (dir, tempDir string, err error) {
	if dataDir == "" {
		dir, err = os.MkdirTemp("", "flashstock-redis-")
		if err != nil {
			return "", "", fmt.Errorf("devenv: %w", err)
		}
		return dir, dir, nil
	}
	if dir, err = filepath.Abs(dataDir); err != nil {
		return "", "", fmt.Errorf("devenv: %w", err)
	}
	if err = mkdirPrivate(dir); err != nil {
		return "", "", err
	}
	return dir, "", nil
}

// runRedis starts the server on port and waits for it; on error the server
// is stopped again.
func runRedis(ctx context.Context, bin, dir string, persist bool, port int, log *logSink) (*Redis, error) {
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--daemonize", "no"}
	if persist {
		args = append(args, "--appendonly", "yes")
	} else {
		args = append(args, "--save", "", "--appendonly", "no")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	log.ResetTail()
	fmt.Fprintf(log, "devenv: starting redis on 127.0.0.1:%d, dir %s\n", port, dir)
	proc, err := startProcess("redis", cmd, log, nil, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	err = waitReady(ctx, proc, log, func(ctx context.Context) error { return pingRedis(ctx, addr) })
	if err != nil {
		return nil, errors.Join(err, proc.stop(context.Background(), syscall.SIGTERM))
	}
	return &Redis{url: "redis://" + addr + "/0", addr: addr, proc: proc}, nil
}

// Stop shuts the server down (with a final save when persistent) and
// removes its temporary directory. It kills the server if it has not exited
// within 30 s or when ctx is done. Calling Stop again returns the first
// call's result.
func (r *Redis) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped = true
		r.stopErr = r.proc.stop(ctx, syscall.SIGTERM)
		if r.tempDir != "" {
			r.stopErr = errors.Join(r.stopErr, os.RemoveAll(r.tempDir))
		}
	}
	return r.stopErr
}

// pingRedis sends PING in RESP and expects PONG. A server still loading its
// data answers an error, which counts as not ready.
func pingRedis(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
