package engine

// Hard limits of the domain. Configurable limits (Limits) may be lowered from
// these but never raised above them: every arithmetic bound below relies on it.
const (
	// PriceMax is the highest unit price in minor units (1e11 = 1 billion major units).
	PriceMax int64 = 100_000_000_000
	// StockMax is the most units a product can hold.
	StockMax int64 = 1_000_000_000
	// RestockQuantityMax is the most units one restock may add.
	RestockQuantityMax int64 = 1_000_000
	// ItemsPerOrderMax is the most distinct products in one order.
	ItemsPerOrderMax = 100
	// ItemQuantityMax is the most units of one product in one order.
	ItemQuantityMax int64 = 10_000
	// NameRunesMax is the longest product name, in characters.
	NameRunesMax = 255
	// NameBytesMax is the longest product name in bytes (NameRunesMax
	// characters of up to 4 bytes).
	NameBytesMax = NameRunesMax * 4
	// SKUBytesMax is the longest SKU.
	SKUBytesMax = 64
	// PageLimitDefault is the page size when a list request gives none.
	PageLimitDefault = 20
	// PageLimitMax is the largest page a list request may ask for.
	PageLimitMax = 100
)

// Limits are the configurable per-order limits. MergeItems treats a zero
// field as the hard maximum (and caps larger ones to it); Validate, for
// configuration, wants every field set explicitly within the hard maxima.
type Limits struct {
	ItemsPerOrderMax int
	ItemQuantityMax  int64
}

// DefaultLimits returns the hard maxima.
func DefaultLimits() Limits {
	return Limits{ItemsPerOrderMax: ItemsPerOrderMax, ItemQuantityMax: ItemQuantityMax}
}

// capped returns l with zero fields, and fields above the hard maxima, set to
// the hard maxima: code that applies Limits relies on the hard bounds (merged
// quantities cannot overflow) whatever it was given.
func (l Limits) capped() Limits {
	if l.ItemsPerOrderMax == 0 || l.ItemsPerOrderMax > ItemsPerOrderMax {
		l.ItemsPerOrderMax = ItemsPerOrderMax
	}
	if l.ItemQuantityMax == 0 || l.ItemQuantityMax > ItemQuantityMax {
		l.ItemQuantityMax = ItemQuantityMax
	}
	return l
}

// Validate checks that the limits are positive and within the hard maxima.
func (l Limits) Validate() error {
	var v validator
	v.check(l.ItemsPerOrderMax >= 1 && l.ItemsPerOrderMax <= ItemsPerOrderMax,
		"items_per_order_max", "must be between 1 and 100")
	v.check(l.ItemQuantityMax >= 1 && l.ItemQuantityMax <= ItemQuantityMax,
		"item_quantity_max", "must be between 1 and 10000")
	return v.err()
}

// PageLimit turns a requested page size (0 = default) into a valid one.
func PageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return PageLimitDefault, nil
	case n < 1 || n > PageLimitMax:
		return 0, Invalid("limit", "must be between 1 and 100")
	}
	return n, nil
}
