package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestRequestID(t *testing.T) {
	if got := engine.RequestID(context.Background()); got != "" {
		t.Errorf("no id: %q", got)
	}
	type other struct{}
	base := context.WithValue(context.Background(), other{}, "kept")
	ctx, cancel := context.WithTimeout(engine.WithRequestID(base, "req-1"), time.Minute)
	defer cancel()
	if got := engine.RequestID(ctx); got != "req-1" {
		t.Errorf("through a timeout context: %q", got)
	}
	if got := ctx.Value(other{}); got != "kept" {
		t.Errorf("other values lost: %v", got)
	}
	inner := engine.WithRequestID(ctx, "req-2")
	if got := engine.RequestID(inner); got != "req-2" {
		t.Errorf("innermost id wins: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = engine.RequestID(ctx) }); n != 0 {
		t.Errorf("RequestID allocates %v times", n)
	}
}
