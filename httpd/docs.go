package httpd

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// The OpenAPI document and its rendered page, served from the binary so they
// work without internet access. openapi_test.go checks that the document
// covers every registered route.
//
// The page uses Redoc's standalone bundle, which is not committed: `make
// assets` (docs/make-assets.mk) fetches the pinned version into webdocs/
// before the build. A binary built without it still serves /docs, as a page
// that says so and links /openapi.json.

//go:embed openapi.json
var openAPIDocument []byte

//go:embed webdocs
var webdocs embed.FS

const (
	redocAssetFile = "webdocs/redoc.standalone.js"
	redocAssetPath = "/docs/redoc.standalone.js"
	// The bundle's URL carries a version query (its hash), so it can be
	// cached for a year; the page and the document are revalidated.
	assetCacheControl = "public, max-age=31536000, immutable"
	pageCacheControl  = "no-cache"
)

// redocBundle is the embedded bundle, nil when it was not built in.
var redocBundle = loadRedocBundle()

// docsPage is the HTML served at /docs.
var docsPage = renderDocsPage(redocBundle)

func loadRedocBundle() []byte {
	b, err := webdocs.ReadFile(redocAssetFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil { // an embed.FS read fails only on a missing file
		panic(fmt.Sprintf("httpd: read embedded %s: %v", redocAssetFile, err))
	}
	return b
}

func renderDocsPage(bundle []byte) []byte {
	if bundle == nil {
		return []byte(docsHead + `<main>
<h1>flashstock API</h1>
<p>The rendered API page was not built into this binary (run <code>make assets</code>, then rebuild).</p>
<p>The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p>
</main>
</body>
</html>
`)
	}
	sum := sha256.Sum256(bundle)
	// Redoc 3 reads its options from the element's attributes; telemetry
	// is switched off so the page makes no request outside this server.
	return []byte(docsHead + `<redoc spec-url="/openapi.json" disable-telemetry="true"></redoc>
<noscript><p>This page needs JavaScript. The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<script type="module" src="` + redocAssetPath + `?v=` + hex.EncodeToString(sum[:8]) + `"></script>
</body>
</html>
`)
}

const docsHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flashstock API</title>
<style>body { margin: 0; padding: 0; font-family: sans-serif; } main { margin: 2rem; }</style>
</head>
<body>
`

func (s *Server) registerDocs() {
	s.handle("GET", "/openapi.json", s.openAPI)
	s.handle("GET", "/docs", s.docs)
	s.handle("GET", redocAssetPath, s.docsAsset)
}

// openAPI serves the embedded document, with an ETag.
func (s *Server) openAPI(c *call) error {
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, pageCacheControl)
	c.respondTagged(openAPIDocument)
	return nil
}

// docs serves the HTML page.
func (s *Server) docs(c *call) error {
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, pageCacheControl)
	c.ctx.SetStatusCode(fasthttp.StatusOK)
	c.ctx.SetContentType("text/html; charset=utf-8")
	c.ctx.Response.SetBodyRaw(docsPage) // immutable for the life of the process
	return nil
}

// docsAsset serves the Redoc bundle; not_found when it was not built in.
func (s *Server) docsAsset(c *call) error {
	if redocBundle == nil {
		return fmt.Errorf("%s: %w", redocAssetPath, engine.WithDetail(engine.ErrNotFound,
			"the documentation bundle was not built into this binary (make assets)"))
	}
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, assetCacheControl)
	c.ctx.SetStatusCode(fasthttp.StatusOK)
	c.ctx.SetContentType("application/javascript; charset=utf-8")
	c.ctx.Response.SetBodyRaw(redocBundle) // immutable for the life of the process
	return nil
}
