package testenv

import (
	"crypto/rand"
	"encoding/hex"
)

// uniqueName returns "t_" and 16 random hex digits: a valid unquoted SQL
// identifier and a Redis key prefix free of glob characters.
func uniqueName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return "t_" + hex.EncodeToString(b)
}
