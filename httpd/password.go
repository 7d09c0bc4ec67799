package httpd

import (
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/flashstock/flashstock/engine"
)

// hashPassword hashes pw with bcrypt at cost. engine.Registration.Validate
// has already refused passwords bcrypt would truncate (over 72 bytes).
func hashPassword(pw string, cost int) ([]byte, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// passwordMatches reports whether pw is the password behind hash. A password
// longer than bcrypt can see never matches: bcrypt would compare only its
// first 72 bytes, so "right password + anything" would otherwise log in.
func passwordMatches(hash []byte, pw string) bool {
	if len(pw) > engine.PasswordBytesMax {
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}

// burnPasswordCheck does the work of one password check against a hash of
// the given cost, for logins naming an unknown user: both failures then take
// the same time, so timing does not reveal which usernames exist.
func burnPasswordCheck(pw string, cost int) {
	passwordMatches(dummyHash(cost), pw)
}

// dummyHashes caches one throw-away hash per bcrypt cost; guarded by
// dummyHashesMu. Costs are few (one per configured server), so it stays tiny.
var (
	dummyHashesMu sync.Mutex
	dummyHashes   = map[int][]byte{}
)

func dummyHash(cost int) []byte {
	dummyHashesMu.Lock()
	defer dummyHashesMu.Unlock()
	if h, ok := dummyHashes[cost]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte("flashstock-timing-dummy"), cost)
	if err != nil { // only for an out-of-range cost, which Config.Validate refuses
		h = []byte{}
	}
	dummyHashes[cost] = h
	return h
}
