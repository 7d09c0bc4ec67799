package main

import (
	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/httpd"
	"github.com/flashstock/flashstock/internal/metrics"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/persist"
)

// The adapters serve the ports their consumers declare. Only cmd imports
// both sides, so the checks live here.
var (
	_ actors.SKUStore        = (*persist.Store)(nil)
	_ actors.OrderStore      = (*persist.Store)(nil)
	_ actors.HoldStore       = (*persist.Store)(nil)
	_ actors.PaymentStore    = (*persist.Store)(nil)
	_ actors.Outbox          = (*persist.Store)(nil)
	_ actors.TaskRuns        = (*persist.Store)(nil)
	_ actors.DeadLetterStore = (*persist.Store)(nil)
	_ actors.TaskStore       = (*persist.Store)(nil)
	_ actors.JobLocks        = (*persist.Redis)(nil)
	_ actors.MailSender      = (*smtpmail.Sender)(nil)
	_ actors.MailSender      = (*smtpmail.LogSender)(nil)
	_ actors.Observer        = (*metrics.Metrics)(nil)
	_ httpd.Observer         = (*metrics.Metrics)(nil)
	_ httpd.Payments         = (*actors.Payments)(nil)
	_ httpd.DeadLetters      = (*actors.DeadLetters)(nil)
	_ httpd.Orders           = (*actors.Orders)(nil)
	_ httpd.Actors           = (*core)(nil)
)
