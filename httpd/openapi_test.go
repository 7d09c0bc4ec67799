package httpd

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The OpenAPI document must describe exactly the routes the server
// registers: a new route without documentation (or documentation of a route
// that is gone) fails here, naming each one.

var (
	openAPIVersion = regexp.MustCompile(`^3\.1\.\d+$`)
	routeParam     = regexp.MustCompile(`\{([^}:?]+)[^}]*\}`) // {id}, {id?}, {id:regex} → {id}
	openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
)

// normalizeRoute maps a router or OpenAPI path to one key: trailing-slash
// twins are one route and parameters are compared by name.
func normalizeRoute(path string) string {
	path = routeParam.ReplaceAllString(path, "{$1}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return path
}

// loadOpenAPI parses the embedded document generically.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ts := newTestServer(t)
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if slices.Contains(openAPIMethods, method) {
				documented[strings.ToUpper(method)+" "+normalizeRoute(path)] = true
			}
		}
	}
	served := map[string]bool{}
	for method, paths := range ts.srv.router.List() {
		if method == "HEAD" { // every GET route answers HEAD; OpenAPI documents the GET
			continue
		}
		for _, p := range paths {
			served[method+" "+normalizeRoute(p)] = true
		}
	}
	if len(served) == 0 {
		t.Fatal("the router lists no routes")
	}
	var missing, stale []string
	for route := range served {
		if !documented[route] {
			missing = append(missing, route)
		}
	}
	for route := range documented {
		if !served[route] {
			stale = append(stale, route)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from httpd/openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("httpd/openapi.json documents routes the server does not register:\n  %s", strings.Join(stale, "\n  "))
	}
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !openAPIVersion.MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs title and version: %v", info)
	}
	checkRefs(t, doc, doc, "#")
	opIDs := map[string]string{}
	for path, rawItem := range doc["paths"].(map[string]any) {
		item := rawItem.(map[string]any)
		for _, method := range openAPIMethods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if prev, dup := opIDs[id]; id == "" || dup {
				t.Errorf("%s: operationId %q missing or also used by %s", where, id, prev)
			}
			opIDs[id] = where
			if responses, _ := op["responses"].(map[string]any); len(responses) == 0 {
				t.Errorf("%s: no responses", where)
			}
			checkPathParams(t, doc, where, path, item, op)
		}
	}
	if _, ok := lookupRef(doc, "#/components/schemas/Problem"); !ok {
		t.Error("no Problem schema")
	}
}

// checkPathParams wants every {name} in path declared as a required path
// parameter on the operation or its path item.
func checkPathParams(t *testing.T, doc map[string]any, where, path string, item, op map[string]any) {
	t.Helper()
	declared := map[string]bool{}
	for _, list := range []any{item["parameters"], op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				resolved, _ := lookupRef(doc, ref)
				pm, _ = resolved.(map[string]any)
			}
			if pm["in"] == "path" && pm["required"] == true {
				declared[pm["name"].(string)] = true
			}
		}
	}
	for _, m := range routeParam.FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter %q is not declared", where, m[1])
		}
	}
}

// checkRefs fails for every local $ref under node that does not resolve.
func checkRefs(t *testing.T, doc map[string]any, node any, at string) {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if ref, ok := v.(string); k == "$ref" && ok {
				if _, found := lookupRef(doc, ref); !found {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
				continue
			}
			checkRefs(t, doc, v, at+"/"+k)
		}
	case []any:
		for _, v := range n {
			checkRefs(t, doc, v, at+"/[]")
		}
	}
}

// lookupRef resolves a local JSON pointer ("#/a/b") in doc.
func lookupRef(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var node any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[part]; !ok {
			return nil, false
		}
	}
	return node, true
}

func TestNormalizeRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "/products/": "/products", "/products": "/products", "/products/{id}/": "/products/{id}",
		"/products/{id:[0-9a-f-]+}/restock": "/products/{id}/restock", "/orders/{id?}": "/orders/{id}",
	} {
		if got := normalizeRoute(in); got != want {
			t.Errorf("normalizeRoute(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenAPIListsEveryProblemCode: the Problem schema's code enum names
// every code of the error table, and nothing else.
func TestOpenAPIListsEveryProblemCode(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	props, _ := schemas["Problem"].(map[string]any)["properties"].(map[string]any)
	var documented []string
	for _, c := range props["code"].(map[string]any)["enum"].([]any) {
		documented = append(documented, c.(string))
	}
	codes := []string{problemInternal.code}
	for _, k := range problemKinds {
		if !slices.Contains(codes, k.code) {
			codes = append(codes, k.code)
		}
	}
	slices.Sort(codes)
	slices.Sort(documented)
	if !slices.Equal(codes, documented) {
		t.Errorf("openapi.json Problem.code enum = %v, want the error table's codes %v", documented, codes)
	}
}
