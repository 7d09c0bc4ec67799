package main

import (
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestEverySettingListedAndLogged: each entry of the settings table reaches
// `flashstock serve --help` (flag, variable and help text) and the
// effective-configuration log line (its field, masked when it is a secret),
// and the log line has no field that is not a setting; so a setting cannot
// be forgotten in either, nor a secret logged in clear.
func TestEverySettingListedAndLogged(t *testing.T) {
	t.Parallel()
	settings := new(config).settings()
	_, help, _ := runCmd(t, nil, "", "serve", "--help")
	const leak = "leaked-credential"
	vars := map[string]string{}
	seen := map[string]bool{}
	for _, s := range settings {
		if seen[s.name] {
			t.Errorf("setting %s declared twice", s.name)
		}
		seen[s.name] = true
		if line := s.help + " ($" + s.env() + ")"; !strings.Contains(help, "-"+s.name+" ") || !strings.Contains(help, line) {
			t.Errorf("serve --help does not list --%s with %q", s.name, line)
		}
		if mustBeSecret(s.name) && !s.v.secret() {
			t.Errorf("setting %s can carry a credential but is logged in clear (give it a mask)", s.name)
		}
		if s.v.secret() {
			vars[s.env()] = "redis://user:" + leak + "@db.example:1/0" // a URL's password, or a whole key
		}
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	convert := bindConfig(fs, func(k string) string { return vars[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := convert()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	c.log(newLogger(&logs, "info"))
	if strings.Contains(logs.String(), leak) {
		t.Fatalf("a secret is in the log: %s", logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("log line: %v\n%s", err, logs.String())
	}
	if line["message"] != "effective configuration" {
		t.Fatalf("log line %v, want the effective configuration", line)
	}
	fields := map[string]bool{"level": true, "service": true, "time": true, "message": true}
	for _, s := range settings {
		obj, key := line, s.logKey()
		if s.group != "" {
			fields[s.group] = true
			obj, _ = line[s.group].(map[string]any)
		} else {
			fields[key] = true
		}
		v, ok := obj[key]
		switch {
		case !ok:
			t.Errorf("the log line lacks %s (setting --%s)", key, s.name)
		case s.v.secret() && v == vars[s.env()]:
			t.Errorf("the log line shows the secret %s unmasked", key)
		}
	}
	for k := range line {
		if !fields[k] {
			t.Errorf("the log line has a field %s that is no setting", k)
		}
	}
}

// mustBeSecret: settings whose value is or may embed a credential. A URL
// may carry user:password, except the advertised one (peers see it).
func mustBeSecret(name string) bool {
	for _, w := range []string{"secret", "password", "token", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return strings.Contains(name, "url") && name != "advertise-url"
}

// TestSecretsNotInUsage: a secret given in the environment is never printed
// as a flag's default, neither by --help nor by the usage a mistyped flag
// prints to standard error (a container's log); it still takes effect, and
// its flag still overrides it.
func TestSecretsNotInUsage(t *testing.T) {
	t.Parallel()
	const leak = "leaked-credential"
	vars := map[string]string{}
	for _, s := range new(config).settings() {
		if s.v.secret() {
			vars[s.env()] = "redis://user:" + leak + "@db.example:1/0"
		}
	}
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "--no-such-flag"}, {"migrate", "--no-such-flag"}} {
		_, out, errOut := runCmd(t, vars, "", args...)
		if strings.Contains(out+errOut, leak) {
			t.Errorf("%v prints a secret from the environment:\n%s%s", args, out, errOut)
		}
	}

	load := func(args ...string) config {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		convert := bindConfig(fs, func(k string) string { return vars[k] })
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		c, err := convert()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := load(); c.JWTSecret != vars["FLASHSTOCK_JWT_SECRET"] || c.DatabaseURL != vars["FLASHSTOCK_DATABASE_URL"] {
		t.Errorf("secrets from the environment not applied: jwt %q, database %q", c.JWTSecret, c.DatabaseURL)
	}
	if c := load("--jwt-secret", "from-the-flag"); c.JWTSecret != "from-the-flag" {
		t.Errorf("--jwt-secret does not override the environment: %q", c.JWTSecret)
	}
}
