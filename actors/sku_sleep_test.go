package actors

import (
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/flashstock/flashstock/engine"
)

// An idle actor drops its working state (sleep) only when wake can rebuild
// it: a state with any field set that wake would not restore is kept. The
// test sets each field of skuState in turn, so that a field added later
// without a check in sleep fails here.
func TestSleepKeepsEveryNonIdleState(t *testing.T) {
	t.Parallel()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "S", Name: "S", Price: 1, Stock: 5}, engine.ID{1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// idle is a loaded actor with nothing to do, as wake rebuilds it.
	idle := func() *sku {
		a := &sku{id: p.ID, entry: &skuEntry{}}
		a.entry.product.Store(&p)
		a.wake()
		if !a.loaded || a.ledger.Product() != p {
			t.Fatal("wake did not rebuild the ledger from the published product")
		}
		return a
	}
	a := idle()
	a.sleep()
	if a.skuState != nil {
		t.Fatal("an idle actor kept its working state")
	}
	typ := reflect.TypeFor[skuState]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		a := idle()
		v := reflect.NewAt(f.Type, unsafe.Add(unsafe.Pointer(a.skuState), f.Offset)).Elem()
		switch f.Name {
		case "ledger": // units taken by work not committed
			if err := a.ledger.Take(1); err != nil {
				t.Fatal(err)
			}
		case "loaded": // loaded, yet nothing published: not what wake rebuilds
			a.entry.product.Store(nil)
		case "loadCovers": // read only while loading, which sleep checks
			continue
		default:
			setNonZero(t, f.Name, v)
		}
		a.sleep()
		if a.skuState == nil {
			t.Errorf("sleep dropped a state with %s set: sleep must check it", f.Name)
		}
	}
}

// setNonZero gives v a non-zero value of its type.
func setNonZero(t *testing.T, name string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem())
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Interface:
		if v.Type() != reflect.TypeFor[skuRequest]() {
			t.Fatalf("field %s: no non-zero value known for %s", name, v.Type())
		}
		v.Set(reflect.ValueOf(&releaseStock{}))
	case reflect.Struct:
		if v.Type() != reflect.TypeFor[time.Time]() {
			t.Fatalf("field %s: no non-zero value known for %s", name, v.Type())
		}
		v.Set(reflect.ValueOf(time.Now()))
	default:
		t.Fatalf("field %s: no non-zero value known for %s", name, v.Type())
	}
}
