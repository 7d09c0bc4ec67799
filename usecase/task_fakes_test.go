package usecase_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Fakes of the tasks' ports: XxxFunc fields, unset ones not scripted.

var (
	_ usecase.TaskStore         = (*fakeTaskStore)(nil)
	_ usecase.OrderTransitioner = (*fakeOrders)(nil)
)

// fakeTaskStore is a TaskStore whose methods call the XxxFunc fields; an
// unset one returns errNotScripted.
type fakeTaskStore struct {
	ExpiredOrdersFunc        func(ctx context.Context, now time.Time, max int) ([]engine.ID, error)
	RecordLowStockFunc       func(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error)
	SalesReportFunc          func(ctx context.Context, day time.Time) (engine.SalesReport, error)
	SaveSalesReportFunc      func(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error
	ArchiveWebhookEventsFunc func(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error)
	DeadLettersSinceFunc     func(ctx context.Context, since time.Time) (int, error)
	EnqueueMailsFunc         func(ctx context.Context, mails []engine.Mail, now time.Time) (int, error)
	GaugesFunc               func(ctx context.Context) (engine.Gauges, error)
	PruneHistoryFunc         func(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error)
}

func (s *fakeTaskStore) PruneHistory(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error) {
	if s.PruneHistoryFunc == nil {
		return engine.PruneCounts{}, errNotScripted
	}
	return s.PruneHistoryFunc(ctx, before, max)
}

func (s *fakeTaskStore) ExpiredOrders(ctx context.Context, now time.Time, max int) ([]engine.ID, error) {
	if s.ExpiredOrdersFunc == nil {
		return nil, errNotScripted
	}
	return s.ExpiredOrdersFunc(ctx, now, max)
}

func (s *fakeTaskStore) RecordLowStock(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error) {
	if s.RecordLowStockFunc == nil {
		return nil, 0, errNotScripted
	}
	return s.RecordLowStockFunc(ctx, now, adminEmail, max)
}

func (s *fakeTaskStore) SalesReport(ctx context.Context, day time.Time) (engine.SalesReport, error) {
	if s.SalesReportFunc == nil {
		return engine.SalesReport{}, errNotScripted
	}
	return s.SalesReportFunc(ctx, day)
}

func (s *fakeTaskStore) SaveSalesReport(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error {
	if s.SaveSalesReportFunc == nil {
		return errNotScripted
	}
	return s.SaveSalesReportFunc(ctx, r, m, now)
}

func (s *fakeTaskStore) ArchiveWebhookEvents(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error) {
	if s.ArchiveWebhookEventsFunc == nil {
		return 0, 0, errNotScripted
	}
	return s.ArchiveWebhookEventsFunc(ctx, archiveBefore, deleteBefore, max)
}

func (s *fakeTaskStore) DeadLettersSince(ctx context.Context, since time.Time) (int, error) {
	if s.DeadLettersSinceFunc == nil {
		return 0, errNotScripted
	}
	return s.DeadLettersSinceFunc(ctx, since)
}

func (s *fakeTaskStore) EnqueueMails(ctx context.Context, mails []engine.Mail, now time.Time) (int, error) {
	if s.EnqueueMailsFunc == nil {
		return 0, errNotScripted
	}
	return s.EnqueueMailsFunc(ctx, mails, now)
}

func (s *fakeTaskStore) Gauges(ctx context.Context) (engine.Gauges, error) {
	if s.GaugesFunc == nil {
		return engine.Gauges{}, errNotScripted
	}
	return s.GaugesFunc(ctx)
}

// fakeOrders is an OrderTransitioner calling TransitionOrderFunc (nil =
// success) and recording every command. Fields guarded by mu.
type fakeOrders struct {
	TransitionOrderFunc func(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)

	mu   sync.Mutex
	cmds []engine.TransitionOrder
}

func (o *fakeOrders) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	o.mu.Lock()
	o.cmds = append(o.cmds, cmd)
	o.mu.Unlock()
	if o.TransitionOrderFunc == nil {
		return engine.Order{ID: cmd.OrderID, Status: cmd.To}, nil
	}
	return o.TransitionOrderFunc(ctx, cmd)
}

func (o *fakeOrders) commands() []engine.TransitionOrder {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.cmds)
}
