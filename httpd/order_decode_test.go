package httpd

import (
	"slices"
	"strings"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// The fast path for POST /orders/ bodies must end exactly where the strict
// decoder ends, whenever it takes a body at all.

// strictOrderItems is the strict path alone.
func strictOrderItems(body []byte) ([]engine.ItemRequest, error) {
	var req orderCreateRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	return req.items(engine.DefaultLimits())
}

// wantFastSameAsStrict fails if the fast path takes body and ends other
// than the strict path; it reports whether the fast path took it.
func wantFastSameAsStrict(t *testing.T, body []byte) bool {
	t.Helper()
	lines, ok := scanOrderCreate(body)
	if !ok {
		return false
	}
	fast, fastErr := engine.MergeItems(lines, engine.DefaultLimits())
	strict, strictErr := strictOrderItems(body)
	if !slices.Equal(fast, strict) || (fastErr == nil) != (strictErr == nil) ||
		(fastErr != nil && fastErr.Error() != strictErr.Error()) {
		t.Fatalf("body %q: fast path %v, %v; strict path %v, %v", body, fast, fastErr, strict, strictErr)
	}
	return true
}

const (
	decodeA = "01900000-0000-7000-8001-000000000000"
	decodeB = "01900000-0000-7000-8001-0000000000ff"
)

func TestOrderCreateFastPathTakesPlainBodies(t *testing.T) {
	many := strings.Repeat(`{"product_id":"`+decodeA+`","quantity":1},`, engine.ItemsPerOrderMax*linesPerItemMax-1)
	for _, body := range []string{
		`{"items":[{"product_id":"` + decodeA + `","quantity":1}]}`,
		` { "items" : [ { "quantity" : 2 , "product_id" : "` + decodeB + `" } ] } ` + "\n",
		"{\"items\":[\r\n\t{\"product_id\":\"" + strings.ToUpper(decodeA) + "\",\"quantity\":9999}]}",
		`{"items":[{"product_id":"` + decodeA + `","quantity":2},{"product_id":"` + decodeB + `","quantity":3},` +
			`{"product_id":"` + decodeA + `","quantity":4}]}`,
		// Valid syntax, refused by the checks after decoding: still the same errors.
		`{"items":[]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":0}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":-0}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":-5}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":999999999999999999}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":6000},{"product_id":"` + decodeA + `","quantity":6000}]}`,
		`{"items":[{"product_id":"00000000-0000-0000-0000-000000000000","quantity":1}]}`,
		`{"items":[` + many + `{"product_id":"` + decodeA + `","quantity":1}]}`,
	} {
		if !wantFastSameAsStrict(t, []byte(body)) {
			t.Errorf("fast path refused the plain body %q", body)
		}
	}
}

func TestOrderCreateFastPathLeavesTheRestToStrict(t *testing.T) {
	line := `{"product_id":"` + decodeA + `","quantity":1}`
	many := strings.Repeat(line+",", engine.ItemsPerOrderMax*linesPerItemMax)
	for _, body := range []string{
		``, ` `, `null`, `[]`, `{}`, `{"items":null}`, `{"items":[null]}`, `{"items":[1]}`, `{"items":{}}`,
		`{"Items":[` + line + `]}`, `{"items":[{"Product_ID":"` + decodeA + `","quantity":1}]}`,
		`{"items":[` + line + `],"items":[` + line + `]}`, `{"items":[` + line + `],"x":1}`,
		`{"items":[{"product_id":"` + decodeA + `","product_id":"` + decodeB + `","quantity":1}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":1,"quantity":2}]}`,
		`{"items":[{"product_id":"` + decodeA + `"}]}`, `{"items":[{"quantity":1}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":1,"extra":true}]}`,
		`{"items":[{"product_id":"\u0030` + decodeA[1:] + `","quantity":1}]}`,
		`{"items":[{"product_id":"not-a-uuid","quantity":1}]}`, `{"items":[{"product_id":1,"quantity":1}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":1.0}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":1e2}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":01}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":"1"}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":9999999999999999999}]}`,
		`{"items":[{"product_id":"` + decodeA + `","quantity":-}]}`,
		`{"items":[` + line + `,]}`, `{"items":[` + line + `]`, `{"items":[` + line + `]}}`,
		`{"items":[` + line + `]} {}`, "\ufeff{\"items\":[" + line + "]}", `{"items":[` + many + line + `]}`,
	} {
		if wantFastSameAsStrict(t, []byte(body)) {
			t.Errorf("fast path took %q", body)
		}
	}
}

func TestOrderCreateFastPathAllocations(t *testing.T) {
	body := []byte(`{"items":[{"product_id":"` + decodeA + `","quantity":1}]}`)
	if n := testing.AllocsPerRun(100, func() { scanOrderCreate(body) }); n > 1 {
		t.Errorf("scanOrderCreate allocates %v times for one line, want at most 1 (the items)", n)
	}
}

// FuzzOrderCreateFastPath: on any body, the fast path either declines or
// agrees with the strict path.
func FuzzOrderCreateFastPath(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"product_id":"` + decodeA + `","quantity":1}]}`,
		`{"items":[{"quantity":-0,"product_id":"` + decodeB + `"},{"product_id":"` + decodeB + `","quantity":10000}]}`,
		` {"items" :[ ]} `, `{"items":[{"product_id":"` + decodeA + `","quantity":1.5}]}`, `{"items":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { wantFastSameAsStrict(t, body) })
}
