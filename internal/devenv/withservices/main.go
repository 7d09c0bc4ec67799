// Command withservices runs a command with throwaway PostgreSQL and Redis
// servers and hands them to it in FLASHSTOCK_TEST_DATABASE_URL and
// FLASHSTOCK_TEST_REDIS_URL:
//
//	go run ./internal/devenv/withservices -- go test -race ./...
//
// A variable that is already set (non-empty) is passed through unchanged and
// its server is not started. If a needed server cannot start, withservices
// prints why and exits 1 without running the command: tests never run
// without their servers. SIGINT and SIGTERM are forwarded to the command;
// once it exits the servers are stopped and their data removed, and
// withservices exits with the command's exit code.
//
// withservices is development tooling; it imports only devenv.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/flashstock/flashstock/internal/devenv"
)

const (
	// startTimeout bounds starting the servers, including a first-time
	// apt-get install of redis-server.
	startTimeout = 10 * time.Minute
	// stopTimeout bounds stopping the servers.
	stopTimeout = 40 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withservices -- command [args...]")
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	svc, err := startServices(sigs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "withservices: cannot start the test services, not running %q: %v\n", args[0], err)
		return 1
	}
	for _, s := range svc.Started {
		fmt.Fprintf(os.Stderr, "withservices: %s ready at %s (took %.1fs)\n", s.Name, s.URL, s.Took.Seconds())
	}
	code := runCommand(args, svc.Env(), sigs)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "withservices: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// startServices starts the missing servers, giving up when a signal
// arrives on sigs.
func startServices(sigs <-chan os.Signal) (*devenv.TestServices, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "withservices: %v while starting the test services\n", sig)
			cancel()
		case <-ctx.Done():
		}
	}()
	return devenv.StartTestServices(ctx, os.Getenv, os.Stderr)
}

// runCommand runs args with inherited stdio and the environment plus env,
// forwards signals from sigs to it and returns its exit code (128+n when
// signal n killed it).
func runCommand(args, env []string, sigs <-chan os.Signal) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "withservices: %v\n", err)
		return 1
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exitErr.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "withservices: %v\n", err)
		return 1
	}
	return 0
}
