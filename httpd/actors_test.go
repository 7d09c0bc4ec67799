package httpd

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// GET /admin/actors: admin only, a snapshot of the actors from Deps.Actors.

func TestAdminActors(t *testing.T) {
	t.Parallel()
	hot := orderProductA
	stats := engine.ActorStats{
		Kinds: []engine.ActorKindStats{
			{Kind: "sku", Live: 12, Inflight: 3, Restarts: 1},
			{Kind: "mailer", Live: 1},
		},
		HottestSKUs: []engine.SKUHeat{{ProductID: hot, Inflight: 2, Requests: 9001}},
	}
	var calls recorder[struct{}]
	actors := &actorsFake{ActorStatsFunc: func(context.Context) (engine.ActorStats, error) {
		calls.add(struct{}{})
		return stats, nil
	}}
	f := newOrderFixture(t, func(_ *Config, d *Deps) { d.Actors = actors })

	for _, path := range []string{"/admin/actors", "/admin/actors/"} {
		status, hdr, body := f.do("GET", path, nil, f.adminAuth...)
		if status != 200 || headerValue(hdr, "Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %q: %s", path, status, headerValue(hdr, "Content-Type"), body)
		}
		var got map[string]any
		mustJSON(t, body, &got)
		want := map[string]any{
			"kinds": []any{
				map[string]any{"kind": "sku", "live": 12.0, "inflight": 3.0, "restarts": 1.0},
				map[string]any{"kind": "mailer", "live": 1.0, "inflight": 0.0, "restarts": 0.0},
			},
			"hottest_skus": []any{
				map[string]any{"product_id": hot.String(), "inflight": 2.0, "requests": 9001.0},
			},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s =\n  %v\nwant\n  %v", path, got, want)
		}
	}

	for _, tt := range []struct {
		name    string
		headers []string
		status  int
		code    string
	}{
		{"no token", nil, 401, "unauthorized"},
		{"bad token", []string{"Authorization", "Bearer not-a-token"}, 401, "unauthorized"},
		{"not an admin", f.buyerAuth, 403, "forbidden"},
	} {
		status, hdr, body := f.do("GET", "/admin/actors", nil, tt.headers...)
		t.Run(tt.name, func(t *testing.T) { wantProblem(t, status, hdr, body, tt.status, tt.code) })
	}
	if n := len(calls.all()); n != 2 {
		t.Errorf("ActorStats called %d times, want 2 (only for the admin)", n)
	}
}

// TestAdminActorsEmpty: no actors is empty lists, never null.
func TestAdminActorsEmpty(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, func(_ *Config, d *Deps) {
		d.Actors = &actorsFake{ActorStatsFunc: func(context.Context) (engine.ActorStats, error) {
			return engine.ActorStats{}, nil
		}}
	})
	status, _, body := f.do("GET", "/admin/actors", nil, f.adminAuth...)
	if status != 200 || string(body) != `{"kinds":[],"hottest_skus":[]}` {
		t.Errorf("GET /admin/actors: %d %s", status, body)
	}
}

// TestAdminActorsOff: without Deps.Actors the route is not_found, but only
// for an admin; a failing port is its error's problem.
func TestAdminActorsOff(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	status, hdr, body := f.do("GET", "/admin/actors", nil, f.adminAuth...)
	wantProblem(t, status, hdr, body, 404, "not_found")
	status, hdr, body = f.do("GET", "/admin/actors", nil, f.buyerAuth...)
	wantProblem(t, status, hdr, body, 403, "forbidden")
	status, hdr, body = f.do("GET", "/admin/actors", nil)
	wantProblem(t, status, hdr, body, 401, "unauthorized")

	g := newOrderFixture(t, func(_ *Config, d *Deps) {
		d.Actors = &actorsFake{ActorStatsFunc: func(context.Context) (engine.ActorStats, error) {
			return engine.ActorStats{}, fmt.Errorf("ask the registry: %w", engine.ErrUnavailable)
		}}
	})
	status, hdr, body = g.do("GET", "/admin/actors", nil, g.adminAuth...)
	wantProblem(t, status, hdr, body, 503, "unavailable")
}
