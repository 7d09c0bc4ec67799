package engine_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// validSchedules are schedules ParseSchedule accepts, with what they mean.
var validSchedules = []struct {
	in   string
	want engine.Schedule
}{
	{"off", engine.Schedule{Off: true}},
	{"1s", engine.Schedule{Every: time.Second}},
	{"30s", engine.Schedule{Every: 30 * time.Second}},
	{"1.5s", engine.Schedule{Every: 1500 * time.Millisecond}},
	{"7m", engine.Schedule{Every: 7 * time.Minute}},
	{"1h30m", engine.Schedule{Every: 90 * time.Minute}},
	{"24h", engine.Schedule{Every: 24 * time.Hour}},
	{"daily@00:00", engine.Schedule{Daily: true}},
	{"daily@00:05", engine.Schedule{Daily: true, At: 5 * time.Minute}},
	{"daily@12:30", engine.Schedule{Daily: true, At: 12*time.Hour + 30*time.Minute}},
	{"daily@23:59", engine.Schedule{Daily: true, At: 23*time.Hour + 59*time.Minute}},
}

// invalidSchedules are schedules ParseSchedule refuses.
var invalidSchedules = []string{"", "500ms", "999ms", "0s", "0", "-1m", "daily@24:00", "daily@5", "daily@05:60",
	"daily@", "daily@05:05:00", "daily@05:05Z", "daily", "weekly", "OFF", "Off", " 30s", "30s ", "30", "1d"}

