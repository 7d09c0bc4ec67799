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
}

// tokens issues and verifies HS256 tokens with one shared secret.
type tokens struct {
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time // time.Now; tests shift it
}

// newTokens builds the token service from a validated, defaulted Config.
func newTokens(cfg Config) *tokens {
	return &tokens{secret: cfg.JWTSecret, accessTTL: cfg.AccessTTL, refreshTTL: cfg.RefreshTTL, now: time.Now}
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
	if raw == "" || len(raw) > tokenBytesMax {
		return tokenClaims{}, fmt.Errorf("%w: invalid token", engine.ErrUnauthorized)
	}
	var claims jwtClaims
	_, err := jwt.ParseWithClaims(raw, &claims, t.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(t.now),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return tokenClaims{}, fmt.Errorf("%w: token expired", engine.ErrUnauthorized)
	}
	if err != nil {
		return tokenClaims{}, fmt.Errorf("%w: invalid token", engine.ErrUnauthorized)
	}
	id, err := engine.ParseID(claims.Subject)
	if err != nil {
		return tokenClaims{}, fmt.Errorf("%w: invalid token", engine.ErrUnauthorized)
	}
	out := tokenClaims{UserID: id, Kind: claims.TokenType}
	if claims.IsAdmin != nil {
		out.IsAdmin = *claims.IsAdmin
	}
	return out, nil
}

// parseKind is parse plus a check that the token is of the wanted kind, so a
// refresh token never authenticates a request and an access token never
// refreshes.
func (t *tokens) parseKind(raw string, want tokenKind) (tokenClaims, error) {
	claims, err := t.parse(raw)
	if err != nil {
		return tokenClaims{}, err
	}
	if claims.Kind != want {
		return tokenClaims{}, fmt.Errorf("%w: token_type must be %q", engine.ErrUnauthorized, want)
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
