package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// setting is one configurable value, declared once in (*config).settings.
// Everything else derives from that entry: the flag --name, the
// environment variable FLASHSTOCK_NAME ("-" → "_"), the line of
// `flashstock serve --help`, the setting's own check in validate, and its
// field of the effective-configuration log line (name with "_", or key
// nested in the object group), masked when it is a secret.
type setting struct {
	name string  // flag name
	def  string  // built-in default, as it would be typed
	help string  // `--help` text; the variable's name is appended
	v    binding // the config field it sets
	// group and key nest the log field: "group": {"key": …}.
	group, key string
}

// env is the setting's environment variable.
func (s setting) env() string {
	return "FLASHSTOCK_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

// logKey is the setting's field in the effective-configuration log line
// (within its group, if it has one).
func (s setting) logKey() string {
	if s.key != "" {
		return s.key
	}
	return strings.ReplaceAll(s.name, "-", "_")
}

// binding is a setting's typed config field.
type binding interface {
	set(raw string) error // parses raw into the field
	check() error         // the setting's own validation of the field's value
	logTo(e *zerolog.Event, key string) *zerolog.Event
	secret() bool // logged masked
}

// field binds a config field of type T. Build one with str, integer,
// boolean, dur or rate; must adds its check, masked makes it a secret.
type field[T any] struct {
	get   func() T
	put   func(T)
	parse func(string) (T, error)
	write func(e *zerolog.Event, key string, v T) *zerolog.Event
	valid func(T) error  // nil: every value that parses
	mask  func(T) string // nil: not a secret
}

// must sets the setting's own check of its value.
func (f *field[T]) must(valid func(T) error) *field[T] { f.valid = valid; return f }

// masked makes the setting a secret: the log shows mask(value) instead.
func (f *field[T]) masked(mask func(T) string) *field[T] { f.mask = mask; return f }

func (f *field[T]) set(raw string) error {
	v, err := f.parse(raw)
	if err != nil {
		return err
	}
	f.put(v)
	return nil
}

func (f *field[T]) check() error {
	if f.valid == nil {
		return nil
	}
	return f.valid(f.get())
}

func (f *field[T]) logTo(e *zerolog.Event, key string) *zerolog.Event {
	if f.mask != nil {
		return e.Str(key, f.mask(f.get()))
	}
	return f.write(e, key, f.get())
}

func (f *field[T]) secret() bool { return f.mask != nil }

func at[T any](p *T, parse func(string) (T, error), write func(*zerolog.Event, string, T) *zerolog.Event) *field[T] {
	return &field[T]{get: func() T { return *p }, put: func(v T) { *p = v }, parse: parse, write: write}
}

func str(p *string) *field[string] {
	return at(p, func(s string) (string, error) { return s, nil }, (*zerolog.Event).Str)
}

func integer(p *int) *field[int] { return at(p, strconv.Atoi, (*zerolog.Event).Int) }

func boolean(p *bool) *field[bool] { return at(p, strconv.ParseBool, (*zerolog.Event).Bool) }

func dur(p *time.Duration) *field[time.Duration] {
	return at(p, time.ParseDuration, logString[time.Duration])
}

func rate(p *engine.Rate) *field[engine.Rate] { return at(p, engine.ParseRate, logString[engine.Rate]) }

// schedule binds the schedule of one task, an entry of c.Schedules.
func schedule(c *config, task string) *field[engine.Schedule] {
	return &field[engine.Schedule]{
		get: func() engine.Schedule { return c.Schedules[task] },
		put: func(s engine.Schedule) {
			if c.Schedules == nil {
				c.Schedules = map[string]engine.Schedule{}
			}
			c.Schedules[task] = s
		},
		parse: engine.ParseSchedule, write: logString[engine.Schedule]}
}

func logString[T fmt.Stringer](e *zerolog.Event, key string, v T) *zerolog.Event {
	return e.Str(key, v.String())
}

// bindConfig defines a flag for every setting on fs, defaulting to the
// environment variable's value (else the built-in default); a secret's
// flag defaults to the built-in default, so that usage never prints the
// secret, and takes the variable's value when the flag is not given.
// After fs is parsed, the returned function converts the values into a
// config, reporting every value that does not parse. (No env-binding
// library such as peterbourgon/ff: this loop is all it would save, and ff
// reads the process environment, where tests run commands in-process with
// their own.)
func bindConfig(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	c := new(config)
	settings := c.settings()
	values := make([]*string, len(settings))
	for i, s := range settings {
		v := s.def
		if e := getenv(s.env()); e != "" && !s.v.secret() {
			v = e
		}
		values[i] = fs.String(s.name, v, s.help+" ($"+s.env()+")")
	}
	return func() (config, error) {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		var errs []error
		for i, s := range settings {
			raw := *values[i]
			if e := getenv(s.env()); e != "" && s.v.secret() && !given[s.name] {
				raw = e
			}
			if err := s.v.set(raw); err != nil {
				shown := fmt.Sprintf("%q", raw)
				if s.v.secret() {
					shown = "(secret)"
				}
				errs = append(errs, fmt.Errorf("%s / --%s: %s: %w", s.env(), s.name, shown, err))
			}
		}
		return *c, errors.Join(errs...)
	}
}

// The settings' own checks.

func between(lo, hi int) func(int) error {
	return func(n int) error {
		if n < lo || n > hi {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		return nil
	}
}

func atLeast(lo int) func(int) error {
	return func(n int) error {
		if n < lo {
			return fmt.Errorf("must be at least %d", lo)
		}
		return nil
	}
}

func positive(d time.Duration) error {
	if d <= 0 {
		return errors.New("must be positive")
	}
	return nil
}

// optional accepts the empty string, else what valid accepts.
func optional(valid func(string) error) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return valid(s)
	}
}

