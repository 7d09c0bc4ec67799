package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
	"github.com/flashstock/flashstock/usecase"
)

const jobsUsage = "jobs list | jobs run NAME [--day YYYY-MM-DD] [config flags]\n\n" +
	"Tasks: expire_orders, low_stock, daily_report, archive_webhooks, dead_letter_alert, refresh_gauges, prune_history"

// cmdJobs lists the scheduled tasks or runs one now.
func cmdJobs(ctx context.Context, e env, args []string) error {
	sub, err := subcommand(e, args, jobsUsage, "run", "list")
	if err != nil {
		return err
	}
	if sub == "list" {
		fs := newFlagSet(e, "jobs list", "jobs list [config flags]")
		c, err := parseConfig(e, fs, args[1:])
		if err != nil {
			return err
		}
		printSchedules(e.stdout, c, time.Now())
		return nil
	}
	if len(args) < 2 || args[1] == "" || args[1][0] == '-' {
		return fmt.Errorf("%w: flashstock %s", errUsage, jobsUsage)
	}
	name := args[1]
	fs := newFlagSet(e, "jobs run", "jobs run NAME [--day YYYY-MM-DD] [config flags]")
	day := fs.String("day", "", "daily_report only: the UTC day to report (default yesterday)")
	c, err := parseConfig(e, fs, args[2:])
	if err != nil {
		return err
	}
	if _, ok := usecase.DefaultSchedules[name]; !ok {
		return fmt.Errorf("%w: no task called %q (see flashstock jobs list)", errUsage, name)
	}
	now := time.Now().UTC()
	slot := now
	if *day != "" {
		d, err := time.Parse(time.DateOnly, *day)
		if err != nil || name != usecase.TaskDailyReport {
			return fmt.Errorf("%w: --day YYYY-MM-DD goes with daily_report only", errUsage)
		}
		slot = d.AddDate(0, 0, 1) // the run on the next day reports this one
	}
	cli, err := openCLI(ctx, e, &c)
	if err != nil {
		return err
	}
	defer cli.close()
	key := engine.RunKey(name+":manual", now)
	run, err := cli.runner.Run(ctx, name, key, slot)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s in %s (run key %s): %s\n", name, run.Status,
		run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond), key, orNullJSON(run.Result))
	if name == usecase.TaskExpireOrders {
		fmt.Fprintln(e.stdout, "the stock of expired orders returns through the running server's repair loop (FLASHSTOCK_REPAIR_INTERVAL)")
	}
	return nil
}

// printSchedules lists every task with its schedule and next run.
func printSchedules(w io.Writer, c config, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSCHEDULE\tNEXT RUN (UTC)")
	for _, t := range sortedTasks(c) {
		next := "-"
		if n := t.s.Next(now); !n.IsZero() {
			next = n.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.name, t.s, next)
	}
	_ = tw.Flush()
}

type namedSchedule struct {
	name string
	s    engine.Schedule
}

func sortedTasks(c config) []namedSchedule {
	names := usecase.TaskNames
	out := make([]namedSchedule, len(names))
	for i, n := range names {
		s, ok := c.Schedules[n]
		if !ok {
			s = usecase.DefaultSchedules[n]
		}
		out[i] = namedSchedule{n, s}
	}
	return out
}

func orNullJSON(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}

// cliDeps are what the jobs and dlq commands use: the database, Redis when
// configured (for the job lock), and a task runner without SKU actors.
type cliDeps struct {
	d           *deps
	runner      *actors.TaskRunner
	deadLetters *actors.DeadLetters
	close       func()
}

// openCLI opens the database (the local one in dev, started or reused),
// Redis when configured, and builds the task runner and dead-letter
// service in their synchronous form.
func openCLI(ctx context.Context, e env, c *config) (*cliDeps, error) {
	store, _, done, err := openMigratedStore(ctx, e, c, func(string) {})
	if err != nil {
		return nil, err
	}
	d := &deps{store: store}
	closeAll := func() {
		if d.redis != nil {
			_ = d.redis.Close()
		}
		done()
	}
	if c.RedisURL != "" {
		if d.redis, err = persist.OpenRedis(ctx, persist.RedisConfig{URL: c.RedisURL, Prefix: c.RedisPrefix}); err != nil {
			closeAll()
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	log := newLogger(e.stderr, c.LogLevel).Level(max(zerolog.WarnLevel, mustLevel(c.LogLevel)))
	runner, err := newTaskRunner(*c, d, storeTransitioner{store: store}, &usecase.GaugeBoard{}, nil, log)
	if err == nil {
		var dl *actors.DeadLetters
		if dl, err = actors.NewDeadLetters(store, runner, false, log); err == nil {
			return &cliDeps{d: d, runner: runner, deadLetters: dl, close: closeAll}, nil
		}
	}
	closeAll()
	return nil, errors.Join(err)
}

func mustLevel(s string) zerolog.Level {
	l, err := zerolog.ParseLevel(s)
	if err != nil {
		return zerolog.InfoLevel
	}
	return l
}
