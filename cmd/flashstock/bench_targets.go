package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/bench"
	"github.com/flashstock/flashstock/internal/devenv"
)

// Limits of the bench's server processes.
const (
	targetStartTimeout = time.Minute
	targetStopTimeout  = 15 * time.Second
	targetPollEvery    = 50 * time.Millisecond
)

// benchWorld is what every target process is given: the same database,
// Redis and JWT secret.
type benchWorld struct {
	databaseURL string
	redisURL    string
	jwtSecret   string
	logDir      string // each target's output goes to <logDir>/<name>.log
}

// targetProc is one running server under test.
type targetProc struct {
	name   string
	cmd    *exec.Cmd
	log    *os.File
	url    string
	exited chan struct{} // closed once the process has been waited for
}

// startTarget starts the named target as a child process of this binary
// (flashstock serve, or the hidden bench-baseline command) on a free
// loopback port and waits until it answers /healthz.
func startTarget(ctx context.Context, w benchWorld, name string) (*targetProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own binary: %w", err)
	}
	port, err := devenv.FreePort()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env := append(os.Environ(), "FLASHSTOCK_ENV=dev", "FLASHSTOCK_DATABASE_URL="+w.databaseURL,
		"FLASHSTOCK_REDIS_URL="+w.redisURL, "FLASHSTOCK_JWT_SECRET="+w.jwtSecret, "FLASHSTOCK_HTTP_ADDR="+addr,
		"FLASHSTOCK_WEBHOOK_SECRET="+newWebhookSecret())
	if os.Getenv("FLASHSTOCK_LOG_LEVEL") == "" {
		env = append(env, "FLASHSTOCK_LOG_LEVEL=warn")
	}
	args := []string{"bench-baseline", "--kind", name}
	if name == bench.TargetFlashstock {
		args = []string{"serve"}
		// Buyers are created through the API and then order as fast as they
		// can: rate limits off, cheap password hashes, tokens that outlive
		// the run; no demo seed.
		env = append(env, "FLASHSTOCK_RATE_ORDERS=off", "FLASHSTOCK_RATE_AUTH=off", "FLASHSTOCK_BCRYPT_COST=4",
			"FLASHSTOCK_ACCESS_TTL=6h", "FLASHSTOCK_SEED=false")
	}
	logFile, err := os.Create(filepath.Join(w.logDir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	// Killed with us: a bench interrupted hard leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &targetProc{name: name, cmd: cmd, log: logFile, url: "http://" + addr, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	if err := p.waitHealthy(ctx); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits or
// the start timeout passes.
func (p *targetProc) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(targetStartTimeout)
	for time.Now().Before(deadline) {
		status, _, err := fasthttp.GetTimeout(nil, p.url+"/healthz", time.Second)
		if err == nil && status == fasthttp.StatusOK {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("bench: %s exited during start-up; its log: %s", p.name, p.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(targetPollEvery):
		}
	}
	return fmt.Errorf("bench: %s did not answer /healthz within %s; its log: %s", p.name, targetStartTimeout, p.log.Name())
}

// stop asks the process to shut down (SIGTERM) and kills it if it has not
// exited within the stop timeout.
func (p *targetProc) stop() error {
	defer p.log.Close()
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(targetStopTimeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return fmt.Errorf("bench: %s did not stop within %s and was killed", p.name, targetStopTimeout)
}

// target describes the process to the bench.
func (p *targetProc) target() bench.Target {
	return bench.Target{Name: p.name, URL: p.url, RSS: func() (int64, error) { return residentBytes(p.cmd.Process.Pid) }}
}

// residentBytes reads a process's resident set size from /proc.
func residentBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
