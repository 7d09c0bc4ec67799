package bench

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestZipfPicksFavourLowRanks(t *testing.T) {
	cdf := zipfCDF(100, 1.1)
	if cdf[len(cdf)-1] < 0.999999 || cdf[len(cdf)-1] > 1.000001 {
		t.Fatalf("cdf ends at %v", cdf[len(cdf)-1])
	}
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, 100)
	for range 100_000 {
		counts[pick(cdf, r.Float64())]++
	}
	// Rank 0 carries 1/H(100,1.1) ≈ 22% of the weight; rank 99 about 0.14%.
	if counts[0] < 18_000 || counts[0] < 10*counts[99] || counts[0] <= counts[1] {
		t.Fatalf("counts[0]=%d counts[1]=%d counts[99]=%d: not zipf-shaped", counts[0], counts[1], counts[99])
	}
	if pick(cdf, 0) != 0 || pick(cdf, 0.9999999999) != 99 {
		t.Fatal("pick out of range at the ends")
	}
}

func TestCombinations(t *testing.T) {
	c := combinations(10, 3)
	if len(c) != 120 {
		t.Fatalf("%d combinations of 3 out of 10, want 120", len(c))
	}
	seen := map[[3]int]bool{}
	for _, x := range c {
		if x[0] >= x[1] || x[1] >= x[2] || seen[[3]int(x)] {
			t.Fatalf("bad or repeated combination %v", x)
		}
		seen[[3]int(x)] = true
	}
}

// TestOrderBodies: multi orders name 3 distinct products each, and every
// product set appears once.
func TestOrderBodies(t *testing.T) {
	s := &suite{users: []User{{Name: "u", Auth: "JWT x"}}}
	ps := make([]Product, 5)
	for i := range ps {
		ps[i] = Product{ID: string(rune('a' + i))}
	}
	set := s.orders(Target{Name: TargetFlashstock}, ps, 3)
	if len(set.bodies) != 10 || set.expect != 201 || !set.order {
		t.Fatalf("%d bodies, expect %d: want 10 bodies expecting 201", len(set.bodies), set.expect)
	}
	for _, b := range set.bodies {
		var body struct {
			Items []struct {
				ProductID string `json:"product_id"`
				Quantity  int    `json:"quantity"`
			} `json:"items"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		seen := map[string]bool{}
		for _, it := range body.Items {
			if seen[it.ProductID] || it.Quantity != 1 {
				t.Fatalf("%s: repeated product or quantity not 1", b)
			}
			seen[it.ProductID] = true
		}
		if len(seen) != 3 {
			t.Fatalf("%s: want 3 items", b)
		}
	}
	if c := s.orders(Target{Name: TargetCeiling}, ps, 1); c.expect != 200 || c.order {
		t.Fatal("the ceiling answers 200 and stores no order")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if err := QuickConfig().Validate(); err != nil {
		t.Fatalf("quick config: %v", err)
	}
	bad := DefaultConfig()
	bad.Scenarios = []string{"hotsku", "nope"}
	bad.Connections = 0
	bad.Zipf = 1
	if err := bad.Validate(); err == nil {
		t.Fatal("bad config accepted")
	}
}
