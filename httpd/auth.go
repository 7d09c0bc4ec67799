package httpd

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Authentication endpoints, djoser/simplejwt compatible (DESIGN.md "Auth"),
// and the guards (requireUser, requireAdmin) other handlers call.

func (s *Server) registerAuth() {
	dummyHash(s.cfg.BcryptCost) // warm up, so the first unknown-user login is not slower
	s.handle("POST", "/auth/users/", s.register)
	s.handle("GET", "/auth/users/me/", s.me)
	s.handle("POST", "/auth/jwt/create/", s.login)
	s.handle("POST", "/auth/jwt/refresh/", s.refresh)
	s.handle("POST", "/auth/jwt/verify/", s.verify)
}

// userJSON is an account as clients see it; the hash never leaves.
type userJSON struct {
	ID       engine.ID `json:"id"`
	Username string    `json:"username"`
	Email    string    `json:"email"`
	IsAdmin  *bool     `json:"is_admin,omitempty"` // only on /me, like djoser's me view
}

// register creates a non-admin account.
func (s *Server) register(c *call) error {
	if err := s.rateLimit(c, s.deps.AuthLimiter, "ip:"+c.ctx.RemoteIP().String()); err != nil {
		return err
	}
	var req registerRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	reg, err := req.registration()
	if err != nil {
		return err
	}
	hash, err := hashPassword(reg.Password, s.cfg.BcryptCost)
	if err != nil {
		return err
	}
	now := time.Now()
	id, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return err
	}
	u := engine.User{ID: id, Username: reg.Username, Email: reg.Email, PasswordHash: hash, CreatedAt: now}
	if err := s.deps.Users.CreateUser(c.context, u); err != nil {
		if errors.Is(err, engine.ErrConflict) { // the one unique column a client chooses
			return fmt.Errorf("create user: %w", engine.WithDetail(err, "username is already taken"))
		}
		return fmt.Errorf("create user: %w", err)
	}
	return c.respond(fasthttp.StatusCreated, userJSON{ID: u.ID, Username: u.Username, Email: u.Email})
}

// errBadCredentials is the one answer to a wrong username or password, so
// the response does not reveal which usernames exist.
var errBadCredentials = engine.WithDetail(engine.ErrUnauthorized, "no active account found with the given credentials")

// login checks a username and password and issues an access/refresh pair.
func (s *Server) login(c *call) error {
	if err := s.rateLimit(c, s.deps.AuthLimiter, "ip:"+c.ctx.RemoteIP().String()); err != nil {
		return err
	}
	var req loginRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if engine.CheckUsername(req.Username) != "" { // no account has it (NUL, too long...): the store is not asked
		burnPasswordCheck(req.Password, s.cfg.BcryptCost)
		return fmt.Errorf("login with an impossible username: %w", errBadCredentials)
	}
	u, err := s.deps.Users.UserByUsername(c.context, req.Username)
	if errors.Is(err, engine.ErrNotFound) {
		burnPasswordCheck(req.Password, s.cfg.BcryptCost)
		return errBadCredentials
	}
	if err != nil {
		return fmt.Errorf("load user: %w", err)
	}
	if !passwordMatches(u.PasswordHash, req.Password) {
		return errBadCredentials
	}
	access, err := s.tokens.issue(kindAccess, u)
	if err != nil {
		return err
	}
	refresh, err := s.tokens.issue(kindRefresh, u)
	if err != nil {
		return err
	}
	return c.respond(fasthttp.StatusOK, map[string]string{"access": access, "refresh": refresh})
}

// refresh trades a refresh token for a new access token. The user is read
// again, so a deleted account cannot refresh and is_admin is current.
func (s *Server) refresh(c *call) error {
	var req refreshRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	claims, err := s.tokens.parseKind(req.Refresh, kindRefresh)
	if err != nil {
		return err
	}
	u, err := s.currentUser(c, claims.UserID)
	if err != nil {
		return err
	}
	access, err := s.tokens.issue(kindAccess, u)
	if err != nil {
		return err
	}
	return c.respond(fasthttp.StatusOK, map[string]string{"access": access})
}

// verify answers 200 {} for any valid token, access or refresh (simplejwt).
func (s *Server) verify(c *call) error {
	var req verifyRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	claims, err := s.tokens.parse(req.Token)
	if err != nil {
		return err
	}
	if err := s.confirmUser(c, []byte(req.Token), claims); err != nil {
		return err
	}
	return c.respond(fasthttp.StatusOK, struct{}{})
}

// me returns the caller's account.
func (s *Server) me(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	u, err := s.currentUser(c, c.user.ID)
	if err != nil {
		return err
	}
	return c.respond(fasthttp.StatusOK, userJSON{ID: u.ID, Username: u.Username, Email: u.Email, IsAdmin: &u.IsAdmin})
}

// errUserGone answers a validly signed token whose user does not exist: an
// account deleted since, or a token signed with a leaked secret. The token
// no longer stands for anyone: unauthorized, not not-found.
var errUserGone = engine.WithDetail(engine.ErrUnauthorized, "the account this token was issued for does not exist")

