package httpd

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t)
	status, hdr, body := ts.do("GET", "/openapi.json", nil)
	if status != fasthttp.StatusOK || headerValue(hdr, "Content-Type") != "application/json" ||
		!bytes.Equal(body, openAPIDocument) || !json.Valid(body) {
		t.Fatalf("GET /openapi.json: status %d, Content-Type %q, %d bytes", status, headerValue(hdr, "Content-Type"), len(body))
	}
	if status, _, _ := ts.do("GET", "/openapi.json", nil, "If-None-Match", headerValue(hdr, "ETag")); status != fasthttp.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", status)
	}
}

// scriptSrc finds the page's script URL.
var scriptSrc = regexp.MustCompile(`<script type="module" src="([^"]+)"`)

// TestDocsPage checks /docs for the binary as built: with the Redoc bundle
// (after make assets) the page loads it from this server; without it the
// page says so and the asset route is not_found.
func TestDocsPage(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/docs", "/docs/"} {
		status, hdr, body := ts.do("GET", path, nil)
		if status != fasthttp.StatusOK || !strings.HasPrefix(headerValue(hdr, "Content-Type"), "text/html") {
			t.Fatalf("GET %s: status %d, Content-Type %q", path, status, headerValue(hdr, "Content-Type"))
		}
		if !bytes.Equal(body, docsPage) {
			t.Errorf("GET %s: body is not the docs page", path)
		}
	}
	if redocBundle == nil {
		status, hdr, body := ts.do("GET", redocAssetPath, nil)
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
		return
	}
	m := scriptSrc.FindSubmatch(docsPage)
	if m == nil || !strings.HasPrefix(string(m[1]), redocAssetPath+"?v=") {
		t.Fatalf("page does not load the bundle from this server: %s", docsPage)
	}
	status, hdr, body := ts.do("GET", string(m[1]), nil)
	if status != fasthttp.StatusOK || !strings.HasPrefix(headerValue(hdr, "Content-Type"), "application/javascript") ||
		headerValue(hdr, "Cache-Control") != assetCacheControl || !bytes.Equal(body, redocBundle) {
		t.Errorf("GET %s: status %d, Content-Type %q, Cache-Control %q, %d bytes", m[1], status,
			headerValue(hdr, "Content-Type"), headerValue(hdr, "Cache-Control"), len(body))
	}
}

func TestDocsPageVariants(t *testing.T) {
	without := string(renderDocsPage(nil))
	for _, want := range []string{"make assets", `href="/openapi.json"`} {
		if !strings.Contains(without, want) {
			t.Errorf("page without the bundle lacks %q:\n%s", want, without)
		}
	}
	with := string(renderDocsPage([]byte("bundle")))
	for _, want := range []string{`spec-url="/openapi.json"`, `disable-telemetry="true"`, `src="` + redocAssetPath + "?v="} {
		if !strings.Contains(with, want) {
			t.Errorf("page with the bundle lacks %q:\n%s", want, with)
		}
	}
	for _, page := range []string{without, with} {
		if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
			t.Errorf("page refers to another host (must work offline):\n%s", page)
		}
	}
}
