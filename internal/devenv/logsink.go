package devenv

import (
	"io"
	"sync"
)

// logTailBytesMax bounds how much recent server output is kept for error
// messages.
const logTailBytesMax = 4096

// logSink forwards server output and progress lines to an optional writer
// and keeps the most recent output for error messages. It is safe for
// concurrent use; writes to the wrapped writer are serialized.
type logSink struct {
	mu   sync.Mutex // guards w and tail
	w    io.Writer  // nil = discard
	tail []byte     // last logTailBytesMax bytes written
}

func newLogSink(w io.Writer) *logSink {
	return &logSink{w: w}
}

// Write never fails: an error from the wrapped writer is dropped, because
// failing here would break the server's output pipe and kill the server.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		_, _ = s.w.Write(p)
	}
	s.tail = append(s.tail, p...)
	if over := len(s.tail) - logTailBytesMax; over > 0 {
		s.tail = append(s.tail[:0], s.tail[over:]...)
	}
	return len(p), nil
}

// Tail returns the most recent output, at most logTailBytesMax bytes.
func (s *logSink) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.tail)
}

// ResetTail forgets the kept output, so that Tail shows only what a new
// attempt wrote.
func (s *logSink) ResetTail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail = s.tail[:0]
}