// tokenUserRecheck is how long a token's user is trusted to exist after
// the store last had it. A token of an account deleted meanwhile keeps
// working on a node that had checked it for at most this long; a token in
// use costs one read of its user per interval, not one per request.
const tokenUserRecheck = time.Minute

// confirmUser checks that the user a verified token (raw, with claims)
// names exists, unless the token cache says it was found less than
// tokenUserRecheck ago. A missing user is errUserGone and the token leaves
// the cache; a store that cannot answer is its own error (an outage is
// engine.ErrUnavailable, 503), never a 401.
func (s *Server) confirmUser(c *call, raw []byte, claims tokenClaims) error {
	now := s.tokens.now()
	if !claims.userSeen.IsZero() && now.Sub(claims.userSeen) < tokenUserRecheck {
		return nil
	}
	_, err := s.deps.Users.UserByID(c.context, claims.UserID)
	if errors.Is(err, engine.ErrNotFound) {
		s.tokens.cache.drop(raw)
		return fmt.Errorf("token for user %s: %w", claims.UserID, errUserGone)
	}
	if err != nil {
		return fmt.Errorf("confirm the token's user: %w", err)
	}
	s.tokens.cache.seen(raw, now)
	return nil
}

// currentUser loads the account a valid token names; a deleted account is
// unauthorized, not not-found: the token no longer stands for anyone.
func (s *Server) currentUser(c *call, id engine.ID) (engine.User, error) {
	u, err := s.deps.Users.UserByID(c.context, id)
	if errors.Is(err, engine.ErrNotFound) {
		return engine.User{}, fmt.Errorf("user %s: %w", id, errUserGone)
	}
	if err != nil {
		return engine.User{}, fmt.Errorf("load user: %w", err)
	}
	return u, nil
}

// requireUser authenticates the request from its Authorization header
// ("JWT <token>" or "Bearer <token>", scheme case-insensitive) and sets
// c.user. Only access tokens of existing users count (confirmUser).
// Failures wrap engine.ErrUnauthorized, except a store that cannot confirm
// the user.
func (c *call) requireUser() error {
	if c.user != nil {
		return nil
	}
	raw, err := bearerToken(c.ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if err != nil {
		return err
	}
	claims, err := c.srv.tokens.parseKindBytes(raw, kindAccess)
	if err != nil {
		return err
	}
	if err := c.srv.confirmUser(c, raw, claims); err != nil {
		return err
	}
	c.caller = principal{ID: claims.UserID, IsAdmin: claims.IsAdmin}
	c.user = &c.caller
	return nil
}

// requireAdmin is requireUser plus engine.ErrForbidden for non-admins. The
// admin flag comes from the access token, so no database read is needed; a
// demotion takes effect when the token expires.
func (c *call) requireAdmin() error {
	if err := c.requireUser(); err != nil {
		return err
	}
	if !c.user.IsAdmin {
		return fmt.Errorf("%w: admin only", engine.ErrForbidden)
	}
	return nil
}

// bearerToken extracts the token from an Authorization header value. The
// returned slice is part of header: fasthttp reuses the header buffer, so
// it must not be kept after the request.
func bearerToken(header []byte) ([]byte, error) {
	header = bytes.TrimSpace(header)
	if len(header) == 0 {
		return nil, engine.WithDetail(engine.ErrUnauthorized, "the Authorization header is missing")
	}
	scheme, token, ok := bytes.Cut(header, []byte(" "))
	if !ok || !(bytes.EqualFold(scheme, []byte("JWT")) || bytes.EqualFold(scheme, []byte("Bearer"))) {
		return nil, engine.WithDetail(engine.ErrUnauthorized, `the Authorization header must be "JWT <token>" or "Bearer <token>"`)
	}
	token = bytes.TrimSpace(token)
	if len(token) == 0 {
		return nil, engine.WithDetail(engine.ErrUnauthorized, "the Authorization header has an empty token")
	}
	return token, nil
}

// Request bodies. Each decodes strictly (call.decode) and then checks its own
// fields, so a decoded request is either an error or a usable value.

type registerRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
}

// registration validates the request as a new, non-admin account.
func (r registerRequest) registration() (engine.Registration, error) {
	reg := engine.Registration{Username: r.Username, Password: r.Password, Email: r.Email}
	if err := reg.Validate(); err != nil {
		return engine.Registration{}, err
	}
	return reg, nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (r loginRequest) validate() error {
	return required(map[string]string{"username": r.Username, "password": r.Password})
}

type refreshRequest struct {
	Refresh string `json:"refresh"`
}

func (r refreshRequest) validate() error { return required(map[string]string{"refresh": r.Refresh}) }

type verifyRequest struct {
	Token string `json:"token"`
}

func (r verifyRequest) validate() error { return required(map[string]string{"token": r.Token}) }

// required reports every empty field, in name order.
func required(fields map[string]string) error {
	var ve engine.ValidationError
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if fields[name] == "" {
			ve.Fields = append(ve.Fields, engine.FieldError{Field: name, Message: "is required"})
		}
	}
	if len(ve.Fields) == 0 {
		return nil
	}
	return &ve
}
