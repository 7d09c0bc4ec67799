package smtpmail

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of Config fields.
const (
	// TimeoutDefault bounds one Send when Config.Timeout is zero.
	TimeoutDefault = 10 * time.Second
	// timeoutMax bounds Config.Timeout: a mail that takes longer is stuck.
	timeoutMax = 5 * time.Minute
	// PortDefault and PortTLSDefault are the ports of smtp:// and smtps://
	// URLs without one (the IANA ports of the two schemes).
	PortDefault    = 25
	PortTLSDefault = 465
	// heloBytesMax bounds Config.HeloName (a domain name).
	heloBytesMax = 255
)

// Config configures a Sender.
type Config struct {
	// URL names the SMTP server, its TLS mode and credentials; see the
	// package documentation. It holds a secret: log RedactedURL instead.
	URL string
	// From is the sender, an RFC 5322 address with or without a display
	// name: "flashstock <noreply@example.com>". It is both the From header
	// and the envelope sender; its domain ends every Message-ID.
	From string
	// Timeout bounds one whole Send: connecting, TLS, AUTH and the
	// transfer. Zero means TimeoutDefault.
	Timeout time.Duration
	// HeloName is the name sent with EHLO; empty means the machine's host
	// name.
	HeloName string
	// TLSConfig, if set, is the base of the TLS client configuration, for
	// a private CA (RootCAs) or tests; nil means the system roots. The
	// server name is the URL's host unless TLSConfig sets one.
	TLSConfig *tls.Config
}

// tlsMode is how a connection is encrypted.
type tlsMode int

const (
	startTLSOpportunistic tlsMode = iota // STARTTLS if the server offers it
	startTLSRequired                     // STARTTLS or fail
	startTLSOff                          // never encrypt
	implicitTLS                          // TLS from the first byte (smtps)
)

// endpoint is the parsed URL.
type endpoint struct {
	host       string // without brackets for IPv6
	port       int
	mode       tlsMode
	user, pass string // empty user: no AUTH
}

// addr returns host:port to dial.
func (e endpoint) addr() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// loopback reports whether the host is this machine, so that credentials
// may cross an unencrypted connection to it.
func (e endpoint) loopback() bool {
	if e.host == "localhost" {
		return true
	}
	ip := net.ParseIP(e.host)
	return ip != nil && ip.IsLoopback()
}

// Validate reports every unusable field. Its messages never contain the
// password of the URL.
func (c Config) Validate() error {
	_, err := c.parse()
	return err
}

// RedactedURL returns URL with the password masked, for logs.
func (c Config) RedactedURL() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		if strings.Contains(c.URL, "@") {
			return "(malformed URL with user information)"
		}
		return c.URL
	}
	return u.Redacted()
}

// settings is a validated Config.
type settings struct {
	ep      endpoint
	from    *mail.Address
	domain  string // of from, for Message-IDs
	timeout time.Duration
	helo    string
	tlsBase *tls.Config
}

// parse validates c and applies the defaults.
func (c Config) parse() (settings, error) {
	var errs []error
	ep, err := parseURL(c.URL)
	if err != nil {
		errs = append(errs, err)
	}
	from, domain, err := parseFrom(c.From)
	if err != nil {
		errs = append(errs, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = TimeoutDefault
	}
	if timeout < 0 || timeout > timeoutMax {
		errs = append(errs, fmt.Errorf("timeout: must be between 0 and %v", timeoutMax))
	}
	if c.HeloName != "" && (len(c.HeloName) > heloBytesMax || strings.ContainsFunc(c.HeloName, notHeloRune)) {
		errs = append(errs, fmt.Errorf("helo name: must be a domain name of at most %d bytes", heloBytesMax))
	}
	if err := errors.Join(errs...); err != nil {
		return settings{}, fmt.Errorf("smtpmail config: %w", err)
	}
	return settings{ep: ep, from: from, domain: domain, timeout: timeout, helo: c.HeloName, tlsBase: c.TLSConfig}, nil
}

// notHeloRune reports a character that cannot appear in an EHLO argument.
func notHeloRune(r rune) bool { return r <= ' ' || r >= 0x7f }

// parseFrom parses the From address and returns its domain.
func parseFrom(from string) (*mail.Address, string, error) {
	if from == "" {
		return nil, "", errors.New("from: is required")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, "", fmt.Errorf("from: %q is not an RFC 5322 address: %w", from, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 || at == len(a.Address)-1 {
		return nil, "", fmt.Errorf("from: %q has no domain", from)
	}
	return a, a.Address[at+1:], nil
}
