package persist_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// testMail is a valid mail keyed key.
func testMail(key string) engine.Mail {
	return engine.Mail{Kind: engine.MailDailyReport, Key: key, To: []string{"admin@example.com"},
		Subject: "Report " + key, Text: "Nothing happened.\n"}
}

// dueIDs claims due mails and returns their ids and attempts.
func dueIDs(t *testing.T, s *persist.Store, at time.Time, max int) ([]engine.ID, []int) {
	t.Helper()
	mails, err := s.DueMails(t.Context(), at, time.Minute, max)
	if err != nil {
		t.Fatalf("DueMails: %v", err)
	}
	ids, attempts := []engine.ID{}, []int{}
	for _, m := range mails {
		ids, attempts = append(ids, m.ID), append(attempts, m.Attempts)
	}
	return ids, attempts
}

func TestOutboxLease(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	t0 := now()
	m1, m2 := testMail("r:1"), testMail("r:2")
	if n, err := s.EnqueueMails(ctx, []engine.Mail{m1}, t0); err != nil || n != 1 {
		t.Fatalf("EnqueueMails = %d, %v", n, err)
	}
	// A key queued already is skipped, within a call too.
	if n, err := s.EnqueueMails(ctx, []engine.Mail{m2, m1, m2}, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("EnqueueMails with known keys = %d, %v; want 1 added", n, err)
	}
	mails, err := s.DueMails(ctx, t0.Add(2*time.Second), time.Minute, 10)
	if err != nil || len(mails) != 2 || !reflect.DeepEqual(mails[0].Mail, m1) || !reflect.DeepEqual(mails[1].Mail, m2) ||
		mails[0].Attempts != 0 {
		t.Fatalf("DueMails = %+v, %v; want m1, m2", mails, err)
	}
	id1, id2 := mails[0].ID, mails[1].ID
	if ids, _ := dueIDs(t, s, t0.Add(30*time.Second), 10); len(ids) != 0 {
		t.Errorf("claim within the lease = %v, want none", ids)
	}
	afterLease := t0.Add(2*time.Second + time.Minute)
	if ids, _ := dueIDs(t, s, afterLease, 1); !reflect.DeepEqual(ids, []engine.ID{id1}) {
		t.Errorf("claim after the lease, max 1 = %v, want the oldest", ids)
	}
	if ids, _ := dueIDs(t, s, afterLease, 10); !reflect.DeepEqual(ids, []engine.ID{id2}) {
		t.Errorf("second claim after the lease = %v, want the other", ids)
	}

	if err := s.MailSent(ctx, id2, afterLease); err != nil {
		t.Fatalf("MailSent: %v", err)
	}
	if err := s.MailFailed(ctx, id1, "421 try later", t0.Add(10*time.Minute)); err != nil {
		t.Fatalf("MailFailed: %v", err)
	}
	if ids, _ := dueIDs(t, s, t0.Add(5*time.Minute), 10); len(ids) != 0 {
		t.Errorf("claim before the retry time = %v, want none (one sent, one not due)", ids)
	}
	if ids, attempts := dueIDs(t, s, t0.Add(10*time.Minute), 10); !reflect.DeepEqual(ids, []engine.ID{id1}) || attempts[0] != 1 {
		t.Errorf("claim at the retry time = %v, %v; want m1 after 1 attempt", ids, attempts)
	}
	if err := s.MailFailed(ctx, id2, "late", t0); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("MailFailed(sent) = %v, want ErrConflict", err)
	}
	for _, err := range []error{s.MailSent(ctx, newID(t), t0), s.MailFailed(ctx, newID(t), "x", t0)} {
		if !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("unknown mail = %v, want ErrNotFound", err)
		}
	}
	if _, err := s.DueMails(ctx, t0, time.Minute, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("DueMails max 0 = %v, want ErrInvalid", err)
	}
	if _, err := s.EnqueueMails(ctx, []engine.Mail{{Kind: "x", Key: "k"}}, t0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("EnqueueMails(invalid) = %v, want ErrInvalid", err)
	}
}

