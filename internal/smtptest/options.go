package smtptest

// Option configures a Server at Start.
type Option func(*options)

// options is the configuration Start builds from the Options.
type options struct {
	addr        string // listen address; "127.0.0.1:0" picks a free port
	user, pass  string // required AUTH PLAIN credentials; "" = no AUTH
	tls         bool   // offer STARTTLS
	implicitTLS bool   // TLS from the first byte (smtps)
}

// WithAddr makes the server listen on addr (host:port) instead of a free
// port on 127.0.0.1.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// WithAuth makes the server advertise AUTH PLAIN, also over plain TCP
// (go-smtp's AllowInsecureAuth), and refuse MAIL FROM with 530 until the
// client authenticated as user with pass.
func WithAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// WithTLS makes the server offer STARTTLS with a self-signed certificate
// for 127.0.0.1, ::1 and localhost; clients trust it through
// Server.ClientTLSConfig.
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte (the
// smtps:// of RFC 8314) with the same self-signed certificate as WithTLS.
func WithImplicitTLS() Option {
	return func(o *options) { o.implicitTLS = true }
}
