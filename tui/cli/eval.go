package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/pennyllm/penny/core/compress"
)

func runEval(ctx context.Context, d Deps, s IO, args []string) error {
	if len(args) == 0 {
		return usagef("want what to evaluate: compress, cache or route")
	}
	switch args[0] {
	case "compress":
		return evalCompress(ctx, d, s, args[1:])
	default:
		return usagef("unknown evaluation %q: want compress, cache or route", args[0])
	}
}

func evalCompress(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("eval compress", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	model := fs.String("model", d.Config().BaselineModel, "model whose tokenizer counts the tokens")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want one or more prompt files (a file is one prompt; JSONL: one {\"prompt\": …} per line)")
	}
	var prompts []string
	for _, name := range pos {
		data, err := s.readInput(name, 256<<20)
		if err != nil {
			return err
		}
		ps, err := compress.ParsePrompts(bytes.NewReader(data), name)
		if err != nil {
			return err
		}
		prompts = append(prompts, ps...)
	}
	c, err := compress.New(d.Config().Compress, nil)
	if err != nil {
		return err
	}
	rep, err := compress.Evaluate(ctx, c, prompts, d.Tokens().ForModel(*model))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(s.Stdout, rep)
	}
	fmt.Fprintf(s.Stdout, "%d prompts: %d → %d tokens (ratio %.3f, %.1f%% saved)\n", rep.Prompts, rep.TokensBefore, rep.TokensAfter, rep.Ratio, rep.SavedPct)
	fmt.Fprintf(s.Stdout, "protected units kept: %.4f of %d", rep.ProtectedKept, rep.ProtectedUnits)
	if len(rep.Lost) > 0 {
		fmt.Fprintf(s.Stdout, " — LOST: %q", rep.Lost)
	}
	fmt.Fprintf(s.Stdout, "\nidempotent: %v", rep.Idempotent)
	if !rep.Idempotent {
		fmt.Fprintf(s.Stdout, " (%d prompts change when compressed again)", rep.NonIdempotent)
	}
	fmt.Fprintln(s.Stdout)
	tw := tabwriter.NewWriter(s.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\npass\ttokens saved\tprompts applied")
	for _, p := range rep.Passes {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", p.Name, p.TokensSaved, p.Applied)
	}
	return tw.Flush()
}
