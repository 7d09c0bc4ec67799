package persist_test

import (
	"context"
	"testing"
	"time"
)

// TestJobLock: a second holder is refused while the first holds the lock,
// gets it once it is released, and gets it after the ttl when the first
// never releases it (its node died).
func TestJobLock(t *testing.T) {
	t.Parallel()
	r1, _, _ := lockRedis(t)
	ctx := t.Context()
	unlock, ok, err := r1.TryLock(ctx, "daily_report:2026-11-25", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}
	if _, ok, err := r1.TryLock(ctx, "daily_report:2026-11-25", time.Minute); err != nil || ok {
		t.Fatalf("second TryLock while held = %v, %v; want refused", ok, err)
	}
	if _, ok, err := r1.TryLock(ctx, "daily_report:2026-11-26", time.Minute); err != nil || !ok {
		t.Fatalf("TryLock of another name = %v, %v", ok, err)
	}
	if err := unlock(context.WithoutCancel(ctx)); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if _, ok, err := r1.TryLock(ctx, "daily_report:2026-11-25", 200*time.Millisecond); err != nil || !ok {
		t.Fatalf("TryLock after unlock = %v, %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ok, err := r1.TryLock(ctx, "daily_report:2026-11-25", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lock never expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
