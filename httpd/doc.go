// Package httpd is flashstock's HTTP transport: routing (fasthttp +
// fasthttp/router), JSON decoding and encoding, JWT authentication,
// problem+json errors, request ids and request logging, health checks, and
// the OpenAPI document with its rendered page.
//
// httpd is thin: authenticate, decode, validate into an engine command, make
// one call through a small interface declared here (ports.go), encode. It
// holds no business rules and no SQL. It imports engine and never persist,
// actors, bench or cmd; no fasthttp type leaves this package.
package httpd
