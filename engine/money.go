package engine

import (
	"fmt"
	"math/bits"
)

// Currency is an ISO-4217 alphabetic code: three upper-case ASCII letters.
type Currency string

// CurrencyDefault is used when a product is created without a currency.
const CurrencyDefault Currency = "USD"

// ParseCurrency accepts exactly three upper-case ASCII letters.
func ParseCurrency(s string) (Currency, error) {
	if len(s) != 3 {
		return "", Invalid("currency", "must be a 3-letter ISO-4217 code")
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return "", Invalid("currency", "must be a 3-letter ISO-4217 code")
		}
	}
	return Currency(s), nil
}

// Money is an amount in minor units (cents for USD) of one currency. Amounts
// are integers: no floating point ever touches money.
type Money struct {
	Amount   int64
	Currency Currency
}

// String renders the amount in minor units with its currency, e.g. "1250 USD".
func (m Money) String() string { return fmt.Sprintf("%d %s", m.Amount, m.Currency) }

// Add returns m+o. Different currencies are ErrInvalid, overflow is ErrInvalid.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, Invalid("currency", "cannot add "+string(m.Currency)+" and "+string(o.Currency))
	}
	s := m.Amount + o.Amount // wraps on overflow (defined in Go); detected below
	if o.Amount > 0 && s < m.Amount || o.Amount < 0 && s > m.Amount {
		return Money{}, Invalid("amount", "overflows")
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

// Times returns m*q for a non-negative quantity; overflow is ErrInvalid.
func (m Money) Times(q int64) (Money, error) {
	if m.Amount < 0 || q < 0 {
		return Money{}, Invalid("amount", "must not be negative")
	}
	hi, lo := bits.Mul64(uint64(m.Amount), uint64(q))
	if hi != 0 || lo > 1<<63-1 {
		return Money{}, Invalid("amount", "overflows")
	}
	return Money{Amount: int64(lo), Currency: m.Currency}, nil
}
