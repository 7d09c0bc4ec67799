package main

import (
	"context"
	"fmt"

	"github.com/flashstock/flashstock/persist"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "migrate", "migrate [flags]")
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	ls, _, err := useLocalServices(ctx, &c, e.stderr, false)
	if err != nil {
		return err
	}
	defer ls.stop()
	store, err := persist.Open(ctx, persist.Config{DatabaseURL: c.DatabaseURL, MaxConns: 2})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer store.Close()
	applied, err := persist.Migrate(ctx, store, func(msg string) { fmt.Fprintln(e.stderr, msg) })
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database schema already up to date")
	}
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	return nil
}
