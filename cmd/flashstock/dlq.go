package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flashstock/flashstock/engine"
)

const dlqUsage = "dlq list [--status dead|retried|all] [--limit N] [--json] | dlq retry (--id ID | --all) [config flags]"

// Bounds of the dlq command.
const (
	dlqListLimitMax = 1000
	dlqRetryAllMax  = 1000
	dlqErrorCols    = 60
)

// cmdDLQ lists dead letters or retries them.
func cmdDLQ(ctx context.Context, e env, args []string) error {
	sub, err := subcommand(e, args, dlqUsage, "list", "retry")
	if err != nil {
		return err
	}
	if sub == "list" {
		return dlqList(ctx, e, args[1:])
	}
	return dlqRetry(ctx, e, args[1:])
}

func dlqList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "dlq list", "dlq list [--status dead|retried|all] [--limit N] [--json] [config flags]")
	status := fs.String("status", "dead", "dead (waiting for an operator), retried, or all")
	limit := fs.Int("limit", 50, fmt.Sprintf("most dead letters shown, newest first (1..%d)", dlqListLimitMax))
	asJSON := fs.Bool("json", false, "print a JSON array (as GET /admin/dead-letters has them) instead of a table")
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	q := engine.DeadLetterQuery{Limit: *limit}
	switch *status {
	case "dead", "retried":
		q.Status = engine.DeadLetterStatus(*status)
	case "all":
	default:
		return fmt.Errorf("%w: --status must be dead, retried or all", errUsage)
	}
	if *limit < 1 || *limit > dlqListLimitMax {
		return fmt.Errorf("%w: --limit must be between 1 and %d", errUsage, dlqListLimitMax)
	}
	cli, err := openCLI(ctx, e, &c)
	if err != nil {
		return err
	}
	defer cli.close()
	items, err := cli.deadLetters.DeadLetters(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]map[string]any, 0, len(items)) // an empty list is [], never nothing
		for _, d := range items {
			out = append(out, deadLetterJSON(d))
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	printDeadLetters(e.stdout, items)
	return nil
}

func printDeadLetters(w io.Writer, items []engine.DeadLetter) {
	if len(items) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED (UTC)\tSOURCE\tKIND\tATTEMPTS\tSTATUS\tERROR")
	for _, d := range items {
		status := string(d.Status)
		if d.Status == engine.DeadLetterRetried {
			status += " by " + d.RetriedBy
		}
		msg := strings.Join(strings.Fields(d.Error), " ")
		if len(msg) > dlqErrorCols {
			msg = msg[:dlqErrorCols-1] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.CreatedAt.UTC().Format(time.DateTime), d.Source,
			d.Kind, d.Attempts, status, msg)
	}
	_ = tw.Flush()
}

// deadLetterJSON is the JSON form of a dead letter, as the admin API has it.
func deadLetterJSON(d engine.DeadLetter) map[string]any {
	m := map[string]any{"id": d.ID, "source": d.Source, "kind": d.Kind, "ref": d.Ref, "payload": json.RawMessage(d.Payload),
		"error": d.Error, "attempts": d.Attempts, "status": d.Status, "created_at": d.CreatedAt.UTC(),
		"retried_at": nil, "retried_by": d.RetriedBy}
	if !d.RetriedAt.IsZero() {
		m["retried_at"] = d.RetriedAt.UTC()
	}
	return m
}

func dlqRetry(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "dlq retry", "dlq retry (--id ID | --all) [config flags]")
	id := fs.String("id", "", "the dead letter to retry")
	all := fs.Bool("all", false, fmt.Sprintf("retry every retryable dead letter (up to %d per call)", dlqRetryAllMax))
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	if (*id == "") == !*all {
		return fmt.Errorf("%w: give exactly one of --id ID and --all", errUsage)
	}
	var target engine.ID
	if *id != "" {
		if target, err = engine.ParseID(*id); err != nil {
			return fmt.Errorf("%w: --id: not a dead letter id", errUsage)
		}
	}
	cli, err := openCLI(ctx, e, &c)
	if err != nil {
		return err
	}
	defer cli.close()
	by := "cli"
	if u := e.getenv("USER"); u != "" {
		by = "cli:" + u
	}
	if !*all {
		d, err := cli.deadLetters.RetryDeadLetter(ctx, target, by)
		if err != nil {
			return fmt.Errorf("retry %s: %w", target, err)
		}
		fmt.Fprintf(e.stdout, "retried %s (%s %s)%s\n", d.ID, d.Source, d.Kind, retryNote(d))
		return nil
	}
	s, err := cli.deadLetters.RetryDeadLetters(ctx, by, dlqRetryAllMax)
	if err != nil {
		return err
	}
	for _, id := range s.Retried {
		fmt.Fprintf(e.stdout, "retried %s\n", id)
	}
	for _, f := range s.Failed {
		fmt.Fprintf(e.stdout, "not retried %s: %s\n", f.ID, f.Error)
	}
	fmt.Fprintf(e.stdout, "%d retried, %d not retried", len(s.Retried), len(s.Failed))
	if s.More {
		fmt.Fprint(e.stdout, "; more wait: run it again")
	}
	fmt.Fprintln(e.stdout)
	if len(s.Failed) > 0 {
		return fmt.Errorf("%d dead letters could not be retried", len(s.Failed))
	}
	return nil
}

func retryNote(d engine.DeadLetter) string {
	if d.Source == engine.DeadMail {
		return ": back in the outbox; the running server's mailer sends it"
	}
	return ": run again"
}
