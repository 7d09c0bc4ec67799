package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestParseRate(t *testing.T) {
	valid := []struct {
		in   string
		want engine.Rate
	}{
		{"off", engine.Rate{}},
		{"1/s", engine.Rate{Count: 1, Period: time.Second}},
		{"5/m", engine.Rate{Count: 5, Period: time.Minute}},
		{"10/m", engine.Rate{Count: 10, Period: time.Minute}},
		{"3600/h", engine.Rate{Count: 3600, Period: time.Hour}},
		{"1000000/s", engine.Rate{Count: engine.RateCountMax, Period: time.Second}},
	}
	for _, tt := range valid {
		got, err := engine.ParseRate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.in {
			t.Errorf("ParseRate(%q).String() = %q", tt.in, got.String())
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ParseRate(%q).Validate() = %v", tt.in, err)
		}
	}
	for _, in := range []string{"", "Off", "OFF", " off", "0/m", "-1/m", "+5/m", "05/m", "1000001/s",
		"10000000/s", "99999999999999999999/s", "5/d", "5/M", "5/min", "5m", "5/", "/m", "5/m/s", " 5/m", "5/m ",
		"5 /m", "1e3/s", "0x10/s", "5/ms", "５/m"} {
		got, err := engine.ParseRate(in)
		if !errors.Is(err, engine.ErrInvalid) || got != (engine.Rate{}) {
			t.Errorf("ParseRate(%q) = %+v, %v; want ErrInvalid", in, got, err)
			continue
		}
		if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "rate" {
			t.Errorf("ParseRate(%q) fields = %v", in, fs)
		}
	}
}

func TestRateValidate(t *testing.T) {
	for _, r := range []engine.Rate{
		{Count: 0, Period: time.Minute}, {Count: -1, Period: time.Minute}, {Count: 5},
		{Count: 5, Period: 2 * time.Second}, {Count: engine.RateCountMax + 1, Period: time.Hour},
	} {
		if err := r.Validate(); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%+v.Validate() = %v, want ErrInvalid", r, err)
		}
		if _, err := engine.ParseRate(r.String()); err == nil {
			t.Errorf("ParseRate(%q) of an invalid rate succeeded", r.String())
		}
	}
}

// TestRateStep walks one key of a 3/m rate (emission interval 20 s)
// through a burst, a denial, partial and full replenishment.
func TestRateStep(t *testing.T) {
	r := engine.Rate{Count: 3, Period: time.Minute}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := time.Second
	steps := []struct {
		name    string
		now     time.Duration // since t0
		want    engine.RateDecision
		wantTAT time.Duration // since t0
	}{
		{"fresh key", 0, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 2, ResetAfter: 20 * s}, 20 * s},
		{"burst 2", 0, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 1, ResetAfter: 40 * s}, 40 * s},
		{"burst 3", 0, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 0, ResetAfter: 60 * s}, 60 * s},
		{"over the burst", 0, engine.RateDecision{Limit: 3, RetryAfter: 20 * s, ResetAfter: 60 * s}, 60 * s},
		{"just before conforming", 20*s - 1, engine.RateDecision{Limit: 3, RetryAfter: 1, ResetAfter: 40*s + 1}, 60 * s},
		{"one interval later", 20 * s, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 0, ResetAfter: 60 * s}, 80 * s},
		{"denied again", 30 * s, engine.RateDecision{Limit: 3, RetryAfter: 10 * s, ResetAfter: 50 * s}, 80 * s},
		{"two intervals idle", 80 * s, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 2, ResetAfter: 20 * s}, 100 * s},
		{"long idle: full budget", time.Hour, engine.RateDecision{Allowed: true, Limit: 3, Remaining: 2, ResetAfter: 20 * s}, time.Hour + 20*s},
	}
	var tat time.Time
	for _, st := range steps {
		newTAT, got := r.Step(tat, at(st.now))
		if got != st.want || !newTAT.Equal(at(st.wantTAT)) {
			t.Fatalf("%s: Step = %v, %+v; want %v, %+v", st.name, newTAT.Sub(t0), got, st.wantTAT, st.want)
		}
		tat = newTAT
	}
}

