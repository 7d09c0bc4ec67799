package smtpmail

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// dialer opens the connections of one Send and ties them to its context:
// go-mail honours a context only while dialing, so the dialer closes the
// connection when the Send's context ends, which fails whatever command is
// waiting. It also does the TLS of smtps itself (go-mail does it only with
// its own dialer).
type dialer struct {
	ctx  context.Context // the Send's; ending it closes the connections
	addr string          // host:port, dialed whatever go-mail asks for
	tls  *tls.Config     // non-nil: TLS from the first byte

	mu    sync.Mutex // guards conns and stops
	conns []net.Conn
	stops []func() bool
}

// dial is a go-mail DialContextFunc. ctx bounds the dial alone.
func (d *dialer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, raw)
	d.stops = append(d.stops, context.AfterFunc(d.ctx, func() { _ = raw.Close() }))
	d.mu.Unlock()
	if d.tls == nil {
		return raw, nil
	}
	tc := tls.Client(raw, d.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err // close closes raw
	}
	return tc, nil
}

// close closes every connection, including those go-mail leaves open when
// a dial step after connecting fails.
func (d *dialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, stop := range d.stops {
		stop()
	}
	for _, c := range d.conns {
		_ = c.Close()
	}
}
