package bench_test

import (
	"testing"

	"github.com/flashstock/flashstock/internal/testenv"
)

// TestMain gives the tests real PostgreSQL and Redis servers (started here
// when `make test` has not named them).
func TestMain(m *testing.M) { testenv.Main(m) }
