package engine

import "time"

// PlaceOrder asks for a new pending order. OrderID is chosen by the caller
// (so an Idempotency-Key can name it before the order exists); Items are
// already merged and validated (MergeItems).
type PlaceOrder struct {
	OrderID ID
	UserID  ID
	Items   []ItemRequest
	Now     time.Time
}

// OrderQuery selects one page of orders, newest first.
type OrderQuery struct {
	UserID ID     // NilID = every user's orders (admins only)
	Status Status // "" = any status
	Before ID     // NilID = from the newest; else orders with ids less than Before
	Limit  int    // 1..PageLimitMax (callers may ask one more to detect a next page)
}

// TransitionOrder asks to move an order to status To on behalf of By.
// UserID is the caller; with TriggerBuyer the order must be theirs.
type TransitionOrder struct {
	OrderID ID
	To      Status
	By      Trigger
	UserID  ID
	Reason  string
	Now     time.Time
}
