package engine_test

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"", "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6", "0192F3A4-5B6C-7D8E-9FA0-B1C2D3E4F5A6",
		"00000000-0000-0000-0000-000000000000", "0192f3a45b6c7d8e9fa0b1c2d3e4f5a6", "{0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a}",
		"0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5é", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := engine.ParseID(s)
		if want, ok := referenceParseID(s); ok != (err == nil) || id != want {
			t.Fatalf("ParseID(%q) = %v, %v; the reference says %v, ok=%v", s, id, err, want, ok)
		}
		if fromBytes, errBytes := engine.ParseIDBytes([]byte(s)); fromBytes != id || (errBytes == nil) != (err == nil) {
			t.Fatalf("ParseIDBytes(%q) = %v, %v; ParseID says %v, %v", s, fromBytes, errBytes, id, err)
		}
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || id != engine.NilID {
				t.Fatalf("ParseID(%q) = %v, %v; want NilID and ErrInvalid", s, id, err)
			}
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("ParseID(%q).String() = %q", s, id.String())
		}
		if again, err := engine.ParseID(id.String()); err != nil || again != id {
			t.Fatalf("ParseID(String()) = %v, %v; want %v", again, err, id)
		}
	})
}

// referenceParseID is the plain reading of the canonical form that ParseID
// implements without allocating: dashes at 8, 13, 18 and 23, hex elsewhere.
func referenceParseID(s string) (engine.ID, bool) {
	var id engine.ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	b, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if err != nil {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range engine.Statuses {
		f.Add(string(s))
	}
	f.Add("")
	f.Add("Pending")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := engine.ParseStatus(s)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || st != "" || slices.Contains(engine.Statuses, engine.Status(s)) {
				t.Fatalf("ParseStatus(%q) = %q, %v", s, st, err)
			}
			return
		}
		if string(st) != s || !slices.Contains(engine.Statuses, st) {
			t.Fatalf("ParseStatus(%q) = %q", s, st)
		}
	})
}

func FuzzParseCurrency(f *testing.F) {
	for _, s := range []string{"USD", "usd", "US", "USDD", "ÜSD", "", "@[`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := engine.ParseCurrency(s)
		upper3 := len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || c != "" || upper3 {
				t.Fatalf("ParseCurrency(%q) = %q, %v", s, c, err)
			}
			return
		}
		if !upper3 || string(c) != s {
			t.Fatalf("ParseCurrency(%q) = %q accepted", s, c)
		}
	})
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"ORD-0123456789AB", "ORD-0123456789ab", "ORD-", "", "ORD-0123456789ABC", "XRD-0123456789AB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := engine.ParseReference(s)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalid) || ref != "" || referenceRE.MatchString(s) {
				t.Fatalf("ParseReference(%q) = %q, %v", s, ref, err)
			}
			return
		}
		if ref != s || !referenceRE.MatchString(s) {
			t.Fatalf("ParseReference(%q) = %q accepted", s, ref)
		}
	})
}

// machineStepsMax is the most transitions one FuzzStateMachine input tries.
const machineStepsMax = 64

// FuzzStateMachine drives an order from pending with (to, trigger, delay)
// triples taken from the input and checks the machine's invariants each step.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{1, 2, 0, 2, 1, 5, 3, 1, 0, 4, 1, 9, 5, 1, 1}) // the whole fulfilment chain
	f.Add([]byte{6, 0, 1, 0, 2, 1, 1, 2, 1})                   // cancelled by the buyer, then anything
	f.Add([]byte{7, 2, 1, 1, 2, 1})                            // payment failed, then a late success
	f.Add([]byte{6, 3, 0, 6, 3, 0, 6, 1, 0})                   // repeated expiry
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, steps []byte) {
		// Six edges at most can succeed in a row: longer inputs add nothing but
		// slow the fuzzer (and its minimizer) down.
		steps = steps[:min(len(steps), 3*machineStepsMax)]
		o := sampleOrder(engine.StatusPending)
		now := o.UpdatedAt
		reachedConfirmed := false
		var frozen *engine.Order // set once the order is failed or cancelled
		for i := 0; i+2 < len(steps); i += 3 {
			to := allStatuses[int(steps[i])%len(allStatuses)]
			by := allTriggers[int(steps[i+1])%len(allTriggers)]
			now = now.Add(time.Duration(steps[i+2]) * time.Second) // never backwards; may stand still
			before := o
			next, err := o.Transition(to, by, "reason", now)
			if err == nil {
				if before.Status.IsTerminal() {
					t.Fatalf("step %d: %s→%s by %s left a terminal status", i/3, before.Status, to, by)
				}
				if next.Status != to || !next.UpdatedAt.Equal(now) || !engine.CanTransition(before.Status, to, by) {
					t.Fatalf("step %d: %s→%s by %s gave %+v", i/3, before.Status, to, by, next)
				}
				o = next
			} else if !errors.Is(err, engine.ErrConflict) || !reflect.DeepEqual(next, engine.Order{}) {
				t.Fatalf("step %d: failed transition returned %+v, %v", i/3, next, err)
			}
			if !reflect.DeepEqual(before, o) && err != nil {
				t.Fatalf("step %d: a refused transition changed the order", i/3)
			}
			checkOrderInvariants(t, o, before, &reachedConfirmed)
			if frozen != nil && !reflect.DeepEqual(*frozen, o) {
				t.Fatalf("step %d: %s order changed to %+v", i/3, frozen.Status, o)
			}
			if frozen == nil && (o.Status == engine.StatusFailed || o.Status == engine.StatusCancelled) {
				snapshot := o
				frozen = &snapshot
			}
		}
	})
}

