package httpd

import (
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// The auth request decoders must never panic: any input is either a 400-class
// error (malformed_json or validation_failed) or a request that passes its
// own checks.

var authSeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `{"username":"alice","password":"correct horse"}`,
	`{"username":"alice","password":"correct horse","email":"a@example.com"}`,
	`{"username":"alice","password":12}`, `{"username":null}`, `{"refresh":"a.b.c"}`, `{"token":"a.b.c"}`,
	`{"username":"alice"} {}`, `{"username":"\u0000"}`, `{"username":"al\"ice"}`, `{"nick":1}`,
	`{"username":"alice","username":"bob","password":"correct horse"}`, "{\"password\":\"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\"}",
}

func seed(f *testing.F) {
	for _, s := range authSeeds {
		f.Add([]byte(s))
	}
}

// wantClientError fails unless err maps to a 400 problem.
func wantClientError(t *testing.T, err error) {
	t.Helper()
	if k := classify(err); k.status != 400 {
		t.Fatalf("error %v maps to %d %s, want 400", err, k.status, k.code)
	}
}

func FuzzDecodeRegister(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req registerRequest
		if err := decodeJSON(body, &req); err != nil {
			wantClientError(t, err)
			return
		}
		reg, err := req.registration()
		if err != nil {
			wantClientError(t, err)
			return
		}
		if reg.IsAdmin || reg.Validate() != nil || reg.Username != req.Username || reg.Password != req.Password {
			t.Fatalf("accepted an invalid registration: %+v", reg)
		}
		if len(reg.Password) < engine.PasswordBytesMin || len(reg.Password) > engine.PasswordBytesMax {
			t.Fatalf("accepted password of %d bytes", len(reg.Password))
		}
	})
}

// fuzzDecodeValidated fuzzes a request type whose decoder is decodeJSON and
// whose checks are its validate method: every input is a 400-class error or a
// request that accepted reports as complete.
func fuzzDecodeValidated[T interface{ validate() error }](f *testing.F, accepted func(T) bool) {
	seed(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req T
		if err := decodeJSON(body, &req); err != nil {
			wantClientError(t, err)
			return
		}
		if err := req.validate(); err != nil {
			wantClientError(t, err)
			return
		}
		if !accepted(req) {
			t.Fatalf("accepted %+v", req)
		}
	})
}

func FuzzDecodeLogin(f *testing.F) {
	fuzzDecodeValidated(f, func(r loginRequest) bool { return r.Username != "" && r.Password != "" })
}

func FuzzDecodeRefresh(f *testing.F) {
	fuzzDecodeValidated(f, func(r refreshRequest) bool { return r.Refresh != "" })
}

func FuzzDecodeVerify(f *testing.F) {
	fuzzDecodeValidated(f, func(r verifyRequest) bool { return r.Token != "" })
}

// FuzzParseToken feeds arbitrary strings to the token parser: it must never
// panic and must refuse everything it did not sign.
func FuzzParseToken(f *testing.F) {
	tk := testTokens()
	good, err := tk.issue(kindAccess, testUser)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "a.b.c", good, good + "x", "eyJhbGciOiJub25lIn0.e30.", "..", "Bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := tk.parse(raw)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		if claims.UserID != testUser.ID {
			t.Fatalf("accepted a token for %s", claims.UserID)
		}
	})
}

func wantUnauthorized(t *testing.T, err error) {
	t.Helper()
	if k := classify(err); k.code != "unauthorized" {
		t.Fatalf("parse error %v maps to %s", err, k.code)
	}
}
