package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// The HTTP side of the naive and redislock baselines.

// Limits of a baseline request.
const (
	// baselineRequestTimeout bounds one order: lock waits (persist.LockWaitMax)
	// and the transaction included.
	baselineRequestTimeout = 10 * time.Second
	// baselineBodyBytesMax bounds an order body, as flashstock's does.
	baselineBodyBytesMax = 64 << 10
	// baselineTokenBytesMax bounds what we hand to the JWT parser.
	baselineTokenBytesMax = 4096
	// baselineTokenLeeway absorbs clock skew in exp, nbf and iat.
	baselineTokenLeeway = 5 * time.Second
)

// baselineServer serves POST /orders/ with place, GET /products/{id} from
// products and GET /healthz.
type baselineServer struct {
	place    func(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	products BaselineProducts
	secret   []byte
	log      zerolog.Logger
}

var baselineHealthBody = []byte(`{"status":"ok"}`)

func (b *baselineServer) serve(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/orders/", "/orders":
		if !ctx.IsPost() {
			b.fail(ctx, errBaselineMethod)
			return
		}
		b.createOrder(ctx)
	case "/healthz", "/healthz/":
		ctx.SetContentType("application/json")
		ctx.SetBody(baselineHealthBody)
	default:
		if id, ok := bytes.CutPrefix(ctx.Path(), []byte("/products/")); ok {
			if !ctx.IsGet() {
				b.fail(ctx, errBaselineMethod)
				return
			}
			b.productDetail(ctx, id)
			return
		}
		b.fail(ctx, fmt.Errorf("%w: no such route", engine.ErrNotFound))
	}
}