func hostPort(s string) error {
	_, _, err := net.SplitHostPort(s)
	return err
}

func loopbackAddr(s string) error {
	if host, _, err := net.SplitHostPort(s); err != nil || !net.ParseIP(host).IsLoopback() {
		return errors.New("must be a loopback host:port (profiles expose internals)")
	}
	return nil
}

func envName(s string) error {
	if s != envDev && s != envProd {
		return fmt.Errorf("must be dev or prod, not %q", s)
	}
	return nil
}

func logLevel(s string) error {
	if _, err := zerolog.ParseLevel(s); err != nil || s == "" {
		return fmt.Errorf("unknown level %q", s)
	}
	return nil
}

// serviceURL is a PostgreSQL or Redis URL.
func serviceURL(s string) error {
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("not a URL with a scheme and host")
	}
	return nil
}

func httpURL(s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL with a host")
	}
	return nil
}

func smtpURL(s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
		return errors.New("want smtp://[user:pass@]host[:port] or smtps://…")
	}
	return nil
}

func mailAddress(s string) error {
	_, err := mail.ParseAddress(s)
	return err
}

func nodeID(s string) error {
	if len(s) > nodeIDBytesMax || engine.CheckLine(s, nodeIDBytesMax) != "" {
		return fmt.Errorf("at most %d bytes of printable text", nodeIDBytesMax)
	}
	return nil
}

// redact masks the password of a URL; an empty URL reads as "(local dev)".
func redact(raw string) string {
	if raw == "" {
		return "(local dev)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// durationBetween checks a duration's bounds.
func durationBetween(lo, hi time.Duration) func(time.Duration) error {
	return func(d time.Duration) error {
		if d < lo || d > hi {
			return fmt.Errorf("must be between %v and %v", lo, hi)
		}
		return nil
	}
}

// urlList checks a comma-separated list of service URLs.
func urlList(s string) error {
	for _, u := range strings.Split(s, ",") {
		if err := serviceURL(strings.TrimSpace(u)); err != nil {
			return err
		}
	}
	return nil
}

// redactList redacts every URL of a comma-separated list.
func redactList(s string) string {
	if s == "" {
		return "(the redis url)"
	}
	parts := strings.Split(s, ",")
	for i, u := range parts {
		parts[i] = redact(strings.TrimSpace(u))
	}
	return strings.Join(parts, ",")
}