func TestRateStepOff(t *testing.T) {
	tat := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 3 {
		newTAT, d := engine.Rate{}.Step(tat, tat)
		if !d.Allowed || d != (engine.RateDecision{Allowed: true}) || !newTAT.Equal(tat) {
			t.Fatalf("off Step = %v, %+v", newTAT, d)
		}
	}
}

func TestRateStepPanicsOnInvalidRate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Step on Rate{Count: 5} did not panic")
		}
	}()
	engine.Rate{Count: 5}.Step(time.Time{}, time.Now())
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"off", "5/m", "10/m", "1/s", "1000000/h", "1000001/h", "0/s", "05/s", "+5/s",
		"5/d", "", "/", "5//m", "9223372036854775807/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := engine.ParseRate(s)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || r != (engine.Rate{}) {
				t.Fatalf("ParseRate(%q) = %+v, %v; want the zero Rate and ErrInvalid", s, r, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRate(%q) = %+v, which fails Validate: %v", s, r, err)
		}
		if r.String() != s {
			t.Fatalf("ParseRate(%q).String() = %q", s, r.String())
		}
	})
}

// FuzzRateStep drives one key with arbitrary gaps between requests and
// checks GCRA's promises: decisions stay in range, a denial consumes
// nothing and names a wait after which the request is allowed, and no span
// allows more than the burst plus one request per emission interval.
func FuzzRateStep(f *testing.F) {
	f.Add(uint32(5), uint8(1), []byte{0, 0, 0, 0, 0, 0, 0, 12, 0, 255})
	f.Add(uint32(1), uint8(0), []byte{0, 1, 2, 3})
	f.Add(uint32(1_000_000), uint8(2), []byte{0, 0, 0})
	f.Add(uint32(7), uint8(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 200})
	periods := []time.Duration{time.Second, time.Minute, time.Hour}
	f.Fuzz(func(t *testing.T, count uint32, unit uint8, gaps []byte) {
		r := engine.Rate{Count: int(count%engine.RateCountMax) + 1, Period: periods[int(unit)%len(periods)]}
		emission := r.Period / time.Duration(r.Count)
		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		now, tat, allowed := start, time.Time{}, 0
		for _, g := range gaps {
			now = now.Add(time.Duration(g) * emission / 16) // steps of a sixteenth of an interval
			newTAT, d := r.Step(tat, now)
			if d.Limit != r.Count || d.Remaining < 0 || d.Remaining >= r.Count || d.ResetAfter < 0 || d.ResetAfter > r.Period {
				t.Fatalf("%s at %v: decision out of range: %+v", r, now.Sub(start), d)
			}
			if !d.Allowed {
				if d.RetryAfter <= 0 || d.RetryAfter > emission || d.Remaining != 0 || !newTAT.Equal(tat) {
					t.Fatalf("%s at %v: denial %+v, tat %v -> %v", r, now.Sub(start), d, tat, newTAT)
				}
				if _, later := r.Step(tat, now.Add(d.RetryAfter)); !later.Allowed {
					t.Fatalf("%s at %v: still denied after RetryAfter %v", r, now.Sub(start), d.RetryAfter)
				}
				continue
			}
			allowed++
			if d.RetryAfter != 0 || !newTAT.After(now) || newTAT.Sub(now) != d.ResetAfter {
				t.Fatalf("%s at %v: allowed %+v, tat %v", r, now.Sub(start), d, newTAT.Sub(start))
			}
			if bound := r.Count + int(now.Sub(start)/emission); allowed > bound {
				t.Fatalf("%s: %d allowed within %v, more than %d", r, allowed, now.Sub(start), bound)
			}
			tat = newTAT
		}
	})
}
