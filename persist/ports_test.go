package persist_test

import (
	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/persist"
)

// *persist.Store serves every database port the actors declare; persist
// cannot import actors, so the check lives in its external tests.
var (
	_ actors.SKUStore        = (*persist.Store)(nil)
	_ actors.OrderStore      = (*persist.Store)(nil)
	_ actors.HoldStore       = (*persist.Store)(nil)
	_ actors.PaymentStore    = (*persist.Store)(nil)
	_ actors.Outbox          = (*persist.Store)(nil)
	_ actors.TaskRuns        = (*persist.Store)(nil)
	_ actors.DeadLetterStore = (*persist.Store)(nil)
	_ actors.TaskStore       = (*persist.Store)(nil)
)
