package devenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// readyTimeout bounds how long a server may take to accept connections.
	readyTimeout = 60 * time.Second
	// readyPollInterval is the pause between two readiness probes.
	readyPollInterval = 50 * time.Millisecond
	// probeTimeout bounds one readiness probe.
	probeTimeout = 2 * time.Second
	// portAttemptsMax bounds the attempts to start a server on a port picked
	// by freePort, which another process may take first.
	portAttemptsMax = 3
)

// errPortTaken marks a server that exited early because its port was taken.
var errPortTaken = errors.New("port already in use")

// waitReady calls probe until it succeeds, the server exits, readyTimeout
// passes or ctx is done. An early exit is reported with the tail of the
// server's output and wraps errPortTaken when the port was taken.
func waitReady(ctx context.Context, p *process, log *logSink, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		probeCtx, cancelProbe := context.WithTimeout(ctx, probeTimeout)
		err := probe(probeCtx)
		cancelProbe()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			tail := log.Tail()
			if strings.Contains(strings.ToLower(tail), "address already in use") { // PostgreSQL and Redis capitalize it, Go does not
				return fmt.Errorf("devenv: %s exited: %w (%v); last output:\n%s", p.name, errPortTaken, p.err, tail)
			}
			return fmt.Errorf("devenv: %s exited before accepting connections (%v); last output:\n%s", p.name, p.err, tail)
		case <-ctx.Done():
			return fmt.Errorf("devenv: %s not accepting connections (%w; last probe: %v); last output:\n%s", p.name, ctx.Err(), err, log.Tail())
		case <-tick.C:
		}
	}
}
