package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

const (
	// serverStopTimeout bounds how long Stop waits after the shutdown signal
	// before it kills the server's whole process group.
	serverStopTimeout = 30 * time.Second
	// killWaitTimeout bounds the wait for the exit after SIGKILL.
	killWaitTimeout = 10 * time.Second
	// outputDrainTimeout bounds how long output is still read after the
	// server exited; a leftover grandchild may hold the pipe open.
	outputDrainTimeout = 2 * time.Second
)

// process is a server running as our child in its own process group.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // exit status from Wait; written before done is closed
}

// startProcess starts cmd in its own process group (so a terminal Ctrl-C is
// not delivered to it) with deathSig as its parent-death signal, sending its
// output to log and running it as cred when cred is non-nil.
// The caller must stop it with stop.
func startProcess(name string, cmd *exec.Cmd, log io.Writer, cred *syscall.Credential, deathSig syscall.Signal) (*process, error) {
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.WaitDelay = outputDrainTimeout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devenv: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends sig and waits for the exit until serverStopTimeout passes or
// ctx is done; then it kills the whole process group and reports that it
// had to. It returns nil at once if the process has already exited.
func (p *process) stop(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("devenv: signal %s: %w", p.name, err)
	}
	timer := time.NewTimer(serverStopTimeout)
	defer timer.Stop()
	var why string
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		why = fmt.Sprintf("did not exit within %v of %v", serverStopTimeout, sig)
	case <-ctx.Done():
		why = fmt.Sprintf("stop interrupted (%v)", ctx.Err())
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("devenv: %s %s; killed it", p.name, why)
	case <-time.After(killWaitTimeout):
		return fmt.Errorf("devenv: %s %s and survived SIGKILL for %v", p.name, why, killWaitTimeout)
	}
}
