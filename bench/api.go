package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Limits of the set-up client.
const (
	setupTimeout     = 30 * time.Second // per set-up request
	setupParallelism = 8                // users created at once
	setupBodyMax     = 1 << 20
)

// User is a bench buyer: an account on the flashstock under test and its
// access token, ready as an Authorization header value.
type User struct {
	Name string
	Auth string // "JWT <access token>"
}

// API prepares runs through flashstock's own HTTP API: it registers the
// buyers and, as an administrator, creates the products.
type API struct {
	base   string
	client *fasthttp.HostClient
	admin  string // Authorization header value of the administrator
}

// NewAPI returns a set-up client for the flashstock at base, logging in
// as the administrator.
func NewAPI(ctx context.Context, base, adminUser, adminPassword string) (*API, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bench: flashstock URL %q: not http://host:port", base)
	}
	a := &API{base: base, client: &fasthttp.HostClient{Addr: u.Host, MaxConns: setupParallelism * 2,
		ReadTimeout: setupTimeout, WriteTimeout: setupTimeout, MaxResponseBodySize: setupBodyMax}}
	if a.admin, err = a.login(adminUser, adminPassword); err != nil {
		return nil, fmt.Errorf("bench: administrator login: %w", err)
	}
	return a, nil
}

// CreateUsers registers n buyers named prefix-0, prefix-1, ... and logs
// each in. The server must allow the registrations (raise or switch off
// its auth rate limit for the run).
func (a *API) CreateUsers(ctx context.Context, prefix string, n int, password string) ([]User, error) {
	users := make([]User, n)
	errs := make([]error, n)
	sem := make(chan struct{}, setupParallelism)
	var wg sync.WaitGroup
	for i := range users {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("%s-%d", prefix, i)
			body := map[string]string{"username": name, "password": password}
			if err := a.call("POST", "/auth/users/", "", body, fasthttp.StatusCreated, nil); err != nil {
				errs[i] = fmt.Errorf("register %s: %w", name, err)
				return
			}
			auth, err := a.login(name, password)
			users[i], errs[i] = User{Name: name, Auth: auth}, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return users, nil
}

// Product is what a run needs to know of a product it created.
type Product struct {
	ID    string
	Stock int64 // initial stock
}

// CreateProduct creates an active product with the given stock.
func (a *API) CreateProduct(ctx context.Context, sku string, price, stock int64) (Product, error) {
	if ctx.Err() != nil {
		return Product{}, ctx.Err()
	}
	body := map[string]any{"sku": sku, "name": "Bench " + sku, "price": price, "currency": "EUR", "stock": stock}
	var out struct {
		ID    string `json:"id"`
		Stock int64  `json:"stock"`
	}
	if err := a.call("POST", "/products/", a.admin, body, fasthttp.StatusCreated, &out); err != nil {
		return Product{}, fmt.Errorf("bench: create product %s: %w", sku, err)
	}
	return Product{ID: out.ID, Stock: out.Stock}, nil
}

func (a *API) login(username, password string) (string, error) {
	var out struct {
		Access string `json:"access"`
	}
	body := map[string]string{"username": username, "password": password}
	if err := a.call("POST", "/auth/jwt/create/", "", body, fasthttp.StatusOK, &out); err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	return "JWT " + out.Access, nil
}

// call sends one JSON request and decodes the answer into out (when not
// nil); any status but want is an error carrying the body.
func (a *API) call(method, path, auth string, in any, want int, out any) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(a.base + path)
	req.Header.SetMethod(method)
	if auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, auth)
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	if err := a.client.DoTimeout(req, resp, setupTimeout); err != nil {
		return err
	}
	if resp.StatusCode() != want {
		return fmt.Errorf("%s %s: status %d: %.300s", method, path, resp.StatusCode(), resp.Body())
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(resp.Body(), out)
}
