package main

import (
	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/httpd"
	"github.com/flashstock/flashstock/internal/metrics"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/persist"
	"github.com/flashstock/flashstock/usecase"
)

// The adapters serve the ports their consumers declare. Only cmd imports
// both sides, so the checks live here.
var (
	_ actors.SKUStore           = (*persist.Store)(nil)
	_ actors.Outbox             = (*persist.Store)(nil)
	_ actors.TaskRuns           = (*persist.Store)(nil)
	_ actors.DeadLetterStore    = (*persist.Store)(nil)
	_ actors.JobLocks           = (*persist.Redis)(nil)
	_ actors.MailSender         = (*smtpmail.Sender)(nil)
	_ actors.MailSender         = (*smtpmail.LogSender)(nil)
	_ actors.Observer           = (*metrics.Metrics)(nil)
	_ usecase.Stock             = (*actors.Inventory)(nil)
	_ usecase.LiveProducts      = (*actors.Inventory)(nil)
	_ usecase.CatalogueStore    = (*persist.Store)(nil)
	_ usecase.OrderStore        = (*persist.Store)(nil)
	_ usecase.HoldStore         = (*persist.Store)(nil)
	_ usecase.PaymentStore      = (*persist.Store)(nil)
	_ usecase.TaskStore         = (*persist.Store)(nil)
	_ usecase.OrderTransitioner = storeTransitioner{}
	_ usecase.Observer          = (*metrics.Metrics)(nil)
	_ httpd.Observer            = (*metrics.Metrics)(nil)
	_ httpd.Products            = (*usecase.Catalogue)(nil)
	_ httpd.LiveStock           = (*usecase.Catalogue)(nil)
	_ httpd.Orders              = (*usecase.Orders)(nil)
	_ httpd.Payments            = (*usecase.Payments)(nil)
	_ httpd.DeadLetters         = (*actors.DeadLetters)(nil)
	_ httpd.Actors              = (*core)(nil)
)
