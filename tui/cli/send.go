package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
)

// Sender executes plans (a *send.Sender, wrapped by main to record history).
type Sender interface {
	Send(ctx context.Context, pl plan.Plan, opt send.Options, onDelta func(string)) (send.Outcome, error)
}

func runSend(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the outcome as JSON (no streaming)")
	pl, scope, err := planArgs(ctx, d, s, fs, args)
	if err != nil {
		return err
	}
	cfg := d.Config()
	sender, err := d.Sender(ctx)
	if err != nil {
		return err
	}
	var onDelta func(string)
	if !*asJSON {
		onDelta = func(t string) { io.WriteString(s.Stdout, t) }
	}
	out, err := sender.Send(ctx, pl, send.Options{Scope: scope, User: cfg.User, Tag: "cli"}, onDelta)
	if err != nil && !errors.Is(err, send.ErrNotRecorded) {
		return err
	}
	if *asJSON {
		if jerr := writeJSON(s.Stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	fmt.Fprintln(s.Stdout)
	fmt.Fprintln(s.Stdout)
	source := out.Response.Provider
	if out.Simulated {
		source = "SIMULATED answer (no API key configured; see README: Sending for real)"
	}
	if out.Cache.Outcome == "exact_hit" || out.Cache.Outcome == "semantic_hit" {
		source = "answered from the cache (" + string(out.Cache.Outcome) + "), no model call"
	}
	fmt.Fprintf(s.Stdout, "— %s · %s · %d ms\n", out.Route.Model, source, out.LatencyMS)
	fmt.Fprintf(s.Stdout, "  tokens    projected %d + %d (assumed)   actual %d + %d\n",
		out.Projected.PromptTokens, out.Projected.CompletionTokens, out.Usage.PromptTokens, out.Usage.CompletionTokens)
	fmt.Fprintf(s.Stdout, "  cost      projected %s   actual %s   baseline %s   saved %s\n",
		out.Cost.ProjectedNanos, out.Cost.ActualNanos, out.Cost.BaselineNanos, out.Cost.BaselineNanos-out.Cost.ActualNanos)
	if sm := out.Summary; sm != nil {
		if sm.Applied {
			fmt.Fprintf(s.Stdout, "  summary   %s: −%d prompt tokens for %s (ledger tag %q)\n", sm.Model, sm.TokensSaved, sm.ActualNanos, send.TagSummarize)
		} else {
			fmt.Fprintf(s.Stdout, "  summary   not used (%s); cost %s\n", sm.Error, sm.ActualNanos)
		}
	}
	for _, a := range out.Alerts {
		fmt.Fprintf(s.Stderr, "penny: budget alert: %v\n", a)
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(s.Stderr, "penny: warning: %s\n", w)
	}
	return err
}

func runLedger(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	format := fs.String("format", "jsonl", "export format: jsonl or csv")
	tag := fs.String("tag", "", "only records with this tag (cli, tui, replay…)")
	days := fs.Int("days", 0, "only the last N days (0 = all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one subcommand: report or export")
	}
	store, err := d.Ledger(ctx)
	if err != nil {
		return err
	}
	f := ledger.Filter{Tag: *tag}
	if *days > 0 {
		f.Since = time.Now().AddDate(0, 0, -*days)
	}
	switch pos[0] {
	case "report":
		rep, err := ledger.Summarize(ctx, store, f, time.Local)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(s.Stdout, rep)
		}
		return rep.WriteText(s.Stdout)
	case "export":
		n, err := ledger.Export(ctx, store, f, s.Stdout, *format)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Stderr, "exported %d records\n", n)
		return nil
	default:
		return usagef("unknown ledger subcommand %q: want report or export", pos[0])
	}
}
