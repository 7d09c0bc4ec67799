package engine_test

import (
	"errors"
	"math"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

func TestParseCurrency(t *testing.T) {
	for _, s := range []string{"USD", "EUR", "JPY", "XXX", "AAA", "ZZZ"} {
		c, err := engine.ParseCurrency(s)
		if err != nil || c != engine.Currency(s) {
			t.Errorf("ParseCurrency(%q) = %q, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "U", "US", "USDD", "usd", "Usd", "uSD", "US1", "U D", "US-", "@SD", "[SD",
		"ÜSD", "\x00SD", " USD", "USD "} {
		c, err := engine.ParseCurrency(s)
		if !errors.Is(err, engine.ErrInvalid) || c != "" {
			t.Errorf("ParseCurrency(%q) = %q, %v; want ErrInvalid", s, c, err)
			continue
		}
		if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "currency" {
			t.Errorf("ParseCurrency(%q) fields = %v", s, fs)
		}
	}
	if engine.CurrencyDefault != "USD" {
		t.Errorf("CurrencyDefault = %q", engine.CurrencyDefault)
	}
}

func usd(n int64) engine.Money { return engine.Money{Amount: n, Currency: "USD"} }

func TestMoneyAdd(t *testing.T) {
	const maxI, minI = math.MaxInt64, math.MinInt64
	tests := []struct {
		name    string
		a, b    engine.Money
		want    engine.Money
		wantErr string // field of the error; "" = success
	}{
		{"small", usd(1250), usd(99), usd(1349), ""},
		{"zero", usd(0), usd(0), usd(0), ""},
		{"negative", usd(-5), usd(-7), usd(-12), ""},
		{"mixed signs", usd(5), usd(-7), usd(-2), ""},
		{"to max", usd(maxI - 1), usd(1), usd(maxI), ""},
		{"to min", usd(minI + 1), usd(-1), usd(minI), ""},
		{"max plus min", usd(maxI), usd(minI), usd(-1), ""},
		{"max plus zero", usd(maxI), usd(0), usd(maxI), ""},
		{"min plus zero", usd(minI), usd(0), usd(minI), ""},
		{"empty currency", engine.Money{Amount: 1}, engine.Money{Amount: 2}, engine.Money{Amount: 3}, ""},
		{"overflow up", usd(maxI), usd(1), engine.Money{}, "amount"},
		{"overflow up, operands swapped", usd(1), usd(maxI), engine.Money{}, "amount"},
		{"overflow up, both large", usd(maxI/2 + 1), usd(maxI/2 + 1), engine.Money{}, "amount"},
		{"overflow down", usd(minI), usd(-1), engine.Money{}, "amount"},
		{"overflow down, operands swapped", usd(-1), usd(minI), engine.Money{}, "amount"},
		{"overflow down, both min", usd(minI), usd(minI), engine.Money{}, "amount"},
		{"different currencies", usd(1), engine.Money{Amount: 1, Currency: "EUR"}, engine.Money{}, "currency"},
		{"different currencies, zero amounts", usd(0), engine.Money{Currency: "EUR"}, engine.Money{}, "currency"},
		{"one currency empty", usd(0), engine.Money{}, engine.Money{}, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.Add(tt.b)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("%v + %v = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
				}
				return
			}
			if got != (engine.Money{}) {
				t.Errorf("result %v, want zero Money on error", got)
			}
			if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != tt.wantErr {
				t.Errorf("fields = %v, want one for %s", fs, tt.wantErr)
			}
		})
	}
}

func TestMoneyTimes(t *testing.T) {
	const maxI = math.MaxInt64
	tests := []struct {
		name    string
		m       engine.Money
		q       int64
		want    engine.Money
		wantErr string
	}{
		{"one unit", usd(1250), 1, usd(1250), ""},
		{"several units", usd(1250), 3, usd(3750), ""},
		{"zero quantity", usd(1250), 0, usd(0), ""},
		{"zero price", usd(0), maxI, usd(0), ""},
		{"currency kept", engine.Money{Amount: 7, Currency: "JPY"}, 6, engine.Money{Amount: 42, Currency: "JPY"}, ""},
		{"largest line", usd(engine.PriceMax), engine.ItemQuantityMax, usd(engine.PriceMax * engine.ItemQuantityMax), ""},
		{"max times one", usd(maxI), 1, usd(maxI), ""},
		{"one times max", usd(1), maxI, usd(maxI), ""},
		{"largest square", usd(3_037_000_499), 3_037_000_499, usd(3_037_000_499 * 3_037_000_499), ""},
		{"just over max", usd(1 << 62), 2, engine.Money{}, "amount"},
		{"2^32 * 2^31", usd(1 << 32), 1 << 31, engine.Money{}, "amount"},
		{"smallest overflowing square", usd(3_037_000_500), 3_037_000_500, engine.Money{}, "amount"},
		{"max times two", usd(maxI), 2, engine.Money{}, "amount"},
		{"max times max", usd(maxI), maxI, engine.Money{}, "amount"},
		{"high word set", usd(1 << 40), 1 << 40, engine.Money{}, "amount"},
		{"negative price", usd(-1), 1, engine.Money{}, "amount"},
		{"negative quantity", usd(1), -1, engine.Money{}, "amount"},
		{"negative price, zero quantity", usd(-1), 0, engine.Money{}, "amount"},
		{"zero price, negative quantity", usd(0), -1, engine.Money{}, "amount"},
		{"min int64 price", usd(math.MinInt64), 1, engine.Money{}, "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.Times(tt.q)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("%v × %d = %v, %v; want %v", tt.m, tt.q, got, err, tt.want)
				}
				return
			}
			if got != (engine.Money{}) {
				t.Errorf("result %v, want zero Money on error", got)
			}
			if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != tt.wantErr {
				t.Errorf("fields = %v, want one for %s", fs, tt.wantErr)
			}
		})
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[engine.Money]string{
		usd(1250):                    "1250 USD",
		usd(-3):                      "-3 USD",
		{Amount: 0, Currency: "EUR"}: "0 EUR",
	} {
		if got := m.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", m, got, want)
		}
	}
}
