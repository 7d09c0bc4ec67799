package testenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
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

// Main runs a package's tests with test servers and exits with their exit
// code. For each of FLASHSTOCK_TEST_DATABASE_URL and
// FLASHSTOCK_TEST_REDIS_URL that is unset it starts a throwaway server,
// sets the variable, and stops the server after the tests. If a server
// cannot start, no test runs and the exit code is 1. Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	svc, err := devenv.StartTestServices(ctx, os.Getenv, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: cannot start the test services, not running the tests: %v\n", err)
		return 1
	}
	for _, s := range svc.Started {
		os.Setenv(s.EnvName, s.URL)
		fmt.Fprintf(os.Stderr, "testenv: %s ready at %s (took %.1fs)\n", s.Name, s.URL, s.Took.Seconds())
	}
	stopWatching := stopOnSignal(svc)
	code := m.Run()
	stopWatching()
	closeShared()
	ctx, cancel = context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopOnSignal stops the servers and exits when the test binary gets
// SIGINT or SIGTERM, so that their temporary directories do not pile up.
// The returned function ends the watch.
func stopOnSignal(svc *devenv.TestServices) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "testenv: %v; stopping the test services\n", sig)
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			_ = svc.Stop(ctx)
			os.Exit(1)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
