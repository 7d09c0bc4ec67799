package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

func TestWithDetail(t *testing.T) {
	inner := engine.WithDetail(engine.ErrConflict, "username is already taken")
	chain := fmt.Errorf("create user: user alice: %w", inner)
	if !errors.Is(chain, engine.ErrConflict) || errors.Is(chain, engine.ErrNotFound) {
		t.Fatalf("errors.Is does not see the sentinel through the detail: %v", chain)
	}
	if got := chain.Error(); got != "create user: user alice: conflict: username is already taken" {
		t.Errorf("Error() = %q", got)
	}
	if d, ok := engine.ClientDetail(chain); !ok || d != "username is already taken" {
		t.Errorf("ClientDetail = %q, %v", d, ok)
	}
	if d, ok := engine.ClientDetail(fmt.Errorf("x: %w", engine.ErrConflict)); ok {
		t.Errorf("ClientDetail of a bare sentinel = %q, want none", d)
	}

	// The outermost sentence wins; repeating the inner one adds nothing.
	outer := engine.WithDetail(fmt.Errorf("retry: %w", inner), "the dead letter cannot be retried")
	if d, _ := engine.ClientDetail(outer); d != "the dead letter cannot be retried" {
		t.Errorf("outermost detail = %q", d)
	}
	same := engine.WithDetail(chain, "username is already taken")
	if got := same.Error(); got != chain.Error() {
		t.Errorf("a repeated detail is repeated in Error(): %q", got)
	}

	// Field and stock errors keep their types through a detail.
	var ve *engine.ValidationError
	if !errors.As(engine.WithDetail(engine.Invalid("name", "bad"), "x"), &ve) || ve.Fields[0].Field != "name" {
		t.Errorf("errors.As(ValidationError) through a detail failed")
	}
}

// A refused state transition says, for the client, what the order's state
// is and where it cannot go, without its id; the chain keeps the reference.
func TestTransitionConflictDetail(t *testing.T) {
	o := engine.Order{ID: productID, Reference: "ORD-0123456789AB", Status: engine.StatusShipped}
	_, err := o.Transition(engine.StatusCancelled, engine.TriggerBuyer, "", created)
	if !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("Transition = %v, want ErrConflict", err)
	}
	if d, _ := engine.ClientDetail(err); d != "the order is shipped and cannot move to cancelled" {
		t.Errorf("detail = %q", d)
	}
	if want := "ORD-0123456789AB"; !strings.Contains(err.Error(), want) {
		t.Errorf("chain %q lacks %s", err, want)
	}
}
