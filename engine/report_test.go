package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestReportDay(t *testing.T) {
	plus2 := time.FixedZone("+02", 2*3600)
	minus5 := time.FixedZone("-05", -5*3600)
	tests := []struct {
		name string
		now  time.Time
		want string // the UTC date reported
	}{
		{"just after midnight", time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC), "2026-11-24"},
		{"at midnight", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), "2026-11-24"},
		{"one nanosecond after midnight", time.Date(2026, 11, 25, 0, 0, 0, 1, time.UTC), "2026-11-24"},
		{"last nanosecond of the day", time.Date(2026, 11, 24, 23, 59, 59, 999_999_999, time.UTC), "2026-11-23"},
		{"noon", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), "2026-11-24"},
		{"month boundary", time.Date(2026, 8, 1, 0, 5, 0, 0, time.UTC), "2026-07-31"},
		{"30-day month", time.Date(2026, 5, 1, 0, 5, 0, 0, time.UTC), "2026-04-30"},
		{"february", time.Date(2026, 3, 1, 0, 5, 0, 0, time.UTC), "2026-02-28"},
		{"leap february", time.Date(2024, 3, 1, 0, 5, 0, 0, time.UTC), "2024-02-29"},
		{"year boundary", time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC), "2026-12-31"},
		{"ahead of UTC, still yesterday in UTC", time.Date(2026, 11, 25, 1, 0, 0, 0, plus2), "2026-11-23"},
		{"behind UTC, already tomorrow in UTC", time.Date(2026, 11, 24, 20, 0, 0, 0, minus5), "2026-11-24"},
		{"local new year, UTC old year", time.Date(2027, 1, 1, 0, 30, 0, 0, plus2), "2026-12-30"},
		{"local old year, UTC new year", time.Date(2026, 12, 31, 20, 0, 0, 0, minus5), "2026-12-31"},
	}
	for _, tt := range tests {
		got := engine.ReportDay(tt.now)
		want, err := time.Parse(time.DateOnly, tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: ReportDay(%v) = %v, want %s midnight UTC", tt.name, tt.now, got, tt.want)
		}
	}
}

// TestReportDayCoversYesterday: for any hour over two years (a leap year
// included), the day reported ended at the latest at the last midnight.
func TestReportDayCoversYesterday(t *testing.T) {
	start := time.Date(2027, 12, 31, 23, 30, 0, 0, time.FixedZone("+09:30", 9*3600+1800))
	for now := start; now.Before(start.AddDate(2, 0, 0)); now = now.Add(time.Hour + 7*time.Minute) {
		day := engine.ReportDay(now)
		if day.Location() != time.UTC || day != day.Truncate(24*time.Hour) {
			t.Fatalf("ReportDay(%v) = %v, not a UTC midnight", now, day)
		}
		if end := day.Add(24 * time.Hour); end.After(now) || !end.Add(24*time.Hour).After(now) {
			t.Fatalf("ReportDay(%v) = %v, not the UTC day before now", now, day)
		}
	}
}

func sampleReport() engine.SalesReport {
	return engine.SalesReport{
		Day:        time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
		Orders:     12,
		PaidOrders: 7,
		Revenue:    []engine.Money{{Amount: 1250, Currency: "EUR"}, usd(399900)},
		TopProducts: []engine.ProductSales{
			{ProductID: engine.ID{1}, SKU: "TSHIRT-RED", Name: "Red T-shirt", Units: 150, Revenue: usd(299850)},
			{ProductID: engine.ID{2}, SKU: "MUG", Name: "Mug", Units: 80, Revenue: usd(100050)},
			{ProductID: engine.ID{3}, SKU: "CAP", Name: "Cap", Units: 1, Revenue: engine.Money{Amount: 1250, Currency: "EUR"}},
		},
	}
}

// reportLines returns the text's lines with their spacing collapsed.
func reportLines(text string) []string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

func TestReportMail(t *testing.T) {
	m := engine.ReportMail(sampleReport(), "admin@example.com")
	if m.Kind != engine.MailDailyReport || !slices.Equal(m.To, []string{"admin@example.com"}) {
		t.Errorf("mail = %+v", m)
	}
	if m.Key != "daily_report:2026-11-24" {
		t.Errorf("key %q", m.Key)
	}
	if !strings.Contains(m.Subject, "2026-11-24") {
		t.Errorf("subject %q lacks the day", m.Subject)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	lines := reportLines(m.Text)
	for _, want := range []string{"Orders placed: 12", "Orders paid: 7", "Revenue: 12.50 EUR", "Revenue: 3999.00 USD",
		"1. Red T-shirt (TSHIRT-RED): 150 units, 2998.50 USD", "2. Mug (MUG): 80 units, 1000.50 USD",
		"3. Cap (CAP): 1 units, 12.50 EUR"} {
		if !slices.Contains(lines, want) {
			t.Errorf("text lacks line %q:\n%s", want, m.Text)
		}
	}
	if eur, us := slices.Index(lines, "Revenue: 12.50 EUR"), slices.Index(lines, "Revenue: 3999.00 USD"); eur > us {
		t.Errorf("revenue lines out of the report's order:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "(none)") || strings.Contains(m.Text, "4.") {
		t.Errorf("text lists more than the report:\n%s", m.Text)
	}
}

func TestReportMailEmpty(t *testing.T) {
	r := engine.SalesReport{Day: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Orders: 3}
	m := engine.ReportMail(r, "admin@example.com")
	if m.Key != "daily_report:2026-12-31" {
		t.Errorf("key %q", m.Key)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	lines := reportLines(m.Text)
	for _, want := range []string{"Orders placed: 3", "Orders paid: 0", "Revenue: 0", "(none)"} {
		if !slices.Contains(lines, want) {
			t.Errorf("text lacks line %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "USD") || strings.Contains(m.Text, "1.") {
		t.Errorf("an empty report lists revenue or products:\n%s", m.Text)
	}
}

// TestReportMailKeyIsTheUTCDay: the key names the UTC day however Day is
// zoned, so every node queues the same day's report under one key.
func TestReportMailKeyIsTheUTCDay(t *testing.T) {
	utc := sampleReport()
	zoned := utc
	zoned.Day = utc.Day.In(time.FixedZone("-08", -8*3600)) // 2026-11-23 16:00 locally
	a, b := engine.ReportMail(utc, "admin@example.com"), engine.ReportMail(zoned, "admin@example.com")
	if a.Key != "daily_report:2026-11-24" || b.Key != a.Key || b.Subject != a.Subject {
		t.Errorf("keys %q and %q, subjects %q and %q", a.Key, b.Key, a.Subject, b.Subject)
	}
	next := utc
	next.Day = utc.Day.AddDate(0, 0, 1)
	if c := engine.ReportMail(next, "admin@example.com"); c.Key != "daily_report:2026-11-25" {
		t.Errorf("next day's key %q", c.Key)
	}
	// A report scheduled at now reports ReportDay(now) under that day's key.
	now := time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC)
	if k := engine.ReportMail(engine.SalesReport{Day: engine.ReportDay(now)}, "a@example.com").Key; k != "daily_report:2026-12-31" {
		t.Errorf("report at %v: key %q", now, k)
	}
}
