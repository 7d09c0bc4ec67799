package httpd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/flashstock/flashstock/engine"
)

// JSON Web Tokens, compatible with djoser/simplejwt clients. This file is the
// only one that imports the jwt library; the rest of httpd sees tokenClaims.

const (
	// tokenLeeway absorbs clock skew between nodes when checking exp and iat.
	tokenLeeway = 5 * time.Second
	// tokenBytesMax bounds what we hand to the parser; ours are ~350 bytes.
	tokenBytesMax = 4096
	// tokenIDBytes is the size of the random jti.
	tokenIDBytes = 16
)

// tokenKind is the token_type claim: an access token authenticates requests,
// a refresh token only buys new access tokens.
type tokenKind string

const (
	kindAccess  tokenKind = "access"
	kindRefresh tokenKind = "refresh"
)

// tokenClaims is what a verified token says.
type tokenClaims struct {
	UserID  engine.ID
	Kind    tokenKind
	IsAdmin bool // meaningful for access tokens only
	// userSeen is when the user UserID names was last found in the store
	// (Server.confirmUser), kept with the cached token; zero = not yet.
	userSeen time.Time
}

// tokens issues and verifies HS256 tokens with one shared secret.
type tokens struct {
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time // time.Now; tests shift it
	cache      *tokenCache      // verified tokens (tokencache.go)
}

// newTokens builds the token service from a validated, defaulted Config.
func newTokens(cfg Config) *tokens {
	return &tokens{secret: cfg.JWTSecret, accessTTL: cfg.AccessTTL, refreshTTL: cfg.RefreshTTL, now: time.Now,
		cache: newTokenCache(tokenCacheEntriesMax)}
}

// jwtClaims is the wire form: sub and user_id both carry the user id
// (simplejwt sends user_id; sub is the standard claim).
type jwtClaims struct {
	UserID    string    `json:"user_id"`
	TokenType tokenKind `json:"token_type"`
	IsAdmin   *bool     `json:"is_admin,omitempty"`
	jwt.RegisteredClaims
}

// Validate is called by the jwt parser after the standard time checks; it
// enforces our own required claims.
func (c jwtClaims) Validate() error {
	switch {
	case c.TokenType != kindAccess && c.TokenType != kindRefresh:
		return errors.New("unknown token_type")
	case c.Subject == "" || c.UserID != c.Subject:
		return errors.New("sub and user_id must name the same user")
	case c.IssuedAt == nil:
		return errors.New("iat is required")
	case c.ID == "":
		return errors.New("jti is required")
	case c.TokenType == kindAccess && c.IsAdmin == nil:
		return errors.New("access token without is_admin")
	}
	return nil
}

// issue returns a signed token of the given kind for u.
func (t *tokens) issue(kind tokenKind, u engine.User) (string, error) {
	ttl := t.accessTTL
	if kind == kindRefresh {
		ttl = t.refreshTTL
	}
	var jti [tokenIDBytes]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	now := t.now()
	claims := jwtClaims{
		UserID:    u.ID.String(),
		TokenType: kind,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID.String(),
			ID:        hex.EncodeToString(jti[:]),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	if kind == kindAccess {
		admin := u.IsAdmin
		claims.IsAdmin = &admin
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign %s token: %w", kind, err)
	}
	return signed, nil
}

// parse verifies raw (signature, algorithm, exp, iat, required claims) and
// returns its claims. Every failure is engine.ErrUnauthorized; the detail
// says only "expired" or "invalid" so clients learn nothing about our checks.
func (t *tokens) parse(raw string) (tokenClaims, error) {
	return t.parseBytes([]byte(raw))
}

// parseBytes is parse for a token still in a request's buffer; it keeps no
// reference to raw. A token verified before comes from the cache (see
// tokencache.go), with its times checked again.
func (t *tokens) parseBytes(raw []byte) (tokenClaims, error) {
	if len(raw) == 0 || len(raw) > tokenBytesMax {
		return tokenClaims{}, errTokenInvalid
	}
	if e, ok := t.cache.get(raw); ok {
		return t.checkCached(raw, e)
	}
	return t.verify(string(raw))
}

// errTokenInvalid and errTokenExpired are parse's two answers.
var (
	errTokenInvalid = engine.WithDetail(engine.ErrUnauthorized, "the token is invalid")
	errTokenExpired = engine.WithDetail(engine.ErrUnauthorized, "the token has expired")
)

// checkCached applies the parser's time checks to a cached token: expired
// first (the parser reports expiry before the other failures), then not
// yet valid. An expired entry is dropped.
func (t *tokens) checkCached(raw []byte, e cachedToken) (tokenClaims, error) {
	now := t.now()
	if !now.Before(e.validUntil) {
		t.cache.drop(raw)
		return tokenClaims{}, errTokenExpired
	}
	if now.Before(e.validFrom) {
		return tokenClaims{}, errTokenInvalid
	}
	return e.claims, nil
}

// verify runs the full check with the jwt library and caches the claims of
// a token that passes it.
func (t *tokens) verify(raw string) (tokenClaims, error) {
	var claims jwtClaims
	_, err := jwt.ParseWithClaims(raw, &claims, t.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(t.now),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return tokenClaims{}, errTokenExpired
	}
	if err != nil {
		return tokenClaims{}, errTokenInvalid
	}
	id, err := engine.ParseID(claims.Subject)
	if err != nil {
		return tokenClaims{}, errTokenInvalid
	}
	out := tokenClaims{UserID: id, Kind: claims.TokenType}
	if claims.IsAdmin != nil {
		out.IsAdmin = *claims.IsAdmin
	}
	t.cache.put(raw, cachedEntry(out, claims.RegisteredClaims), t.now())
	return out, nil
}

// cachedEntry is the cache entry of a token that passed verify: the claims
// and the window in which the parser would accept the token again (exp is
// required, so verify never caches a token without one).
func cachedEntry(out tokenClaims, rc jwt.RegisteredClaims) cachedToken {
	e := cachedToken{claims: out, validUntil: rc.ExpiresAt.Add(tokenLeeway)}
	for _, d := range []*jwt.NumericDate{rc.IssuedAt, rc.NotBefore} {
		if d != nil && d.Add(-tokenLeeway).After(e.validFrom) {
			e.validFrom = d.Add(-tokenLeeway)
		}
	}
	return e
}

// parseKind is parse plus a check that the token is of the wanted kind, so a
// refresh token never authenticates a request and an access token never
// refreshes.
func (t *tokens) parseKind(raw string, want tokenKind) (tokenClaims, error) {
	claims, err := t.parse(raw)
	return ofKind(claims, err, want)
}

// parseKindBytes is parseKind for a token still in a request's buffer.
func (t *tokens) parseKindBytes(raw []byte, want tokenKind) (tokenClaims, error) {
	claims, err := t.parseBytes(raw)
	return ofKind(claims, err, want)
}

// ofKind passes on a parse result if it is of the wanted kind.
func ofKind(claims tokenClaims, err error, want tokenKind) (tokenClaims, error) {
	if err != nil {
		return tokenClaims{}, err
	}
	if claims.Kind != want {
		return tokenClaims{}, engine.WithDetail(engine.ErrUnauthorized, "the token must be a "+string(want)+" token")
	}
	return claims, nil
}

// key returns the HMAC secret, re-checking the method even though the parser
// already pins HS256: a second lock on the algorithm-confusion door.
func (t *tokens) key(tok *jwt.Token) (any, error) {
	if tok.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	return t.secret, nil
}
