package persist_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestDeadLettersPages(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	t0 := now()
	var ids []engine.ID // oldest first
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Second)
		id, err := engine.NewID(at, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		source := engine.DeadTask
		if i == 2 {
			source = engine.DeadActor // not retryable
		}
		d := engine.DeadLetter{ID: id, Source: source, Kind: "report", Ref: "r", Error: "boom", Attempts: 1, CreatedAt: at}
		if err := s.AddDeadLetter(ctx, d); err != nil {
			t.Fatalf("AddDeadLetter: %v", err)
		}
		ids = append(ids, id)
	}
	if _, err := s.RetryDeadLetter(ctx, ids[3], "cli", t0); err != nil {
		t.Fatal(err)
	}
	page := func(q engine.DeadLetterQuery) []engine.ID {
		t.Helper()
		list, err := s.DeadLetters(ctx, q)
		if err != nil {
			t.Fatalf("DeadLetters(%+v): %v", q, err)
		}
		out := []engine.ID{}
		for _, d := range list {
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		q    engine.DeadLetterQuery
		want []engine.ID
	}{
		{engine.DeadLetterQuery{Limit: 2}, []engine.ID{ids[4], ids[3]}},
		{engine.DeadLetterQuery{Limit: 2, Before: ids[3]}, []engine.ID{ids[2], ids[1]}},
		{engine.DeadLetterQuery{Limit: 2, Before: ids[1]}, []engine.ID{ids[0]}},
		{engine.DeadLetterQuery{Limit: 10, Status: engine.DeadLetterDead}, []engine.ID{ids[4], ids[2], ids[1], ids[0]}},
		{engine.DeadLetterQuery{Limit: 2, Status: engine.DeadLetterDead, Before: ids[2]}, []engine.ID{ids[1], ids[0]}},
		{engine.DeadLetterQuery{Limit: 10, Status: engine.DeadLetterRetried}, []engine.ID{ids[3]}},
		{engine.DeadLetterQuery{Limit: 10, Status: engine.DeadLetterDead, RetryableOnly: true}, []engine.ID{ids[4], ids[1], ids[0]}},
		{engine.DeadLetterQuery{Limit: 1, Status: engine.DeadLetterDead, RetryableOnly: true, Before: ids[4]}, []engine.ID{ids[1]}},
	}
	// The gauge counts only dead letters an operator can retry.
	if g, err := s.Gauges(ctx); err != nil || g.DeadLetters != 3 {
		t.Errorf("Gauges().DeadLetters = %d, %v; want 3 (the actor one is not retryable)", g.DeadLetters, err)
	}
	for _, tt := range tests {
		if got := page(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DeadLetters(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	for _, q := range []engine.DeadLetterQuery{{Limit: 0}, {Limit: 1001}, {Limit: 1, Status: "gone"}} {
		if _, err := s.DeadLetters(ctx, q); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("DeadLetters(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	if n, err := s.DeadLettersSince(ctx, t0.Add(2*time.Second)); err != nil || n != 3 {
		t.Errorf("DeadLettersSince = %d, %v; want 3", n, err)
	}
	got, err := s.DeadLetter(ctx, ids[0])
	want := engine.DeadLetter{ID: ids[0], Source: engine.DeadTask, Kind: "report", Ref: "r", Payload: []byte("null"),
		Error: "boom", Attempts: 1, Status: engine.DeadLetterDead, CreatedAt: t0}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DeadLetter = %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := s.DeadLetter(ctx, newID(t)); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("DeadLetter(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.AddDeadLetter(ctx, want); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("AddDeadLetter(taken id) = %v, want ErrConflict", err)
	}
	for _, bad := range []engine.DeadLetter{
		{Source: "cosmic", CreatedAt: t0},
		{Source: engine.DeadTask},
		{Source: engine.DeadTask, CreatedAt: t0, Payload: []byte("{")},
	} {
		if err := s.AddDeadLetter(ctx, bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("AddDeadLetter(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
