package httpd

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// What the transport does with what fasthttp could not hand to the router:
// requests it could not read, and its own log messages. fasthttp's errors
// quote the bytes they failed on (an Authorization header included), so
// nothing here ever writes one out: each is reduced to a refusal, and only
// the refusal's fixed class reaches an answer or a log line.

// refusal is why fasthttp could not read a request, and what is done about
// it.
type refusal struct {
	class string // for log lines: a constant, never request bytes
	// answer is the problem sent back; nil = close the connection without
	// writing anything.
	answer error
	// headersRead: fasthttp had parsed the request line and headers, so the
	// method and X-Request-ID are the client's.
	headersRead bool
}

var (
	refusalBadRequest     = refusal{class: "bad request", answer: errBadRequest}
	refusalHeaderTooLarge = refusal{class: "header too large", answer: errHeaderTooLarge}
	refusalBodyTooLarge   = refusal{class: "body too large", answer: errPayloadTooLarge, headersRead: true}
	// A connection that sent nothing, or not all of a request, within the
	// read or idle timeout is closed without an answer, as one the client
	// broke or the server closed while shutting down.
	refusalTimeout  = refusal{class: "timeout"}
	refusalConnLost = refusal{class: "connection lost"}
)

// refusalOf classifies an error fasthttp met while reading a request.
// Anything it does not recognise is unparseable HTTP.
func refusalOf(err error) refusal {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small): // the request line and headers overflow the read buffer
		return refusalHeaderTooLarge
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return refusalBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return refusalTimeout
	case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return refusalConnLost
	}
	return refusalBadRequest
}

// transportError is fasthttp's ErrorHandler. It answers a request fasthttp
// could not read with a problem whose detail is the fixed sentence of its
// code, logs the refusal's class (sampled, like request lines below 500)
// and observes it under the route "transport"; a timeout or a broken
// connection gets no answer and is not a request.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	r := refusalOf(err)
	if r.answer == nil {
		// fasthttp writes whatever this handler leaves in ctx (an empty 200
		// when it sets nothing): closing the connection first makes that
		// write fail, so the client sees the close and nothing else.
		_ = ctx.Conn().Close()
		s.log.Debug().Str("refusal", r.class).Msg("connection closed without an answer")
		return
	}
	method := methodOther
	if r.headersRead {
		method = methodLabel(ctx.Method())
		setRequestID(ctx)
	} else { // whatever the header holds was half-parsed: not an id to echo
		setNewRequestID(ctx)
	}
	id := string(ctx.Response.Header.Peek(headerRequestID))
	writeProblem(ctx, r.answer, id)
	status := ctx.Response.StatusCode()
	s.reqLog.Info().Str("route", routeTransport).Str("method", method).Int("status", status).
		Str("request_id", id).Str("refusal", r.class).Msg("request refused by the transport")
	// fasthttp keeps no start time for a request it could not read: took 0.
	s.obs.Request(routeTransport, method, status, 0)
}

// setRequestID puts the request's id on the response: the client's
// X-Request-ID when it is sane, else a new one. route calls it first, so
// that every answer carries it, whoever writes it.
func setRequestID(ctx *fasthttp.RequestCtx) {
	if id := ctx.Request.Header.Peek(headerRequestID); len(id) > 0 && len(id) <= requestIDBytesMax && printable(id) {
		ctx.Response.Header.SetBytesV(headerRequestID, id)
		return
	}
	setNewRequestID(ctx)
}

// setNewRequestID puts a new random id on the response.
func setNewRequestID(ctx *fasthttp.RequestCtx) {
	var id [requestIDHexBytes]byte
	ctx.Response.Header.SetBytesV(headerRequestID, appendNewRequestID(id[:0]))
}

// requestIDHexBytes is the length of a generated request id: 128 random
// bits in hex.
const requestIDHexBytes = 32

// appendNewRequestID appends a new request id. An id names a request in
// logs and answers and is no secret, so it comes from math/rand/v2's
// global generator (ChaCha8 per thread, no system call, safe for
// concurrent use) rather than crypto/rand, whose getrandom call per
// request was 3% of the server's CPU; 128 bits keep ids unique in practice.
func appendNewRequestID(b []byte) []byte {
	var raw [requestIDHexBytes / 2]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	return hex.AppendEncode(b, raw[:])
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// fasthttpServeConnError is the start of the message fasthttp logs when a
// connection ends with an error; transportError has already answered and
// logged the refusal behind it, if there was one.
const fasthttpServeConnError = "error when serving connection"

// fasthttpLog is fasthttp's Logger: it writes fasthttp's own messages as
// JSON lines through zerolog instead of plain text on stderr. Their
// arguments are withheld, since the errors among them quote request bytes:
// a line carries the message's template, a constant of fasthttp's source,
// and the refusal class of a connection's error.
type fasthttpLog struct{ log zerolog.Logger }

// Printf implements fasthttp.Logger.
func (l fasthttpLog) Printf(format string, args ...any) {
	if !strings.HasPrefix(format, fasthttpServeConnError) { // accept failures, the connection limit
		l.log.Warn().Str("component", "fasthttp").Msg(format)
		return
	}
	ev := l.log.Debug().Str("component", "fasthttp")
	for _, a := range args {
		if err, ok := a.(error); ok {
			ev = ev.Str("refusal", refusalOf(err).class)
		}
	}
	ev.Msg(format)
}
