package smtpmail_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/internal/smtptest"
)

// quick bounds how long a failure that needs no waiting may take.
const quick = 2 * time.Second

func TestSendServerDownThenUp(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	srv.Stop()

	start := time.Now()
	err := s.Send(t.Context(), testMail("down:1"))
	if err == nil {
		t.Fatal("Send to a stopped server: nil error")
	}
	if d := time.Since(start); d > quick {
		t.Errorf("Send to a stopped server took %v, want under %v", d, quick)
	}
	if smtpmail.Permanent(err) || !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Send to a stopped server = %v, want a temporary engine.ErrUnavailable", err)
	}

	srv.Restart(t)
	if err := s.Send(t.Context(), testMail("down:1")); err != nil {
		t.Fatalf("Send after Restart: %v", err)
	}
	if msgs := srv.WaitMessages(t, 1, waitTimeout); len(msgs) != 1 {
		t.Errorf("server holds %d messages, want 1", len(msgs))
	}
}

func TestSendReplyCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      int
		permanent bool
	}{
		{421, false}, {451, false}, {452, false},
		{550, true}, {552, true}, {554, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			s := newSender(t, srv.URL())
			srv.FailNext(1, tt.code)
			err := s.Send(t.Context(), testMail("code"))
			if err == nil {
				t.Fatalf("Send with DATA failing %d: nil error", tt.code)
			}
			if got := smtpmail.Permanent(err); got != tt.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			if tt.permanent != errors.Is(err, smtpmail.ErrRejected) || tt.permanent == errors.Is(err, engine.ErrUnavailable) {
				t.Errorf("error %v: want ErrRejected iff permanent, ErrUnavailable iff not", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server recorded %d messages, want 0", n)
			}
			// The failure was for one DATA only: the retry goes through.
			if err := s.Send(t.Context(), testMail("code")); err != nil {
				t.Fatalf("retry: %v", err)
			}
			srv.WaitMessages(t, 1, waitTimeout)
		})
	}
}

func TestSendContextCancelled(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Send(ctx, testMail("ctx:1"))
	if !errors.Is(err, context.Canceled) || smtpmail.Permanent(err) {
		t.Errorf("Send with a cancelled context = %v, want a temporary context.Canceled", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server recorded %d messages, want 0", n)
	}
}

func TestSendContextCancelledWhileServerStalls(t *testing.T) {
	t.Parallel()
	addr, accepted := stallingServer(t)
	s := newSender(t, "smtp://"+addr, func(c *smtpmail.Config) { c.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, testMail("ctx:2")) }()
	select {
	case <-accepted: // Send is connected and waits for the greeting
	case <-time.After(waitTimeout):
		t.Fatal("Send never connected")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || smtpmail.Permanent(err) {
			t.Errorf("Send = %v, want a temporary context.Canceled", err)
		}
		if d := time.Since(start); d > quick {
			t.Errorf("Send returned %v after the cancel, want under %v", d, quick)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Send ignored the cancelled context while the server stalled")
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	addr, _ := stallingServer(t)
	s := newSender(t, "smtp://"+addr, func(c *smtpmail.Config) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	err := s.Send(t.Context(), testMail("timeout:1"))
	if d := time.Since(start); d > quick {
		t.Errorf("Send took %v with a 200ms timeout", d)
	}
	if err == nil || smtpmail.Permanent(err) || !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Send to a stalled server = %v, want a temporary engine.ErrUnavailable", err)
	}
}
