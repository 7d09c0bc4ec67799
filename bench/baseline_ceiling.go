package bench

import "github.com/valyala/fasthttp"

// ceilingBody is the ceiling baseline's whole answer.
var ceilingBody = []byte(`{"status":"ok"}`)

// serveCeiling answers every request 200 with a small fixed JSON body and
// does nothing else: the most a fasthttp server can do on the machine,
// the bench's upper bound.
func serveCeiling(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyRaw(ceilingBody)
}
