package httpd

import (
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Dead-letter endpoints (DESIGN.md "Operations", "Async work"): admin only.
// An operator lists the work that could not be done, newest first, and
// retries one dead letter or a bounded batch of them. A retry is recorded
// under the admin's username, read afresh from Users: the token carries only
// the id, and an account deleted or demoted since its token was issued may
// not retry.

// deadLettersRetryMax bounds the dead letters one retry-all call retries;
// the answer's "more" says whether another call has work to do.
const deadLettersRetryMax = 100

func (s *Server) registerDeadLetters() {
	s.handle("GET", "/admin/dead-letters", s.listDeadLetters)
	s.handle("POST", "/admin/dead-letters/{id}/retry", s.retryDeadLetter)
	s.handle("POST", "/admin/dead-letters/retry", s.retryDeadLetters)
}

// errDeadLettersOff answers the dead-letter routes of a server built
// without Deps.DeadLetters (after authentication, so that only admins learn
// it).
var errDeadLettersOff = engine.WithDetail(engine.ErrNotFound, "dead letters are not enabled on this server")

// listDeadLetters serves one page of dead letters, newest first; ?status=
// filters.
func (s *Server) listDeadLetters(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	if s.deps.DeadLetters == nil {
		return errDeadLettersOff
	}
	pg, err := c.pageParams()
	if err != nil {
		return err
	}
	q := engine.DeadLetterQuery{Before: pg.after, Limit: pg.limit + 1}
	if args := c.ctx.QueryArgs(); args.Has("status") { // ?status= (empty) is refused, like ?limit=
		if q.Status, err = parseDeadLetterStatus(string(args.Peek("status"))); err != nil {
			return err
		}
	}
	dls, err := s.deps.DeadLetters.DeadLetters(c.context, q)
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	out := deadLetterPageJSON{Items: make([]deadLetterJSON, 0, min(len(dls), pg.limit))}
	if len(dls) > pg.limit {
		dls = dls[:pg.limit]
		next := encodeCursor(dls[len(dls)-1].ID)
		out.NextCursor = &next
	}
	for _, d := range dls {
		out.Items = append(out.Items, newDeadLetterJSON(d))
	}
	return c.respond(fasthttp.StatusOK, out)
}

// retryDeadLetter re-queues or re-runs one dead letter.
func (s *Server) retryDeadLetter(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	if s.deps.DeadLetters == nil {
		return errDeadLettersOff
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	by, err := s.retrier(c)
	if err != nil {
		return err
	}
	d, err := s.deps.DeadLetters.RetryDeadLetter(c.context, id, by)
	if err != nil {
		if errors.Is(err, engine.ErrConflict) {
			err = engine.WithDetail(err, "the dead letter was retried already or cannot be retried")
		}
		return fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	s.log.Info().Str("request_id", c.requestID).Str("dead_letter_id", id.String()).Str("by", by).
		Msg("dead letter retried")
	return c.respond(fasthttp.StatusOK, newDeadLetterJSON(d))
}

// retryDeadLetters retries up to deadLettersRetryMax dead letters.
func (s *Server) retryDeadLetters(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	if s.deps.DeadLetters == nil {
		return errDeadLettersOff
	}
	by, err := s.retrier(c)
	if err != nil {
		return err
	}
	sum, err := s.deps.DeadLetters.RetryDeadLetters(c.context, by, deadLettersRetryMax)
	if err != nil {
		return fmt.Errorf("retry dead letters: %w", err)
	}
	s.log.Info().Str("request_id", c.requestID).Int("retried", len(sum.Retried)).Int("failed", len(sum.Failed)).
		Bool("more", sum.More).Str("by", by).Msg("dead letters retried")
	return c.respond(fasthttp.StatusOK, newRetrySummaryJSON(sum))
}

// retrier returns the username a retry is recorded under: the caller's, as
// currently stored. A deleted account is unauthorized, a demoted one
// forbidden.
func (s *Server) retrier(c *call) (string, error) {
	u, err := s.currentUser(c, c.user.ID)
	if err != nil {
		return "", err
	}
	if !u.IsAdmin {
		return "", fmt.Errorf("%w: admin only", engine.ErrForbidden)
	}
	return u.Username, nil
}

// parseDeadLetterStatus parses the ?status= filter.
func parseDeadLetterStatus(s string) (engine.DeadLetterStatus, error) {
	switch st := engine.DeadLetterStatus(s); st {
	case engine.DeadLetterDead, engine.DeadLetterRetried:
		return st, nil
	}
	return "", engine.Invalid("status", `must be "dead" or "retried"`)
}
