package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/flashstock/flashstock/actors"
)

// In-memory fakes of the ports of the mailer, the scheduler and the dead
// letters. Each keeps the contract of its interface's doc comment
// (leases, claim matrix, statuses) so that the actors are tested against
// the same semantics persist implements; persist's own tests check those
// against PostgreSQL.

var (
	_ actors.Outbox          = (*memOutbox)(nil)
	_ actors.MailSender      = (*scriptSender)(nil)
	_ actors.TaskRuns        = (*memRuns)(nil)
	_ actors.DeadLetterStore = (*memDeadLetters)(nil)
	_ actors.JobLocks        = (*fakeLocks)(nil)
)

// newSystem returns a hollywood engine of the test's own (actor ids such
// as "mailer" are unique per engine).
func newSystem(t *testing.T) *actor.Engine {
	t.Helper()
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	return system
}

// testCtx is the deadline of one call or Stop in a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
