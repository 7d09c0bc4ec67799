package actors_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// An in-memory DeadLetterStore (see async_fakes_test.go).

// ---- DeadLetterStore ----

// retryCall is one RetryDeadLetter call that succeeded.
type retryCall struct {
	id engine.ID
	by string
}

// memDeadLetters is an in-memory DeadLetterStore: pages newest (highest
// id) first; a retry moves dead → retried once, and refuses actor
// messages. Fields guarded by mu.
type memDeadLetters struct {
	mu      sync.Mutex
	letters map[engine.ID]engine.DeadLetter
	retries []retryCall
	queries []engine.DeadLetterQuery
}

func newMemDeadLetters() *memDeadLetters {
	return &memDeadLetters{letters: map[engine.ID]engine.DeadLetter{}}
}

func (s *memDeadLetters) AddDeadLetter(_ context.Context, d engine.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.letters[d.ID]; dup {
		return fmt.Errorf("%w: dead letter %s exists", engine.ErrConflict, d.ID)
	}
	s.letters[d.ID] = d
	return nil
}

func (s *memDeadLetters) DeadLetter(_ context.Context, id engine.ID) (engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.letters[id]
	if !ok {
		return engine.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, engine.ErrNotFound)
	}
	return d, nil
}

func (s *memDeadLetters) DeadLetters(_ context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	return s.page(q), nil
}

// page selects q's page; s.mu is held.
func (s *memDeadLetters) page(q engine.DeadLetterQuery) []engine.DeadLetter {
	var out []engine.DeadLetter
	for _, d := range s.letters {
		if (q.Status == "" || d.Status == q.Status) && (!q.RetryableOnly || d.Retryable()) &&
			(q.Before.IsZero() || slices.Compare(d.ID[:], q.Before[:]) < 0) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b engine.DeadLetter) int { return slices.Compare(b.ID[:], a.ID[:]) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func (s *memDeadLetters) RetryDeadLetter(_ context.Context, id engine.ID, by string, now time.Time) (engine.DeadLetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.letters[id]
	switch {
	case !ok:
		return engine.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, engine.ErrNotFound)
	case d.Status != engine.DeadLetterDead:
		return engine.DeadLetter{}, fmt.Errorf("%w: dead letter %s is %s", engine.ErrConflict, id, d.Status)
	case !d.Retryable():
		return engine.DeadLetter{}, fmt.Errorf("%w: dead letter %s cannot be retried", engine.ErrConflict, id)
	}
	d.Status, d.RetriedAt, d.RetriedBy = engine.DeadLetterRetried, now, by
	s.letters[id] = d
	s.retries = append(s.retries, retryCall{id: id, by: by})
	return d, nil
}

// all returns every dead letter, newest first (not recorded as a query).
func (s *memDeadLetters) all() []engine.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page(engine.DeadLetterQuery{})
}

// retried returns the successful RetryDeadLetter calls.
func (s *memDeadLetters) retried() []retryCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.retries)
}
