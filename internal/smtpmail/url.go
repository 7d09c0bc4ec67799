package smtpmail

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// starttlsModes maps the values of the starttls query parameter.
var starttlsModes = map[string]tlsMode{
	"opportunistic": startTLSOpportunistic,
	"required":      startTLSRequired,
	"off":           startTLSOff,
}

// parseURL parses the server URL. Its errors show the URL with the
// password masked and without its query, and quote nothing of a URL that
// does not parse if it has user information (a password with an unescaped
// '/' or '#' would show in the parser's message).
func parseURL(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, errors.New("url: is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return endpoint{}, errors.New("url: malformed (user and password must be percent-encoded)")
		}
		return endpoint{}, fmt.Errorf("url: %w", err) // no user information, so no password to leak
	}
	shown := url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: u.Path} // the query may hold anything
	fail := func(format string, a ...any) (endpoint, error) {
		return endpoint{}, fmt.Errorf("url %s: "+format, append([]any{shown.Redacted()}, a...)...)
	}
	var ep endpoint
	var port int
	switch u.Scheme {
	case "smtp":
		port = PortDefault
	case "smtps":
		ep.mode, port = implicitTLS, PortTLSDefault
	default:
		return fail("unknown scheme %q (want smtp or smtps)", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fail("needs a host: %s://host[:port]", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return fail("must have no path or fragment")
	}
	ep.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail("port must be between 1 and 65535")
		}
		port = n
	}
	ep.port = port
	if u.User != nil {
		pass, ok := u.User.Password()
		if u.User.Username() == "" || !ok || pass == "" {
			return fail("user information needs both a user and a password")
		}
		ep.user, ep.pass = u.User.Username(), pass
	}
	mode, err := parseQuery(u.RawQuery, ep.mode)
	if err != nil {
		return fail("%w", err)
	}
	ep.mode = mode
	return ep, nil
}

// parseQuery reads the one known query parameter, starttls, given the mode
// the scheme implies.
func parseQuery(rawQuery string, mode tlsMode) (tlsMode, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return 0, errors.New("malformed query")
	}
	for key, vals := range q {
		if key != "starttls" {
			return 0, fmt.Errorf("unknown query parameter %q (only starttls is known)", key)
		}
		if len(vals) != 1 {
			return 0, errors.New("starttls: give it once")
		}
		if mode == implicitTLS {
			return 0, errors.New("starttls: does not apply to smtps, which uses TLS from the first byte")
		}
		m, ok := starttlsModes[vals[0]]
		if !ok {
			return 0, fmt.Errorf("starttls: %q is not opportunistic, required or off", vals[0])
		}
		mode = m
	}
	return mode, nil
}
