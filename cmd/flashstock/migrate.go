package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/flashstock/flashstock/persist"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "migrate", "migrate [flags]")
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	_, applied, done, err := openMigratedStore(ctx, e, &c, func(msg string) { fmt.Fprintln(e.stderr, msg) })
	if err != nil {
		return err
	}
	defer done()
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database schema already up to date")
	}
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	return nil
}

// openMigratedStore opens a small pool on the configured database (in dev
// with no URL, the local one, started or reused) and applies pending
// migrations. done closes the pool and stops what was started.
func openMigratedStore(ctx context.Context, e env, c *config, log func(string)) (store *persist.Store, applied []string, done func(), err error) {
	ls, _, err := useLocalServices(ctx, c, e.stderr, false)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err = persist.Open(ctx, persist.Config{DatabaseURL: c.DatabaseURL, MaxConns: 2})
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("database: %w", err), ls.stop())
	}
	done = func() {
		store.Close()
		_ = ls.stop()
	}
	if applied, err = persist.Migrate(ctx, store, log); err != nil {
		done()
		return nil, nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return store, applied, done, nil
}
