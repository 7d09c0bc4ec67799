package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// env is what a command sees of its process: arguments, environment,
// standard streams. Tests build one to run commands in-process.
type env struct {
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, when set, receives the HTTP address once serve listens.
	ready func(addr string)
}

func main() {
	// Process-wide zerolog setting: set once here, before any goroutine logs.
	zerolog.TimeFieldFormat = time.RFC3339Nano
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{args: os.Args[1:], getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(ctx, e))
}

const usage = `flashstock — order-management and inventory engine for flash sales

Usage:
  flashstock serve [flags]          run the HTTP API (applies pending migrations first)
  flashstock migrate [flags]        apply pending database migrations and exit
  flashstock user create --username U [--email E] [--admin] --password-stdin
                                    create an account (password read from standard input)
  flashstock webhook send --reference R --status success|failed --amount N [--url U] [--event-id E]
                                    sign and send one payment webhook event
  flashstock jobs list | jobs run NAME
                                    list the scheduled tasks, or run one now
  flashstock dlq list | dlq retry --id X | dlq retry --all
                                    inspect and retry dead letters
  flashstock bench [flags]          run the bench suite: scenarios, audit, baselines, report
  flashstock version                print version information

Every command accepts --help. Configuration comes from FLASHSTOCK_* environment
variables, overridden by flags; see "flashstock serve --help".
`

// run executes one command and returns the process exit code: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, e env) int {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := e.args[0], e.args[1:]; cmd {
	case "serve":
		err = cmdServe(ctx, e, rest)
	case "migrate":
		err = cmdMigrate(ctx, e, rest)
	case "user":
		err = cmdUser(ctx, e, rest)
	case "webhook":
		err = cmdWebhook(ctx, e, rest)
	case "jobs":
		err = cmdJobs(ctx, e, rest)
	case "dlq":
		err = cmdDLQ(ctx, e, rest)
	case "bench":
		err = cmdBench(ctx, e, rest)
	case "bench-baseline": // internal: a baseline server started by bench
		err = cmdBenchBaseline(ctx, e, rest)
	case "version", "--version":
		err = cmdVersion(e, rest)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "flashstock: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "flashstock: %v\n", err)
		return 2
	}
	fmt.Fprintf(e.stderr, "flashstock: %v\n", err)
	return 1
}

var errUsage = errors.New("usage")

// newFlagSet returns a flag set that prints its usage to e.stderr (or
// stdout for --help) and reports errors instead of exiting.
func newFlagSet(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: flashstock %s\n\nFlags (each also read from the environment variable named):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// subcommand returns args[0] when it is one of names. --help (or -h) prints
// usage and is flag.ErrHelp; anything else is a usage error.
func subcommand(e env, args []string, usage string, names ...string) (string, error) {
	switch {
	case len(args) > 0 && slices.Contains(names, args[0]):
		return args[0], nil
	case len(args) > 0 && (args[0] == "--help" || args[0] == "-h"):
		fmt.Fprintf(e.stdout, "Usage: flashstock %s\n", usage)
		return "", flag.ErrHelp
	}
	return "", fmt.Errorf("%w: flashstock %s", errUsage, usage)
}

// parseFlags parses args; --help prints to stdout and returns flag.ErrHelp.
func parseFlags(e env, fs *flag.FlagSet, args []string, parse func([]string) error) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
