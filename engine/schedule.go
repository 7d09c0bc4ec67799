package engine

import (
	"fmt"
	"strings"
	"time"
)

// scheduleEveryMin is the shortest interval a schedule may have.
const scheduleEveryMin = time.Second

// Schedule says when a periodic task runs: every Every (on multiples of it
// since the Unix epoch, so every node agrees on the slots), or daily at
// At past midnight UTC, or never (Off).
type Schedule struct {
	Every time.Duration
	Daily bool
	At    time.Duration // daily: time of day, UTC
	Off   bool
}

// ParseSchedule reads "off", a Go duration of at least a second ("30s",
// "1h"), or "daily@HH:MM" (UTC).
func ParseSchedule(s string) (Schedule, error) {
	if s == "off" {
		return Schedule{Off: true}, nil
	}
	if at, ok := strings.CutPrefix(s, "daily@"); ok {
		t, err := time.Parse("15:04", at)
		if err != nil {
			return Schedule{}, fmt.Errorf("%w: schedule %q: daily@HH:MM wants a 24-hour UTC time", ErrInvalid, s)
		}
		return Schedule{Daily: true, At: time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < scheduleEveryMin {
		return Schedule{}, fmt.Errorf(`%w: schedule %q: want "off", an interval of at least 1s (e.g. 30s) or daily@HH:MM`, ErrInvalid, s)
	}
	return Schedule{Every: d}, nil
}

// String is the form ParseSchedule reads.
func (s Schedule) String() string {
	switch {
	case s.Off:
		return "off"
	case s.Daily:
		return fmt.Sprintf("daily@%02d:%02d", int(s.At/time.Hour), int(s.At%time.Hour/time.Minute))
	}
	return s.Every.String()
}

// Slot is the start of the slot now falls in: the latest scheduled time at
// or before now. A run is keyed by its slot, so that every node and every
// retry agree on which run it is.
func (s Schedule) Slot(now time.Time) time.Time {
	now = now.UTC()
	if s.Daily {
		y, m, d := now.Date()
		t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(s.At)
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t
	}
	if s.Every <= 0 {
		return now
	}
	// Truncate counts from year 1, not from the Unix epoch; shift by the
	// epoch's offset from the grid (less than Every).
	epoch := time.Unix(0, 0).UTC()
	off := epoch.Sub(epoch.Truncate(s.Every))
	return now.Add(-off).Truncate(s.Every).Add(off)
}

// Next is the first scheduled time after now; zero for Off.
func (s Schedule) Next(now time.Time) time.Time {
	switch {
	case s.Off:
		return time.Time{}
	case s.Daily:
		return s.Slot(now).AddDate(0, 0, 1)
	}
	return s.Slot(now).Add(s.Every)
}
