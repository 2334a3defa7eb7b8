package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/money"
)

func runScenario(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the projection as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one scenario file, got %d arguments", len(pos))
	}
	data, err := s.readInput(pos[0], 1<<20)
	if err != nil {
		return err
	}
	sc, err := cost.ParseScenario(pos[0], data)
	if err != nil {
		return err
	}
	p, err := cost.Project(sc, d.Catalog())
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if *asJSON {
		return writeJSON(s.Stdout, p)
	}
	fmt.Fprintf(s.Stdout, "%d requests/day, %d prompt + %d completion tokens, baseline %s\n\n",
		sc.RequestsPerDay, sc.PromptTokens, sc.CompletionTokens, sc.BaselineModel)
	tw := tabwriter.NewWriter(s.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tper day\tper 30-day month\tsavings\t")
	row := func(l cost.Line) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f%%\t\n", l.Name, money.Nanos(l.NanosPerDay), money.Nanos(l.NanosPerMonth), l.SavingsPct)
	}
	row(p.Baseline)
	for _, l := range p.Strategies {
		row(l)
	}
	row(p.Combined)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(s.Stdout, "\ncombined applies cache, then routing, then compression.")
	return nil
}
