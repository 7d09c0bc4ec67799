package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

func TestParseFencedShards(t *testing.T) {
	e, err := engine.ParseFencedShards("7, 3,7,0")
	if err != nil || !slices.Equal(e.Shards, []int{0, 3, 7}) {
		t.Fatalf("ParseFencedShards = %v, %v; want [0 3 7]", e, err)
	}
	if !errors.Is(e, engine.ErrFenced) || !errors.Is(e, engine.ErrUnavailable) || e.Error() != "shard epoch moved on: shards 0,3,7" {
		t.Errorf("FencedError %q does not read or match as it should", e.Error())
	}
	for _, bad := range []string{"", "x", "-1", "65536", "1,,2"} {
		if _, err := engine.ParseFencedShards(bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("ParseFencedShards(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