func TestParseSchedule(t *testing.T) {
	for _, tt := range validSchedules {
		got, err := engine.ParseSchedule(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSchedule(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range invalidSchedules {
		got, err := engine.ParseSchedule(in)
		if !errors.Is(err, engine.ErrInvalid) || got != (engine.Schedule{}) {
			t.Errorf("ParseSchedule(%q) = %+v, %v; want ErrInvalid", in, got, err)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseSchedule(%q): error %q does not quote the input", in, err)
		}
	}
}

func TestScheduleString(t *testing.T) {
	canonical := map[string]string{"off": "off", "daily@00:00": "daily@00:00", "daily@00:05": "daily@00:05",
		"daily@23:59": "daily@23:59", "1s": "1s", "30s": "30s", "1h30m": "1h30m0s"}
	for _, tt := range validSchedules {
		s := tt.want.String()
		if want, ok := canonical[tt.in]; ok && s != want {
			t.Errorf("%+v.String() = %q, want %q", tt.want, s, want)
		}
		if back, err := engine.ParseSchedule(s); err != nil || back != tt.want {
			t.Errorf("ParseSchedule(%q) = %+v, %v; want %+v", s, back, err, tt.want)
		}
	}
}

func TestScheduleSlot(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	every := func(d time.Duration) engine.Schedule { return engine.Schedule{Every: d} }
	daily := func(hh, mm int) engine.Schedule {
		return engine.Schedule{Daily: true, At: time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute}
	}
	tests := []struct {
		name     string
		s        engine.Schedule
		now      string
		want     string
		wantNext string
	}{
		{"30s inside", every(30 * time.Second), "2026-11-25T00:05:17.3Z", "2026-11-25T00:05:00Z", "2026-11-25T00:05:30Z"},
		{"30s on the slot", every(30 * time.Second), "2026-11-25T00:05:30Z", "2026-11-25T00:05:30Z", "2026-11-25T00:06:00Z"},
		{"30s last nanosecond", every(30 * time.Second), "2026-11-25T00:05:29.999999999Z", "2026-11-25T00:05:00Z", "2026-11-25T00:05:30Z"},
		{"1s", every(time.Second), "2026-11-25T00:05:17.5Z", "2026-11-25T00:05:17Z", "2026-11-25T00:05:18Z"},
		{"1.5s", every(1500 * time.Millisecond), "1970-01-01T00:00:04Z", "1970-01-01T00:00:03Z", "1970-01-01T00:00:04.5Z"},
		{"1h30m", every(90 * time.Minute), "2026-11-25T02:10:00Z", "2026-11-25T01:30:00Z", "2026-11-25T03:00:00Z"},
		{"1h30m non-UTC now", every(90 * time.Minute), "2026-11-25T04:10:00+02:00", "2026-11-25T01:30:00Z", "2026-11-25T03:00:00Z"},
		// 7 minutes does not divide the time from year 1 to 1970: slots
		// count from the Unix epoch (1795565100 = 2026-11-25T00:05Z is a
		// multiple of 420 seconds).
		{"7m from the Unix epoch", every(7 * time.Minute), "2026-11-25T00:18:17Z", "2026-11-25T00:12:00Z", "2026-11-25T00:19:00Z"},
		{"7m on the slot", every(7 * time.Minute), "2026-11-25T00:05:00Z", "2026-11-25T00:05:00Z", "2026-11-25T00:12:00Z"},
		{"7s at the epoch", every(7 * time.Second), "1970-01-01T00:00:13Z", "1970-01-01T00:00:07Z", "1970-01-01T00:00:14Z"},
		{"daily after the time", daily(0, 5), "2026-11-25T13:00:00Z", "2026-11-25T00:05:00Z", "2026-11-26T00:05:00Z"},
		{"daily at the time", daily(0, 5), "2026-11-25T00:05:00Z", "2026-11-25T00:05:00Z", "2026-11-26T00:05:00Z"},
		{"daily just before the time", daily(0, 5), "2026-11-25T00:04:59.999999999Z", "2026-11-24T00:05:00Z", "2026-11-25T00:05:00Z"},
		{"daily before, month boundary", daily(23, 59), "2026-03-01T10:00:00Z", "2026-02-28T23:59:00Z", "2026-03-01T23:59:00Z"},
		{"daily before, year boundary", daily(23, 59), "2027-01-01T00:00:00Z", "2026-12-31T23:59:00Z", "2027-01-01T23:59:00Z"},
		{"daily midnight", daily(0, 0), "2024-02-29T23:59:59Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"daily, local date ahead", daily(0, 5), "2026-11-25T01:00:00+02:00", "2026-11-24T00:05:00Z", "2026-11-25T00:05:00Z"},
		{"daily, local date behind", daily(0, 5), "2026-11-24T20:00:00-05:00", "2026-11-25T00:05:00Z", "2026-11-26T00:05:00Z"},
	}
	for _, tt := range tests {
		now := at(tt.now)
		got, next := tt.s.Slot(now), tt.s.Next(now)
		if want := at(tt.want); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: Slot(%s) = %v, want %s", tt.name, tt.now, got, tt.want)
		}
		if want := at(tt.wantNext); !next.Equal(want) {
			t.Errorf("%s: Next(%s) = %v, want %s", tt.name, tt.now, next, tt.wantNext)
		}
		checkSlotNext(t, tt.s, now)
	}
}

// checkSlotNext checks the laws of Slot and Next at now: Slot(now) <= now <
// Next(now), both are scheduled times (on the epoch grid, or at the time of
// day), Next is the following one, and no scheduled time lies between them.
func checkSlotNext(t *testing.T, s engine.Schedule, now time.Time) {
	t.Helper()
	slot, next := s.Slot(now), s.Next(now)
	if s.Off {
		if !next.IsZero() {
			t.Errorf("%v: Next(%v) = %v, want zero", s, now, next)
		}
		return
	}
	if slot.After(now) || !next.After(now) {
		t.Errorf("%v: Slot(%v) = %v, Next = %v; want Slot <= now < Next", s, now, slot, next)
	}
	if again := s.Slot(next); !again.Equal(next) {
		t.Errorf("%v: Slot(Next(%v)) = %v, want %v", s, now, again, next)
	}
	if before := s.Slot(next.Add(-time.Nanosecond)); !before.Equal(slot) {
		t.Errorf("%v: Slot just before Next(%v) = %v, want %v", s, now, before, slot)
	}
	period := s.Every
	if s.Daily {
		period = 24 * time.Hour
		if h, m, sec := slot.Clock(); time.Duration(h)*time.Hour+time.Duration(m)*time.Minute+time.Duration(sec)*time.Second != s.At || slot.Nanosecond() != 0 {
			t.Errorf("%v: Slot(%v) = %v, not at the time of day", s, now, slot)
		}
	} else if !onEpochGrid(slot, s.Every) {
		t.Errorf("%v: Slot(%v) = %v, not a multiple of %v since the Unix epoch", s, now, slot, s.Every)
	}
	if next.Sub(slot) != period {
		t.Errorf("%v: Next(%v) - Slot = %v, want %v", s, now, next.Sub(slot), period)
	}
}

// onEpochGrid reports whether t is a whole number of d after the Unix epoch,
// for any t (no int64 nanosecond overflow).
func onEpochGrid(t time.Time, d time.Duration) bool {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(int64(time.Second)))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	return new(big.Int).Mod(ns, big.NewInt(int64(d))).Sign() == 0
}

// fuzzNows are the fixed times FuzzParseSchedule checks each schedule at.
var fuzzNows = []time.Time{
	time.Unix(0, 0),
	time.Unix(-1, 500_000_000),
	time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC),
	time.Date(2026, 11, 25, 0, 4, 59, 999_999_999, time.UTC),
	time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	time.Date(2024, 2, 29, 12, 0, 0, 123, time.FixedZone("+05:45", 5*3600+45*60)),
	time.Date(2100, 3, 1, 0, 0, 0, 0, time.FixedZone("-11", -11*3600)),
}

func FuzzParseSchedule(f *testing.F) {
	for _, tt := range validSchedules {
		f.Add(tt.in)
	}
	for _, in := range invalidSchedules {
		f.Add(in)
	}
	for _, in := range []string{"2562047h", "1h0m0.000000001s", "daily@5:05", "+1s", "1e3s", "daily@-1:00"} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := engine.ParseSchedule(in)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || s != (engine.Schedule{}) {
				t.Fatalf("ParseSchedule(%q) = %+v, %v; want ErrInvalid", in, s, err)
			}
			return
		}
		if kinds := btoi(s.Off) + btoi(s.Daily) + btoi(s.Every > 0); kinds != 1 {
			t.Fatalf("ParseSchedule(%q) = %+v: not exactly one of off, daily, every", in, s)
		}
		if !s.Daily && !s.Off && s.Every < time.Second {
			t.Fatalf("ParseSchedule(%q) = %+v: interval under a second", in, s)
		}
		if s.Daily && (s.At < 0 || s.At >= 24*time.Hour || s.At%time.Minute != 0) {
			t.Fatalf("ParseSchedule(%q) = %+v: not a minute of the day", in, s)
		}
		if back, err := engine.ParseSchedule(s.String()); err != nil || back != s {
			t.Fatalf("ParseSchedule(%q) = %+v; its String %q parses to %+v, %v", in, s, s.String(), back, err)
		}
		for _, now := range fuzzNows {
			checkSlotNext(t, s, now)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRunKey(t *testing.T) {
	slot := time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC)
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		slot time.Time
		want string
	}{
		{"whole second", slot, "task:2026-11-25T00:05:00Z"},
		{"non-UTC", slot.In(tokyo), "task:2026-11-25T00:05:00Z"},
		{"non-UTC wall clock", time.Date(2026, 11, 25, 9, 5, 0, 0, tokyo), "task:2026-11-25T00:05:00Z"},
		{"half second", slot.Add(500 * time.Millisecond), "task:2026-11-25T00:05:00.5Z"},
		{"100 ms", slot.Add(100 * time.Millisecond), "task:2026-11-25T00:05:00.1Z"},
		{"one nanosecond", slot.Add(time.Nanosecond), "task:2026-11-25T00:05:00.000000001Z"},
		{"non-UTC fraction", slot.Add(250 * time.Millisecond).In(tokyo), "task:2026-11-25T00:05:00.25Z"},
	}
	for _, tt := range tests {
		if got := engine.RunKey("task", tt.slot); got != tt.want {
			t.Errorf("%s: RunKey(%v) = %q, want %q", tt.name, tt.slot, got, tt.want)
		}
	}
}

// TestRunKeyPerSlot: consecutive slots of every valid schedule have distinct
// keys, also below a second.
func TestRunKeyPerSlot(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC)
	schedules := []engine.Schedule{{Every: 100 * time.Millisecond}, {Every: 1500 * time.Millisecond}, {Every: time.Nanosecond}}
	for _, tt := range validSchedules {
		if !tt.want.Off {
			schedules = append(schedules, tt.want)
		}
	}
	for _, s := range schedules {
		seen := map[string]bool{}
		slot := s.Slot(now)
		for range 20 {
			k := engine.RunKey("t", slot)
			if seen[k] {
				t.Errorf("%v: slot %v repeats key %q", s, slot, k)
			}
			seen[k] = true
			slot = s.Next(slot)
		}
	}
}
