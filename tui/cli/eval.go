package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/route"
)

func runEval(ctx context.Context, d Deps, s IO, args []string) error {
	if len(args) == 0 {
		return usagef("want what to evaluate: compress, cache or route")
	}
	switch args[0] {
	case "compress":
		return evalCompress(ctx, d, s, args[1:])
	case "cache":
		return evalCache(ctx, d, s, args[1:])
	case "route":
		return evalRoute(ctx, d, s, args[1:])
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

func evalCache(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("eval cache", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pairsFile := fs.String("pairs", "", "labelled pairs: TSV with label, a, b columns (or SemEval STS, MSRP, SICK files)")
	threshold := fs.Float64("threshold", d.Config().Cache.Threshold, "semantic threshold on the judge's scale")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *pairsFile == "" && len(pos) == 1 {
		*pairsFile, pos = pos[0], nil
	}
	if *pairsFile == "" || len(pos) > 0 {
		return usagef("want --pairs FILE")
	}
	data, err := s.readInput(*pairsFile, 256<<20)
	if err != nil {
		return err
	}
	pairs, stats, err := cache.ParsePairs(bytes.NewReader(data), *pairsFile, cache.PairsOptions{})
	if err != nil {
		return err
	}
	if len(pairs) == 0 {
		return fmt.Errorf("%s: no labelled pairs (%d rows read)", *pairsFile, stats.Rows)
	}
	lookup, scale, err := d.CacheLookup(ctx)
	if err != nil {
		return err
	}
	rep, err := cache.Evaluate(ctx, pairs, *threshold, lookup)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(s.Stdout, rep)
	}
	fmt.Fprintf(s.Stdout, "%s: %d pairs (format %s; %d unscored and %d ambiguous rows skipped)\n",
		*pairsFile, len(pairs), stats.Format, stats.Unscored, stats.Ambiguous)
	_, err = io.WriteString(s.Stdout, rep.Text(scale))
	return err
}

func evalRoute(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("eval route", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var data, train listFlag
	fs.Var(&data, "data", "RouteLLM response CSV to evaluate on (repeatable; following file names are taken too)")
	fs.Var(&train, "train", "RouteLLM response CSV whose labels feed the learned signal; an optional tier column labels rows with a tier (repeatable)")
	weakCol := fs.String("weak", "", "column of the weak model's correctness or score (default: the first boolean column)")
	strongCol := fs.String("strong", "", "column of the strong model's correctness or score (default: the second boolean column)")
	weakModel := fs.String("weak-model", "gpt-4o-mini", "catalog model that prices weak calls")
	strongModel := fs.String("strong-model", "gpt-4o", "catalog model that prices strong calls")
	threshold := fs.Float64("threshold", 0, "score at or above which a prompt goes to the strong model (0 = the configured one)")
	fit := fs.Bool("fit", false, "also fit the signal weights to the --train labels and evaluate them on --data (prints a [route.signals] section)")
	pos, err := parseFlags(fs, expandLists(args, "data", "train"))
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if len(data) == 0 {
		return usagef("want --data FILE...")
	}
	if *fit && len(train) == 0 {
		// Weights fitted to the --data labels would be scored on the
		// prompts they were fitted to, which flatters them.
		return usagef("--fit needs --train FILE...: the weights are fitted there and evaluated on --data")
	}
	opt := func(name string) route.CSVOptions {
		return route.CSVOptions{Weak: *weakCol, Strong: *strongCol, Group: name}
	}
	rows, err := readCSVs(s, data, func(r io.Reader, name string) ([]route.Labelled, error) { return route.ParseCSV(r, opt(name)) })
	if err != nil {
		return err
	}
	// Fitting needs each training prompt's outcomes, so with --fit the
	// training files are read as evaluation data (no tier-only rows).
	var trainLabelled []route.Labelled
	var trainRows []route.Example
	if *fit {
		trainLabelled, err = readCSVs(s, train, func(r io.Reader, name string) ([]route.Labelled, error) { return route.ParseCSV(r, opt(name)) })
		trainRows = route.ExamplesFromLabelled(trainLabelled)
	} else {
		trainRows, err = readCSVs(s, train, func(r io.Reader, name string) ([]route.Example, error) {
			return route.ParseExamplesCSV(r, opt(name))
		})
	}
	if err != nil {
		return err
	}
	r, err := d.EvalRouter(ctx, trainRows)
	if err != nil {
		return err
	}
	w, st, err := r.EvalModels(*weakModel, *strongModel)
	if err != nil {
		return err
	}
	counter := d.Tokens().ForModel(st.ID)
	count := func(p string) int { return counter.Count(p).Tokens }
	eopt := route.EvalOptions{Weak: w, Strong: st, Threshold: *threshold, CompletionTokens: d.Config().CompletionTokens, Count: count}
	rep, err := route.Evaluate(ctx, r, rows, eopt)
	if err != nil {
		return err
	}
	out := routeEval{Report: rep}
	if *fit {
		if out.Fitted, err = fitRoute(ctx, r, trainLabelled, rows, eopt); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(s.Stdout, out)
	}
	fmt.Fprintf(s.Stdout, "%d prompts (%d learned examples); weak %s, strong %s\n", rep.Prompts, len(trainRows), w.ID, st.ID)
	writeRouteReport(s.Stdout, rep)
	if f := out.Fitted; f != nil {
		fmt.Fprintf(s.Stdout, "\nweights fitted on the %d --train prompts (APGR %.3f there), for penny.toml:\n", f.TrainPrompts, f.TrainAPGR)
		sw := f.Signals
		fmt.Fprintf(s.Stdout, "[route.signals]\ntokens = %g\ncode = %g\nmath = %g\nreasoning = %g\nmultipart = %g\nformat = %g\ndepth = %g\nlearned = %g\n",
			sw.Tokens, sw.Code, sw.Math, sw.Reasoning, sw.MultiPart, sw.Format, sw.Depth, sw.Learned)
		fmt.Fprintln(s.Stdout, "with them, on --data:")
		writeRouteReport(s.Stdout, f.Report)
	}
	return nil
}

// routeEval is `penny eval route --json`: the report's fields at the top
// level, as ARCHITECTURE.md lists them, and the fit when --fit asked for it.
type routeEval struct {
	route.Report
	Fitted *routeFit `json:"fitted,omitempty"`
}

// routeFit is --fit's result: weights fitted on the training prompts and
// the evaluation of the data with them.
type routeFit struct {
	Signals      route.SignalWeights `json:"signals"`
	TrainPrompts int                 `json:"train_prompts"`
	TrainAPGR    float64             `json:"train_apgr"` // on the prompts fitted to: optimistic
	Report       route.Report        `json:"report"`
}

// fitRoute fits r's signal weights on train (each prompt's learned vote
// leaves out its own file, so the fit sees the vote as it will be on new
// data) and evaluates the fitted router on data.
func fitRoute(ctx context.Context, r *route.Router, train, data []route.Labelled, opt route.EvalOptions) (*routeFit, error) {
	p, err := r.Prepare(ctx, train, opt.Count)
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	sw, trainAPGR, err := r.FitWeights(p, fitPasses)
	if err != nil {
		return nil, err
	}
	fitted, err := r.WithSignals(sw)
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	rep, err := route.Evaluate(ctx, fitted, data, opt)
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	return &routeFit{Signals: sw, TrainPrompts: len(train), TrainAPGR: trainAPGR, Report: rep}, nil
}

// fitPasses bounds FitWeights' coordinate ascent, which stops earlier when
// a pass changes nothing; the evaluations in docs/BENCHMARKS.md use the same.
const fitPasses = 4

// writeRouteReport prints a route evaluation's figures.
func writeRouteReport(w io.Writer, rep route.Report) {
	fmt.Fprintf(w, "APGR %.3f   CPT(50%%) %.1f%%   CPT(80%%) %.1f%%   (random routing: 0.500, 50%%, 80%%)\n", rep.APGR, rep.CPT50, rep.CPT80)
	quality := "accuracy"
	if rep.Graded {
		quality = "mean score"
	}
	fmt.Fprintf(w, "%s: weak %.3f, strong %.3f; at threshold %.2f: %.3f with %.1f%% strong calls\n",
		quality, rep.WeakAccuracy, rep.StrongAccuracy, rep.Threshold, rep.Accuracy, 100*rep.StrongShare)
	fmt.Fprintf(w, "cost at that threshold %s vs all-strong %s (completion %d tokens assumed)\n",
		money.FromUSD(rep.CostUSD), money.FromUSD(rep.AllStrongCostUSD), rep.CompletionTokens)
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// expandLists lets "--data a.csv b.csv --train c.csv" mean
// "--data a.csv --data b.csv --train c.csv": bare arguments after a list
// flag belong to it until the next flag.
func expandLists(args []string, names ...string) []string {
	var out []string
	list := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if list != "" {
				out = append(out, "--"+list)
			}
			out = append(out, a)
			continue
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		list = ""
		if slices.Contains(names, name) && !hasVal {
			list = name
			continue // re-emitted before each of its values
		}
		out = append(out, a)
	}
	return out
}

// readCSVs parses each named file (or "-" for stdin) and concatenates the
// rows; an error names the file.
func readCSVs[T any](s IO, names []string, parse func(r io.Reader, name string) ([]T, error)) ([]T, error) {
	var all []T
	for _, name := range names {
		raw, err := s.readInput(name, 256<<20)
		if err != nil {
			return nil, err
		}
		rows, err := parse(bytes.NewReader(raw), name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, rows...)
	}
	return all, nil
}