func TestMailDeadAndRetry(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	t0 := now()
	m := testMail("r:dead")
	if _, err := s.EnqueueMails(ctx, []engine.Mail{m}, t0); err != nil {
		t.Fatal(err)
	}
	ids, _ := dueIDs(t, s, t0, 1)
	if len(ids) != 1 {
		t.Fatalf("due = %v", ids)
	}
	id := ids[0]
	long := strings.Repeat("€", 1000) // 3000 bytes, cut on a rune boundary
	if err := s.MailFailed(ctx, id, long, t0); err != nil {
		t.Fatal(err)
	}
	var errBytes int
	if err := conn.QueryRow(ctx, "SELECT octet_length(last_error) FROM outbox WHERE id = $1", [16]byte(id)).Scan(&errBytes); err != nil || errBytes != 1998 {
		t.Errorf("stored error = %d bytes, %v; want 1998 (666 whole runes)", errBytes, err)
	}
	dlID, err := s.MailDead(ctx, id, "550 no such user", t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("MailDead: %v", err)
	}
	d, err := s.DeadLetter(ctx, dlID)
	if err != nil || d.Source != engine.DeadMail || d.Kind != string(m.Kind) || d.Ref != id.String() ||
		d.Attempts != 2 || d.Status != engine.DeadLetterDead || d.Error != "550 no such user" || !d.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("DeadLetter = %+v, %v", d, err)
	}
	var payload engine.Mail
	if err := json.Unmarshal(d.Payload, &payload); err != nil || !reflect.DeepEqual(payload, m) {
		t.Errorf("dead letter payload = %s, %v", d.Payload, err)
	}
	if got := outboxRows(t, conn); len(got) != 1 || got[0].Status != "dead" || got[0].Attempts != 2 {
		t.Errorf("outbox = %+v, want the mail dead after 2 attempts", got)
	}
	if _, err := s.MailDead(ctx, id, "again", t0); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("MailDead(dead) = %v, want ErrConflict", err)
	}
	if g, err := s.Gauges(ctx); err != nil || g.DeadLetters != 1 || g.OutboxPending != 0 {
		t.Errorf("Gauges = %+v, %v", g, err)
	}

	retried, err := s.RetryDeadLetter(ctx, dlID, "cli", t0.Add(2*time.Minute))
	if err != nil || retried.Status != engine.DeadLetterRetried || retried.RetriedBy != "cli" ||
		!retried.RetriedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("RetryDeadLetter = %+v, %v", retried, err)
	}
	if ids, attempts := dueIDs(t, s, t0.Add(2*time.Minute), 10); !reflect.DeepEqual(ids, []engine.ID{id}) || attempts[0] != 0 {
		t.Errorf("due after retry = %v, %v; want the mail with attempts reset", ids, attempts)
	}
	if _, err := s.RetryDeadLetter(ctx, dlID, "cli", t0.Add(3*time.Minute)); !errors.Is(err, engine.ErrConflict) ||
		!strings.Contains(err.Error(), `by "cli"`) {
		t.Errorf("second retry = %v, want ErrConflict saying who retried", err)
	}
	if got := outboxRows(t, conn); len(got) != 1 || got[0].Status != "pending" || got[0].Attempts != 0 {
		t.Errorf("outbox after retries = %+v, want the one mail pending once", got)
	}
	if g, err := s.Gauges(ctx); err != nil || g.DeadLetters != 0 || g.OutboxPending != 1 {
		t.Errorf("Gauges after retry = %+v, %v", g, err)
	}

	// A mail sent meanwhile is left alone by a retry of its dead letter.
	if err := s.MailSent(ctx, id, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	stale := engine.DeadLetter{Source: engine.DeadMail, Kind: string(m.Kind), Ref: id.String(), Payload: d.Payload,
		Error: "old", Attempts: 5, CreatedAt: t0.Add(4 * time.Minute)}
	if err := s.AddDeadLetter(ctx, stale); err != nil {
		t.Fatal(err)
	}
	list, _ := s.DeadLetters(ctx, engine.DeadLetterQuery{Status: engine.DeadLetterDead, Limit: 10})
	if len(list) != 1 {
		t.Fatalf("dead letters = %+v", list)
	}
	if _, err := s.RetryDeadLetter(ctx, list[0].ID, "admin", t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("retry of a sent mail's dead letter: %v", err)
	}
	if got := outboxRows(t, conn); got[0].Status != "sent" {
		t.Errorf("outbox = %+v, want the mail still sent", got)
	}
}

func TestRetryDeadLetterSources(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	t0 := now()
	add := func(source engine.DeadLetterSource, ref string) engine.ID {
		t.Helper()
		d := engine.DeadLetter{ID: newID(t), Source: source, Kind: "k", Ref: ref, Payload: []byte(`{"n":1}`),
			Error: "boom", Attempts: 3, CreatedAt: t0}
		if err := s.AddDeadLetter(ctx, d); err != nil {
			t.Fatalf("AddDeadLetter: %v", err)
		}
		return d.ID
	}
	task, actor := add(engine.DeadTask, "expire:2026-01-01T00:00:00Z"), add(engine.DeadActor, "sku/1")
	if d, err := s.RetryDeadLetter(ctx, task, "cli", t0); err != nil || d.Status != engine.DeadLetterRetried || d.Ref != "expire:2026-01-01T00:00:00Z" {
		t.Errorf("retry task = %+v, %v", d, err)
	}
	if _, err := s.RetryDeadLetter(ctx, actor, "cli", t0); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("retry actor = %v, want ErrConflict", err)
	}
	if d, _ := s.DeadLetter(ctx, actor); d.Status != engine.DeadLetterDead {
		t.Errorf("actor dead letter = %+v, want still dead", d)
	}
	if _, err := s.RetryDeadLetter(ctx, newID(t), "cli", t0); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("retry unknown = %v, want ErrNotFound", err)
	}
}
