package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
)

func runPlan(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	pl, _, err := planArgs(ctx, d, s, fs, args)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(s.Stdout, pl)
	}
	writePlan(s.Stdout, pl)
	return nil
}

// planArgs is what plan and send share: the baseline and projection flags
// (added to fs), the prompt from the arguments or stdin, and its plan under
// the user's cache scope.
func planArgs(ctx context.Context, d Deps, s IO, fs *flag.FlagSet, args []string) (plan.Plan, cache.Scope, error) {
	cfg := d.Config()
	model := fs.String("model", cfg.BaselineModel, "baseline model you would otherwise call")
	completion := fs.Int("completion-tokens", cfg.CompletionTokens, "assumed completion length for the projection")
	perDay := fs.Int64("requests-per-day", cfg.RequestsPerDay, "traffic for the monthly projection")
	lossy := fs.Bool("lossy", false, "lossy compression passes on for this prompt (--lossy=false: off); default as configured")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return plan.Plan{}, cache.Scope{}, err
	}
	// Absent, the config decides; present, the flag's value does.
	var lossyOpt *bool
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "lossy" {
			lossyOpt = lossy
		}
	})
	prompt, err := promptArg(s, pos)
	if err != nil {
		return plan.Plan{}, cache.Scope{}, err
	}
	p, err := d.Planner(ctx)
	if err != nil {
		return plan.Plan{}, cache.Scope{}, err
	}
	scope, err := d.Scope(ctx)
	if err != nil {
		return plan.Plan{}, cache.Scope{}, err
	}
	pl, err := p.Plan(ctx, prompt, plan.Options{
		Baseline: *model, CompletionTokens: *completion, RequestsPerDay: *perDay, Scope: scope, Lossy: lossyOpt,
	})
	return pl, scope, err
}

// promptArg takes the prompt from the arguments, or from stdin when there
// is none or it is "-".
func promptArg(s IO, pos []string) (string, error) {
	if len(pos) == 0 || (len(pos) == 1 && pos[0] == "-") {
		data, err := readAllLimited(s.Stdin, plan.MaxPromptBytes, "standard input")
		if err != nil {
			return "", err
		}
		return string(data), nil
	}
	return strings.Join(pos, " "), nil
}

func writePlan(w io.Writer, pl plan.Plan) {
	in := pl.Input
	exact := "exact"
	if !in.Exact {
		exact = "estimate"
	}
	fmt.Fprintf(w, "Input        %d tokens (%s, %s) for %s, +%d framing\n", in.Tokens, in.Tokenizer, exact, in.Model, in.OverheadTokens)

	c := pl.Compression
	fmt.Fprintf(w, "Compression  %d → %d tokens", c.TokensBefore, c.Tokens)
	var passes []string
	for _, p := range c.Passes {
		if !p.Skipped && p.TokensSaved != 0 {
			passes = append(passes, fmt.Sprintf("%s −%d", p.Name, p.TokensSaved))
		}
	}
	if len(passes) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(passes, ", "))
	}
	if c.Lossy {
		fmt.Fprint(w, " · lossy passes on")
	}
	fmt.Fprintln(w)
	if s := c.Summary; s != nil {
		fmt.Fprintf(w, "             summary at send by %s: %d-token prose run → about %d tokens, costing %s\n",
			s.Model, s.RegionTokens, s.EstimatedTokens, s.CostNanos)
		if len(s.Keep) > 0 {
			fmt.Fprintf(w, "             kept verbatim: %s\n", truncate(strings.Join(s.Keep, "; "), 100))
		}
	}

	r := pl.Route
	fmt.Fprintf(w, "Route        %s (tier %s, score %.2f)\n", r.Model, r.Tier, r.Score)
	for _, reason := range r.Reasons {
		fmt.Fprintf(w, "               %s\n", reason)
	}

	k := pl.Cache
	fmt.Fprintf(w, "Cache        %s", k.Outcome)
	if k.Reason != "" {
		fmt.Fprintf(w, ": %s", k.Reason)
	}
	if k.Outcome != cache.Bypass && k.Scale != "" {
		fmt.Fprintf(w, " (best %.3f vs threshold %.3f, %s)", k.Similarity, k.Threshold, k.Scale)
	}
	if k.Detail != "" {
		fmt.Fprintf(w, " — %s", k.Detail)
	}
	fmt.Fprintln(w)
	for _, n := range k.Neighbors {
		fmt.Fprintf(w, "               %.3f %s %q", n.Similarity, n.Reason, truncate(n.Prompt, 60))
		if n.Detail != "" {
			fmt.Fprintf(w, " — %s", n.Detail)
		}
		fmt.Fprintln(w)
	}

	cost := pl.Cost
	fmt.Fprintf(w, "Cost         baseline %s (%s) → optimized %s (%s): saves %s (%.1f%%) per request\n",
		money.Nanos(cost.BaselineNanos), cost.BaselineModel, money.Nanos(cost.OptimizedNanos), cost.OptimizedModel,
		money.Nanos(cost.BaselineNanos-cost.OptimizedNanos), cost.SavingsPct)
	fmt.Fprintf(w, "             per month at %d requests/day: %s → %s\n", cost.RequestsPerDay,
		money.FromUSD(cost.BaselinePerMonthUSD), money.FromUSD(cost.OptimizedPerMonthUSD))
	for _, a := range cost.Assumptions {
		fmt.Fprintf(w, "             assumption: %s\n", a)
	}
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
