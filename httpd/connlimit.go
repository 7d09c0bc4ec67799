package httpd

import (
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// refuseWriteTimeout bounds the write of a refusal to a connection over
// Config.ConcurrencyMax: it happens on the accept loop.
const refuseWriteTimeout = time.Second

// connLimitListener lets at most cap(slots) connections be open at once. A
// connection over the limit is handed to refuse instead of being returned.
// fasthttp has such a limit too (Server.Concurrency), but answers it with
// plain text and no X-Request-ID; New sets it above this one.
type connLimitListener struct {
	net.Listener
	slots  chan struct{} // one element per open connection; shared by every listener of a Server
	refuse func(net.Conn)
}

// Accept returns the next connection there is a slot for.
func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, slots: l.slots}, nil
		default:
			l.refuse(c)
		}
	}
}

// limitedConn gives its slot back when it is first closed.
type limitedConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}

// refuseConn answers a connection over Config.ConcurrencyMax with 503
// overloaded, without reading its request, and closes it.
func (s *Server) refuseConn(c net.Conn) {
	defer c.Close()
	var ctx fasthttp.RequestCtx
	setNewRequestID(&ctx)
	id := string(ctx.Response.Header.Peek(headerRequestID))
	writeProblem(&ctx, engine.ErrOverloaded, id)
	ctx.Response.SetConnectionClose()
	ctx.Response.Header.SetServer(serverName)
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, _ = ctx.Response.WriteTo(c) // a client gone already needs no answer
	s.reqLog.Info().Str("route", routeTransport).Str("method", methodOther).Int("status", fasthttp.StatusServiceUnavailable).
		Str("request_id", id).Str("refusal", "connection limit").Msg("request refused by the transport")
	s.obs.Request(routeTransport, methodOther, fasthttp.StatusServiceUnavailable, 0)
}
