package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/flashstock/flashstock/engine"
)

const userUsage = "user create --username U [--email E] [--admin] --password-stdin [config flags]"

func cmdUser(ctx context.Context, e env, args []string) error {
	if _, err := subcommand(e, args, userUsage, "create"); err != nil {
		return err
	}
	fs := newFlagSet(e, "user create", userUsage)
	username := fs.String("username", "", "account name (1-150 letters, digits and @.+-_)")
	email := fs.String("email", "", "e-mail address (optional)")
	admin := fs.Bool("admin", false, "make the account an administrator")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	c, err := parseConfig(e, fs, args[1:])
	if err != nil {
		return err
	}
	if !*fromStdin || *username == "" {
		return fmt.Errorf("%w: --username and --password-stdin are required", errUsage)
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	store, _, done, err := openMigratedStore(ctx, e, &c, func(string) {})
	if err != nil {
		return err
	}
	defer done()
	r := engine.Registration{Username: *username, Email: *email, Password: password, IsAdmin: *admin}
	if err := createUser(ctx, store, r, c.BcryptCost); err != nil {
		return fmt.Errorf("create user %q: %w", *username, err)
	}
	role := "user"
	if *admin {
		role = "admin"
	}
	fmt.Fprintf(e.stdout, "created %s %q\n", role, *username)
	return nil
}

// readPassword reads the first line of standard input, without its line end.
func readPassword(e env) (string, error) {
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("%w: no password on standard input", errUsage)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
