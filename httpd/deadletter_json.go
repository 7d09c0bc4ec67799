package httpd

import (
	"encoding/json"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Wire forms of dead letters. Times are UTC RFC 3339.

// deadLetterJSON is a dead letter as an operator sees it. Payload is the
// stored JSON as is; retried_at is null until the dead letter is retried.
type deadLetterJSON struct {
	ID        engine.ID               `json:"id"`
	Source    engine.DeadLetterSource `json:"source"`
	Kind      string                  `json:"kind"`
	Ref       string                  `json:"ref"`
	Payload   json.RawMessage         `json:"payload"`
	Error     string                  `json:"error"`
	Attempts  int                     `json:"attempts"`
	Status    engine.DeadLetterStatus `json:"status"`
	CreatedAt time.Time               `json:"created_at"`
	RetriedAt *time.Time              `json:"retried_at"`
	RetriedBy string                  `json:"retried_by"`
}

func newDeadLetterJSON(d engine.DeadLetter) deadLetterJSON {
	j := deadLetterJSON{ID: d.ID, Source: d.Source, Kind: d.Kind, Ref: d.Ref, Payload: payloadJSON(d.Payload),
		Error: d.Error, Attempts: d.Attempts, Status: d.Status, CreatedAt: d.CreatedAt.UTC(), RetriedBy: d.RetriedBy}
	if !d.RetriedAt.IsZero() {
		t := d.RetriedAt.UTC()
		j.RetriedAt = &t
	}
	return j
}

// payloadJSON returns a stored payload for embedding: as is when it is JSON
// (the store keeps JSON), null when empty, and as a JSON string otherwise,
// so that one bad row cannot make a whole page fail to encode.
func payloadJSON(p []byte) json.RawMessage {
	switch {
	case len(p) == 0:
		return nil
	case json.Valid(p):
		return p
	}
	s, _ := json.Marshal(string(p)) // a string always encodes
	return s
}

// deadLetterPageJSON is one page of GET /admin/dead-letters; NextCursor is
// null on the last page.
type deadLetterPageJSON struct {
	Items      []deadLetterJSON `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// retrySummaryJSON is the answer of POST /admin/dead-letters/retry; the
// lists are never null.
type retrySummaryJSON struct {
	Retried []engine.ID        `json:"retried"`
	Failed  []retryFailureJSON `json:"failed"`
	More    bool               `json:"more"`
}

type retryFailureJSON struct {
	ID    engine.ID `json:"id"`
	Error string    `json:"error"`
}

func newRetrySummaryJSON(s engine.RetrySummary) retrySummaryJSON {
	j := retrySummaryJSON{Retried: make([]engine.ID, 0, len(s.Retried)),
		Failed: make([]retryFailureJSON, 0, len(s.Failed)), More: s.More}
	j.Retried = append(j.Retried, s.Retried...)
	for _, f := range s.Failed {
		j.Failed = append(j.Failed, retryFailureJSON{ID: f.ID, Error: f.Error})
	}
	return j
}