func checkOrderInvariants(t *testing.T, o, before engine.Order, reachedConfirmed *bool) {
	t.Helper()
	if !slices.Contains(engine.Statuses, o.Status) {
		t.Fatalf("status %q is not a status", o.Status)
	}
	if o.Status == engine.StatusConfirmed {
		*reachedConfirmed = true
	}
	if (o.PaymentStatus == engine.PaymentPaid) != *reachedConfirmed {
		t.Fatalf("payment %s but reached confirmed = %v (status %s)", o.PaymentStatus, *reachedConfirmed, o.Status)
	}
	if (o.PaymentStatus == engine.PaymentFailed) != (o.Status == engine.StatusFailed) {
		t.Fatalf("payment %s with status %s", o.PaymentStatus, o.Status)
	}
	if (o.CancelReason != "") != (o.Status == engine.StatusCancelled) {
		t.Fatalf("cancel reason %q with status %s", o.CancelReason, o.Status)
	}
	if o.UpdatedAt.Before(before.UpdatedAt) {
		t.Fatalf("UpdatedAt went back from %v to %v", before.UpdatedAt, o.UpdatedAt)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("a transition broke the order: %v", err)
	}
}

// FuzzMergeItems decodes limits and item requests from the input and checks
// MergeItems against a straightforward model.
func FuzzMergeItems(f *testing.F) {
	f.Add(byte(2), byte(3), []byte{1, 0, 2, 2, 0, 1, 1, 0, 3})
	f.Add(byte(0), byte(0), []byte{1, 0, 5})
	f.Add(byte(255), byte(5), []byte{1, 0x80, 1, 1, 0x80, 1}) // huge quantities, huge limits
	f.Add(byte(1), byte(1), []byte{0, 0, 1})
	f.Add(byte(100), byte(3), []byte{})
	f.Fuzz(func(t *testing.T, itemsMax, qtyMax byte, data []byte) {
		l := engine.Limits{
			ItemsPerOrderMax: []int{0, 1, 2, 3, 100, 101, math.MaxInt}[int(itemsMax)%7],
			ItemQuantityMax:  []int64{0, 1, 5, 10_000, 10_001, math.MaxInt64}[int(qtyMax)%6],
		}
		var items []engine.ItemRequest
		for i := 0; i+2 < len(data); i += 3 {
			q := int64(int16(uint16(data[i+1])<<8 | uint16(data[i+2])))
			if data[i+1]&0x80 != 0 && data[i+2]&1 != 0 {
				q = math.MaxInt64 - int64(data[i+2]) // near-overflow quantities
			}
			var id engine.ID
			if data[i]%16 != 0 { // 1 in 16 lines has no product id
				id[0] = data[i] % 16
			}
			items = append(items, engine.ItemRequest{ProductID: id, Quantity: q})
		}
		got, err := engine.MergeItems(items, l)
		want, valid := mergeModel(items, l)
		if !valid {
			if !errors.Is(err, engine.ErrInvalid) || got != nil {
				t.Fatalf("MergeItems(%v, %+v) = %v, %v; want ErrInvalid", items, l, got, err)
			}
			return
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("MergeItems(%v, %+v) = %v, %v; want %v", items, l, got, err, want)
		}
		checkMerged(t, items, got)
	})
}

// checkMerged states MergeItems' contract directly: per-product sums kept, no
// duplicate ids, every limit within the hard maxima.
func checkMerged(t *testing.T, items, merged []engine.ItemRequest) {
	t.Helper()
	sums := make(map[engine.ID]int64)
	for _, it := range items {
		sums[it.ProductID] += it.Quantity
	}
	if len(merged) != len(sums) || len(merged) > engine.ItemsPerOrderMax {
		t.Fatalf("%d merged lines for %d products", len(merged), len(sums))
	}
	for _, m := range merged {
		if m.Quantity != sums[m.ProductID] || m.Quantity < 1 || m.Quantity > engine.ItemQuantityMax {
			t.Fatalf("product %s: merged %d, requested %d in all", m.ProductID, m.Quantity, sums[m.ProductID])
		}
		delete(sums, m.ProductID) // a second line for the same id now fails the check above
	}
}

// mergeModel is the reference for MergeItems: zero limits mean the hard
// maximum, limits above the hard maximum are capped, per-line quantities sum
// per product in first-seen order.
func mergeModel(items []engine.ItemRequest, l engine.Limits) ([]engine.ItemRequest, bool) {
	itemsMax, qtyMax := l.ItemsPerOrderMax, l.ItemQuantityMax
	if itemsMax == 0 || itemsMax > engine.ItemsPerOrderMax {
		itemsMax = engine.ItemsPerOrderMax
	}
	if qtyMax == 0 || qtyMax > engine.ItemQuantityMax {
		qtyMax = engine.ItemQuantityMax
	}
	if len(items) == 0 {
		return nil, false
	}
	var merged []engine.ItemRequest
	for _, it := range items {
		if it.ProductID.IsZero() || it.Quantity < 1 || it.Quantity > qtyMax {
			return nil, false
		}
		j := slices.IndexFunc(merged, func(m engine.ItemRequest) bool { return m.ProductID == it.ProductID })
		if j < 0 {
			merged = append(merged, it)
			continue
		}
		merged[j].Quantity += it.Quantity // both ≤ 10,000: cannot overflow
		if merged[j].Quantity > qtyMax {
			return nil, false
		}
	}
	if len(merged) > itemsMax {
		return nil, false
	}
	return merged, true
}