// productDetail answers one product as flashstock does: 200 with its JSON,
// 404 for an id that is not a UUID, a missing product or an inactive one
// (the baselines have no administrators).
func (b *baselineServer) productDetail(ctx *fasthttp.RequestCtx, rawID []byte) {
	id, err := engine.ParseIDBytes(rawID)
	if err != nil {
		b.fail(ctx, fmt.Errorf("%w: the path's id is not a UUID", engine.ErrNotFound))
		return
	}
	c, cancel := context.WithTimeout(context.Background(), baselineRequestTimeout)
	defer cancel()
	p, err := b.products.Product(c, id)
	if err == nil && !p.IsActive {
		err = engine.ErrNotFound
	}
	if err != nil {
		b.fail(ctx, fmt.Errorf("product %s: %w", id, err))
		return
	}
	body, err := json.Marshal(newBaselineProductJSON(p))
	if err != nil {
		b.fail(ctx, err)
		return
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// createOrder authenticates, decodes, places the order and answers 201
// with it.
func (b *baselineServer) createOrder(ctx *fasthttp.RequestCtx) {
	user, err := b.authenticate(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if err != nil {
		b.fail(ctx, err)
		return
	}
	items, err := decodeBaselineOrder(ctx.PostBody())
	if err != nil {
		b.fail(ctx, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond) // as PostgreSQL stores it
	id, err := engine.NewID(now, rand.Reader)
	if err != nil {
		b.fail(ctx, err)
		return
	}
	c, cancel := context.WithTimeout(context.Background(), baselineRequestTimeout)
	defer cancel()
	o, err := b.place(c, engine.PlaceOrder{OrderID: id, UserID: user, Items: items, Now: now})
	if errors.Is(err, engine.ErrNotFound) { // a product of the body, as flashstock says it
		err = engine.Invalid("items", "names a product that does not exist")
	}
	if err != nil {
		b.fail(ctx, fmt.Errorf("place order: %w", err))
		return
	}
	body, err := json.Marshal(newBaselineOrderJSON(o))
	if err != nil {
		b.fail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// baselineClaims are the claims of flashstock's tokens that the baselines
// read.
type baselineClaims struct {
	UserID    string `json:"user_id"`
	TokenType string `json:"token_type"`
	jwt.RegisteredClaims
}

// authenticate verifies an "Authorization: JWT <token>" (or Bearer) access
// token and returns its user_id. Every failure is engine.ErrUnauthorized.
func (b *baselineServer) authenticate(header []byte) (engine.ID, error) {
	raw, ok := bytes.CutPrefix(header, []byte("JWT "))
	if !ok {
		raw, ok = bytes.CutPrefix(header, []byte("Bearer "))
	}
	if !ok || len(raw) == 0 || len(raw) > baselineTokenBytesMax {
		return engine.NilID, fmt.Errorf("%w: missing or malformed Authorization header", engine.ErrUnauthorized)
	}
	var claims baselineClaims
	_, err := jwt.ParseWithClaims(string(raw), &claims, func(*jwt.Token) (any, error) { return b.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(baselineTokenLeeway),
	)
	if err != nil || claims.TokenType != "access" {
		return engine.NilID, fmt.Errorf("%w: invalid token", engine.ErrUnauthorized)
	}
	id, err := engine.ParseID(claims.UserID)
	if err != nil {
		return engine.NilID, fmt.Errorf("%w: invalid token", engine.ErrUnauthorized)
	}
	return id, nil
}

// baselineOrderRequest is the body of POST /orders/.
type baselineOrderRequest struct {
	Items []baselineItemRequest `json:"items"`
}

type baselineItemRequest struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// decodeBaselineOrder decodes and validates an order body, merging
// duplicate products (engine.MergeItems).
func decodeBaselineOrder(body []byte) ([]engine.ItemRequest, error) {
	if len(body) > baselineBodyBytesMax {
		return nil, errBaselineTooLarge
	}
	var req baselineOrderRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return nil, engine.Invalid(field, "has the wrong type")
		}
		return nil, fmt.Errorf("%w: %v", errBaselineMalformed, err)
	}
	items := make([]engine.ItemRequest, len(req.Items))
	for i, it := range req.Items {
		id, err := engine.ParseID(it.ProductID)
		if err != nil {
			return nil, engine.Invalid(fmt.Sprintf("items[%d].product_id", i), "must be a product id (UUID)")
		}
		items[i] = engine.ItemRequest{ProductID: id, Quantity: it.Quantity}
	}
	return engine.MergeItems(items, engine.DefaultLimits())
}

// baselineOrderJSON is an order as clients see it (DESIGN.md "Orders").
type baselineOrderJSON struct {
	ID            engine.ID               `json:"id"`
	Reference     string                  `json:"reference"`
	UserID        engine.ID               `json:"user_id"`
	Status        string                  `json:"status"`
	PaymentStatus string                  `json:"payment_status"`
	Total         int64                   `json:"total"`
	Currency      string                  `json:"currency"`
	Items         []baselineOrderItemJSON `json:"items"`
	CreatedAt     time.Time               `json:"created_at"`
	UpdatedAt     time.Time               `json:"updated_at"`
	ExpiresAt     time.Time               `json:"expires_at"`
	CancelReason  string                  `json:"cancel_reason"`
}

type baselineOrderItemJSON struct {
	ProductID   engine.ID `json:"product_id"`
	ProductName string    `json:"product_name"`
	Quantity    int64     `json:"quantity"`
	UnitPrice   int64     `json:"unit_price"`
	Subtotal    int64     `json:"subtotal"`
}

// baselineProductJSON is a product as clients see it (DESIGN.md
// "Products").
type baselineProductJSON struct {
	ID                engine.ID `json:"id"`
	SKU               string    `json:"sku"`
	Name              string    `json:"name"`
	Price             int64     `json:"price"`
	Currency          string    `json:"currency"`
	Stock             int64     `json:"stock"`
	IsActive          bool      `json:"is_active"`
	LowStockThreshold int64     `json:"low_stock_threshold"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func newBaselineProductJSON(p engine.Product) baselineProductJSON {
	return baselineProductJSON{ID: p.ID, SKU: p.SKU, Name: p.Name, Price: p.Price.Amount,
		Currency: string(p.Price.Currency), Stock: p.Stock, IsActive: p.IsActive,
		LowStockThreshold: p.LowStockThreshold, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

func newBaselineOrderJSON(o engine.Order) baselineOrderJSON {
	j := baselineOrderJSON{ID: o.ID, Reference: o.Reference, UserID: o.UserID, Status: string(o.Status),
		PaymentStatus: string(o.PaymentStatus), Total: o.Total.Amount, Currency: string(o.Total.Currency),
		Items: make([]baselineOrderItemJSON, len(o.Items)), CreatedAt: o.CreatedAt.UTC(),
		UpdatedAt: o.UpdatedAt.UTC(), ExpiresAt: o.ExpiresAt.UTC(), CancelReason: o.CancelReason}
	for i, it := range o.Items {
		j.Items[i] = baselineOrderItemJSON{ProductID: it.ProductID, ProductName: it.ProductName,
			Quantity: it.Quantity, UnitPrice: it.UnitPrice.Amount, Subtotal: it.Subtotal.Amount}
	}
	return j
}
