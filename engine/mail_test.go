package engine_test

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// mailOrder is an order of two lines: 2 × 19.99 + 1 × 12.50 = 52.48 USD.
func mailOrder(status engine.Status, reason string) engine.Order {
	o := sampleOrder(status)
	o.Items = append(o.Items, engine.OrderItem{ProductID: engine.ID{4}, ProductName: "Mug", Quantity: 1,
		UnitPrice: usd(1250), Subtotal: usd(1250)})
	o.Total = usd(5248)
	o.CancelReason = reason
	return o
}

func TestOrderMail(t *testing.T) {
	const to = "buyer@example.com"
	tests := []struct {
		name   string
		status engine.Status
		reason string
		to     string
		want   engine.MailKind // "" = no mail
	}{
		{"confirmed", engine.StatusConfirmed, "", to, engine.MailOrderConfirmed},
		{"expired", engine.StatusCancelled, engine.CancelReasonExpired, to, engine.MailOrderExpired},
		{"cancelled with reason", engine.StatusCancelled, "changed my mind", to, engine.MailOrderCancelled},
		{"cancelled without reason", engine.StatusCancelled, "", to, engine.MailOrderCancelled},
		{"reason only mentions expiry", engine.StatusCancelled, "expired?", to, engine.MailOrderCancelled},
		{"payment failed", engine.StatusFailed, "", to, engine.MailPaymentFailed},
		{"pending", engine.StatusPending, "", to, ""},
		{"processing", engine.StatusProcessing, "", to, ""},
		{"shipped", engine.StatusShipped, "", to, ""},
		{"delivered", engine.StatusDelivered, "", to, ""},
		{"returned", engine.StatusReturned, "", to, ""},
		{"empty status", "", "", to, ""},
		{"unknown status", "archived", "", to, ""},
		{"confirmed, no address", engine.StatusConfirmed, "", "", ""},
		{"expired, no address", engine.StatusCancelled, engine.CancelReasonExpired, "", ""},
		{"failed, no address", engine.StatusFailed, "", "", ""},
	}
	for _, tt := range tests {
		o := mailOrder(tt.status, tt.reason)
		m, ok := engine.OrderMail(o, tt.to)
		if tt.want == "" {
			if ok || !slices.Equal(m.To, nil) || m.Kind != "" {
				t.Errorf("%s: got mail %+v, %v; want none", tt.name, m, ok)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: no mail, want %s", tt.name, tt.want)
			continue
		}
		checkOrderMail(t, tt.name, m, o, tt.want, tt.to)
	}
}

func checkOrderMail(t *testing.T, name string, m engine.Mail, o engine.Order, kind engine.MailKind, to string) {
	t.Helper()
	if m.Kind != kind {
		t.Errorf("%s: kind %q, want %q", name, m.Kind, kind)
	}
	if want := string(kind) + ":" + o.ID.String(); m.Key != want {
		t.Errorf("%s: key %q, want %q", name, m.Key, want)
	}
	if !slices.Equal(m.To, []string{to}) {
		t.Errorf("%s: to %v", name, m.To)
	}
	if !strings.Contains(m.Subject, o.Reference) {
		t.Errorf("%s: subject %q lacks the reference", name, m.Subject)
	}
	for _, want := range []string{o.Reference + "\n", "2 × Red T-shirt at 19.99 USD = 39.98 USD\n",
		"1 × Mug at 12.50 USD = 12.50 USD\n", "Total: 52.48 USD\n"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("%s: text lacks %q:\n%s", name, want, m.Text)
		}
	}
	if kind == engine.MailOrderCancelled && !strings.Contains(m.Text, o.CancelReason) {
		t.Errorf("%s: text lacks the reason %q:\n%s", name, o.CancelReason, m.Text)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// TestOrderMailKeys: one key per (order, kind), so a mail is queued once.
func TestOrderMailKeys(t *testing.T) {
	keys := map[string]string{}
	for _, o := range []engine.Order{mailOrder(engine.StatusConfirmed, ""), mailOrder(engine.StatusFailed, ""),
		mailOrder(engine.StatusCancelled, ""), mailOrder(engine.StatusCancelled, engine.CancelReasonExpired)} {
		for _, id := range []engine.ID{{1}, {2}} {
			o.ID = id
			m, ok := engine.OrderMail(o, "a@example.com")
			if !ok {
				t.Fatalf("%s: no mail", o.Status)
			}
			what := string(o.Status) + "/" + o.CancelReason + "/" + id.String()
			if prev, dup := keys[m.Key]; dup {
				t.Errorf("%s and %s share key %q", prev, what, m.Key)
			}
			keys[m.Key] = what
			if again, _ := engine.OrderMail(o, "other@example.com"); again.Key != m.Key {
				t.Errorf("%s: key depends on the address: %q, %q", what, m.Key, again.Key)
			}
		}
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		in   engine.Money
		want string
	}{
		{usd(0), "0.00 USD"},
		{usd(5), "0.05 USD"},
		{usd(10), "0.10 USD"},
		{usd(99), "0.99 USD"},
		{usd(100), "1.00 USD"},
		{usd(1250), "12.50 USD"},
		{usd(100000), "1000.00 USD"},
		{engine.Money{Amount: 1999, Currency: "EUR"}, "19.99 EUR"},
		{usd(-5), "-0.05 USD"},
		{usd(-100), "-1.00 USD"},
		{usd(-1250), "-12.50 USD"},
		{usd(engine.PriceMax), "1000000000.00 USD"},
		{usd(engine.PriceMax * engine.ItemQuantityMax * engine.ItemsPerOrderMax), "1000000000000000.00 USD"},
		{usd(math.MaxInt64), "92233720368547758.07 USD"},
		{usd(-math.MaxInt64), "-92233720368547758.07 USD"},
		{usd(math.MinInt64), "-92233720368547758.08 USD"},
	}
	for _, tt := range tests {
		if got := engine.FormatMoney(tt.in); got != tt.want {
			t.Errorf("FormatMoney(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzFormatMoney: the text is the amount with a point two digits from the
// right, then the currency.
func FuzzFormatMoney(f *testing.F) {
	for _, n := range []int64{0, 5, -5, 1250, -1250, 100000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		s := engine.FormatMoney(engine.Money{Amount: n, Currency: "EUR"})
		num, ok := strings.CutSuffix(s, " EUR")
		dot := strings.IndexByte(num, '.')
		if !ok || dot < 1 || dot != len(num)-3 || strings.Count(num, "-") > 1 {
			t.Fatalf("FormatMoney(%d) = %q", n, s)
		}
		if back, err := strconv.ParseInt(num[:dot]+num[dot+1:], 10, 64); err != nil || back != n {
			t.Fatalf("FormatMoney(%d) = %q reads back as %d, %v", n, s, back, err)
		}
		if digits := strings.TrimPrefix(num[:dot], "-"); len(digits) > 1 && digits[0] == '0' {
			t.Fatalf("FormatMoney(%d) = %q has a leading zero", n, s)
		}
	})
}

func validMail() engine.Mail {
	return engine.Mail{Kind: engine.MailOrderConfirmed, Key: "order_confirmed:x", To: []string{"a@example.com"},
		Subject: "Order ORD-0123456789AB confirmed", Text: "Thanks.\n"}
}

func TestMailValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*engine.Mail)
		want []string // invalid fields; nil = valid
	}{
		{"valid", func(*engine.Mail) {}, nil},
		{"two recipients", func(m *engine.Mail) { m.To = append(m.To, "b@example.org") }, nil},
		{"255-byte key", func(m *engine.Mail) { m.Key = strings.Repeat("k", 255) }, nil},
		{"no text", func(m *engine.Mail) { m.Text = "" }, nil},
		{"multi-line text", func(m *engine.Mail) { m.Text = "a\r\nb\n" }, nil},
		{"no kind", func(m *engine.Mail) { m.Kind = "" }, []string{"kind"}},
		{"no key", func(m *engine.Mail) { m.Key = "" }, []string{"key"}},
		{"256-byte key", func(m *engine.Mail) { m.Key = strings.Repeat("k", 256) }, []string{"key"}},
		{"nil to", func(m *engine.Mail) { m.To = nil }, []string{"to"}},
		{"empty to", func(m *engine.Mail) { m.To = []string{} }, []string{"to"}},
		{"empty address", func(m *engine.Mail) { m.To = []string{""} }, []string{"to"}},
		{"address without @", func(m *engine.Mail) { m.To = []string{"example.com"} }, []string{"to"}},
		{"one bad of two", func(m *engine.Mail) { m.To = []string{"a@example.com", "nobody"} }, []string{"to"}},
		{"255-byte address", func(m *engine.Mail) { m.To = []string{"a@" + strings.Repeat("e", 253)} }, []string{"to"}},
		{"no subject", func(m *engine.Mail) { m.Subject = "" }, []string{"subject"}},
		{"subject with LF", func(m *engine.Mail) { m.Subject = "Hi\nBcc: x@example.com" }, []string{"subject"}},
		{"subject with CR", func(m *engine.Mail) { m.Subject = "Hi\r" }, []string{"subject"}},
		{"subject with CRLF", func(m *engine.Mail) { m.Subject = "Hi\r\nBcc: x@example.com" }, []string{"subject"}},
		{"all wrong", func(m *engine.Mail) { *m = engine.Mail{Subject: "\n"} },
			[]string{"kind", "key", "to", "subject"}},
	}
	for _, tt := range tests {
		m := validMail()
		tt.edit(&m)
		err := m.Validate()
		checkInvalidFields(t, tt.name, err, tt.want)
	}
}

func TestLowStockMail(t *testing.T) {
	p := validProduct(t)
	p.Stock, p.LowStockThreshold = 3, 10
	crossing := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := engine.LowStockMail(p, crossing, "admin@example.com")
	if m.Kind != engine.MailLowStock || !slices.Equal(m.To, []string{"admin@example.com"}) {
		t.Errorf("mail = %+v", m)
	}
	if !strings.HasPrefix(m.Key, "low_stock:") || !strings.Contains(m.Key, p.ID.String()) {
		t.Errorf("key %q does not name the kind and product", m.Key)
	}
	if !strings.Contains(m.Subject, p.SKU) || !strings.Contains(m.Subject, "3") {
		t.Errorf("subject %q lacks the SKU or the stock", m.Subject)
	}
	for _, want := range []string{p.Name, p.SKU, "3 units", "threshold is 10"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q: %s", want, m.Text)
		}
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	// The same crossing, seen in another zone, is the same mail; another
	// crossing or another product is a new one.
	if again := engine.LowStockMail(p, crossing.In(time.FixedZone("X", 5*3600)), "admin@example.com"); again.Key != m.Key {
		t.Errorf("same crossing, other zone: key %q, want %q", again.Key, m.Key)
	}
	if next := engine.LowStockMail(p, crossing.Add(time.Second), "admin@example.com"); next.Key == m.Key {
		t.Errorf("a later crossing reuses key %q", m.Key)
	}
	other := p
	other.ID = engine.ID{9}
	if o := engine.LowStockMail(other, crossing, "admin@example.com"); o.Key == m.Key {
		t.Errorf("another product reuses key %q", m.Key)
	}
}

func TestDeadLetterAlertMail(t *testing.T) {
	hour := time.Date(2026, 11, 25, 22, 0, 0, 0, time.FixedZone("CET", 3600)) // 21:00 UTC
	m := engine.DeadLetterAlertMail(7, hour, "admin@example.com")
	if m.Kind != engine.MailDeadLetterAlert || !slices.Equal(m.To, []string{"admin@example.com"}) {
		t.Errorf("mail = %+v", m)
	}
	if want := "dead_letter_alert:2026-11-25T21:00:00Z"; m.Key != want {
		t.Errorf("key %q, want %q", m.Key, want)
	}
	if !strings.Contains(m.Subject, "7 dead letters") || !strings.Contains(m.Subject, "2026-11-25 21:00") {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "7 ") || !strings.Contains(m.Text, "dlq") {
		t.Errorf("text %q", m.Text)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	if next := engine.DeadLetterAlertMail(7, hour.Add(time.Hour), "admin@example.com"); next.Key == m.Key {
		t.Errorf("the next hour reuses key %q", m.Key)
	}
}
