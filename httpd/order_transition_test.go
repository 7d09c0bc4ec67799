package httpd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Cancelling and moving orders along the state machine.

func TestOrderCancel(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	id := orderID(4)
	for _, tc := range []struct {
		name, path string
		auth       []string
		by         engine.Trigger
		user       engine.ID
	}{
		{"buyer", "/orders/" + id.String() + "/cancel", f.buyerAuth, engine.TriggerBuyer, f.buyer.ID},
		{"buyer, trailing slash", "/orders/" + id.String() + "/cancel/", f.buyerAuth, engine.TriggerBuyer, f.buyer.ID},
		{"admin", "/orders/" + id.String() + "/cancel", f.adminAuth, engine.TriggerAdmin, f.admin.ID},
	} {
		n := len(f.transitions.all())
		before := time.Now().UTC()
		status, _, body := f.do("POST", tc.path, nil, tc.auth...)
		cmds := f.transitions.all()
		if len(cmds) != n+1 {
			t.Fatalf("%s: TransitionOrder called %d times, want once; %d %s", tc.name, len(cmds)-n, status, body)
		}
		cmd := cmds[n]
		if cmd.OrderID != id || cmd.To != engine.StatusCancelled || cmd.By != tc.by || cmd.UserID != tc.user ||
			cmd.Reason == "" || cmd.Now.Before(before.Truncate(time.Microsecond)) || cmd.Now.Location() != time.UTC {
			t.Errorf("%s: TransitionOrder got %+v; want order %s to cancelled by %s for %s, with a reason, now",
				tc.name, cmd, id, tc.by, tc.user)
		}
		want := storedOrder(id, f.buyer.ID, engine.StatusCancelled)
		want.CancelReason = cmd.Reason
		wantOrder(t, status, body, fasthttp.StatusOK, want)
	}

	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: order ORD-0123456789AB cannot go from shipped to cancelled by buyer", engine.ErrConflict), fasthttp.StatusConflict, "conflict"},
		{fmt.Errorf("order %s: %w", id, engine.ErrNotFound), fasthttp.StatusNotFound, "not_found"},
		{fmt.Errorf("sku inbox full: %w", engine.ErrOverloaded), fasthttp.StatusServiceUnavailable, "overloaded"},
	} {
		f.orders.TransitionOrderFunc = func(context.Context, engine.TransitionOrder) (engine.Order, error) {
			return engine.Order{}, tc.err
		}
		status, hdr, body := f.do("POST", "/orders/"+id.String()+"/cancel", nil, f.buyerAuth...)
		wantProblem(t, status, hdr, body, tc.status, tc.code)
	}
	status, hdr, body := f.do("POST", "/orders/nope/cancel", nil, f.buyerAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	status, hdr, body = f.do("GET", "/orders/"+id.String()+"/cancel", nil, f.buyerAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusMethodNotAllowed, "method_not_allowed")
}

func TestOrderPatch(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	id := orderID(5)
	for _, auth := range [][]string{f.buyerAuth, f.otherAuth} {
		for _, body := range []string{`{"status":"processing"}`, `{"status":"bogus"}`, "{"} {
			status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), body, auth...)
			wantProblem(t, status, hdr, resp, fasthttp.StatusForbidden, "forbidden")
		}
	}
	if n := len(f.transitions.all()); n != 0 {
		t.Fatalf("TransitionOrder called %d times for non-admins, want 0", n)
	}

	for i, path := range []string{"/orders/" + id.String(), "/orders/" + id.String() + "/"} {
		status, _, body := f.do("PATCH", path, `{"status":"processing"}`, f.adminAuth...)
		cmds := f.transitions.all()
		if len(cmds) != i+1 {
			t.Fatalf("PATCH %s: TransitionOrder called %d times in all, want %d; %d %s", path, len(cmds), i+1, status, body)
		}
		if cmd := cmds[i]; cmd.OrderID != id || cmd.To != engine.StatusProcessing || cmd.By != engine.TriggerAdmin ||
			cmd.UserID != f.admin.ID || cmd.Now.IsZero() {
			t.Errorf("PATCH %s: TransitionOrder got %+v; want order %s to processing by admin %s", path, cmd, id, f.admin.ID)
		}
		wantOrder(t, status, body, fasthttp.StatusOK, storedOrder(id, f.buyer.ID, engine.StatusProcessing))
	}

	n := len(f.transitions.all())
	for _, tc := range []struct{ body, field string }{
		{`{"status":"bogus"}`, "status"}, {`{"status":""}`, "status"}, {`{}`, "status"},
		{`{"status":null}`, "status"}, {`{"status":3}`, "status"},
		{`{"status":"shipped","payment_status":"paid"}`, "payment_status"},
	} {
		status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), tc.body, f.adminAuth...)
		p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "validation_failed")
		wantFieldErrors(t, p, tc.field)
	}
	if got := len(f.transitions.all()); got != n {
		t.Errorf("TransitionOrder called %d times for bad bodies, want 0", got-n)
	}

	f.orders.TransitionOrderFunc = func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
		return engine.Order{}, fmt.Errorf("%w: order ORD-0123456789AB cannot go from pending to %s by admin", engine.ErrConflict, cmd.To)
	}
	status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), `{"status":"shipped"}`, f.adminAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusConflict, "conflict")
	status, hdr, resp = f.do("PATCH", "/orders/nope", `{"status":"shipped"}`, f.adminAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusNotFound, "not_found")
}
