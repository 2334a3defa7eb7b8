package route

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Config is the [route] section of penny.toml.
type Config struct {
	// Base is the score every prompt starts from, before signals and rules.
	Base float64 `toml:"base"`
	// Tiers map score ranges to models, in ascending min_score order.
	Tiers []TierConfig `toml:"tiers"`
	// Signals holds the weight of every built-in signal.
	Signals SignalWeights `toml:"signals"`
	// Learned configures the k-nearest-neighbour vote over labelled examples.
	Learned LearnedConfig `toml:"learned"`
	// Rules are the user's patterns and keyword lists.
	Rules []RuleConfig `toml:"rules"`
	// EvalThreshold is the score at or above which `penny eval route` counts
	// a prompt as a strong-model call. 0 means the min_score of the second
	// tier: everything above the cheapest tier counts as strong.
	EvalThreshold float64 `toml:"eval_threshold"`
}

// TierConfig is one score range and the models that serve it.
type TierConfig struct {
	Name     string  `toml:"name"`
	MinScore float64 `toml:"min_score"` // inclusive lower bound of the tier's range
	// Models in order of preference. Names the catalog does not know are
	// skipped with a warning, so one default list works across catalog
	// versions; the first known, available model serves the tier.
	Models []string `toml:"models"`
}

// SignalWeights are the weights of the built-in signals. Each signal's value
// is in [0, 1]; its contribution to the score is value × weight (the learned
// signal contributes (vote − prior) × reliability × weight, so it can lower
// the score; see Learned.Reliability).
type SignalWeights struct {
	Tokens    float64 `toml:"tokens" json:"tokens"`       // prompt length, log-scaled, saturating at 4,096 tokens
	Code      float64 `toml:"code" json:"code"`           // code fences, code-like lines, programming keywords
	Math      float64 `toml:"math" json:"math"`           // numbers, operators, math vocabulary
	Reasoning float64 `toml:"reasoning" json:"reasoning"` // "step by step", "prove", "explain why", "compare", …
	MultiPart float64 `toml:"multipart" json:"multipart"` // several questions or numbered sub-tasks
	Format    float64 `toml:"format" json:"format"`       // output-format demands: JSON, table, word limits, …
	Depth     float64 `toml:"depth" json:"depth"`         // conversation depth (turns so far)
	Learned   float64 `toml:"learned" json:"learned"`     // the k-NN vote over labelled examples
}

// LearnedConfig tunes the k-NN vote.
type LearnedConfig struct {
	K int `toml:"k"` // neighbours that vote
	// Smoothing is the weight (in units of one perfectly similar neighbour)
	// of the prior in the vote, so a handful of distant neighbours cannot
	// swing the vote to 0 or 1.
	Smoothing float64 `toml:"smoothing"`
	// Examples are RouteLLM-format response CSVs (a prompt column, then
	// the weak and the strong model's correctness) whose labels join the
	// ones given in History. Relative paths are relative to penny.toml.
	Examples []string `toml:"examples"`
}

// RuleConfig is one user rule. Exactly one of Pattern and Keywords is set,
// and exactly one of Weight (non-zero) and Tier.
type RuleConfig struct {
	Name string `toml:"name"`
	// Pattern is a Go regular expression (RE2 syntax), matched
	// case-insensitively unless CaseSensitive is set.
	Pattern       string `toml:"pattern"`
	CaseSensitive bool   `toml:"case_sensitive"`
	// Keywords are words or phrases matched as whole words, ignoring case
	// and punctuation ("step by step" also matches "Step-by-step").
	Keywords []string `toml:"keywords"`
	// Weight is added to the score when the rule matches (may be negative).
	Weight float64 `toml:"weight"`
	// Tier pins matching prompts to a tier, whatever the score. When several
	// pinning rules match, the first in the file wins.
	Tier string `toml:"tier"`
}

// Tier names of the default configuration.
const (
	TierCheap    = "cheap"
	TierBalanced = "balanced"
	TierStrong   = "strong"
)

// DefaultConfig is the configuration penny ships. The weights are a priori
// judgements of how much each signal says about difficulty, not values fitted
// to an evaluation set (see docs/BENCHMARKS.md for how they measure).
func DefaultConfig() Config {
	return Config{
		Base: 0.15,
		Tiers: []TierConfig{
			{Name: TierCheap, MinScore: 0, Models: []string{"gpt-4o-mini", "gpt-4.1-nano", "claude-3-haiku", "gpt-3.5-turbo"}},
			{Name: TierBalanced, MinScore: 0.40, Models: []string{"gpt-4.1-mini", "claude-3-5-haiku", "claude-haiku-4-5", "gemini-2.0-flash", "gpt-4o"}},
			{Name: TierStrong, MinScore: 0.65, Models: []string{"gpt-4o", "gpt-4.1", "claude-sonnet-4", "claude-3-5-sonnet", "gpt-4-turbo"}},
		},
		Signals: SignalWeights{
			Tokens:    0.25,
			Code:      0.15,
			Math:      0.15,
			Reasoning: 0.20,
			MultiPart: 0.10,
			Format:    0.05,
			Depth:     0.10,
			Learned:   1.00,
		},
		// The vote estimates a rate of a noisy binary outcome (~15% of
		// prompts need the strong model); 64 neighbours put its standard
		// error near 0.05, and the smoothing keeps a sparse neighbourhood
		// near the prior.
		Learned: LearnedConfig{K: 64, Smoothing: 2},
	}
}

// FieldError is a validation error that names the offending field. Rule
// errors carry the rule's index and name as well, so the config loader can
// add the file and line from the TOML decoder's metadata.
type FieldError struct {
	Section string // "tiers", "rules", "signals", "learned", ""
	Index   int    // position in Section's array, -1 when not an array
	Name    string // the tier's or rule's name, when it has one
	Field   string // the TOML key, e.g. "pattern"
	Err     error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("route")
	if e.Section != "" {
		b.WriteString(".")
		b.WriteString(e.Section)
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", e.Index)
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " %q", e.Name)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks the configuration without the catalog: ranges, names,
// tier order and every rule (by compiling it). All problems are returned,
// joined, each a *FieldError.
func (c Config) Validate() error {
	var errs []error
	bad := func(section string, i int, name, field, format string, args ...any) {
		errs = append(errs, &FieldError{Section: section, Index: i, Name: name, Field: field, Err: fmt.Errorf(format, args...)})
	}
	if !finite(c.Base) {
		bad("", -1, "", "base", "must be a finite number")
	}
	if len(c.Tiers) == 0 {
		bad("tiers", -1, "", "", "at least one tier is required")
	}
	seen := map[string]bool{}
	for i, t := range c.Tiers {
		switch {
		case strings.TrimSpace(t.Name) == "":
			bad("tiers", i, t.Name, "name", "is empty")
		case seen[t.Name]:
			bad("tiers", i, t.Name, "name", "is used by an earlier tier")
		}
		seen[t.Name] = true
		if !finite(t.MinScore) || t.MinScore < 0 || t.MinScore > 1 {
			bad("tiers", i, t.Name, "min_score", "%v is outside [0, 1]", t.MinScore)
		}
		if i == 0 && t.MinScore != 0 {
			bad("tiers", i, t.Name, "min_score", "the first tier must start at 0 so every score has a tier")
		}
		if i > 0 && t.MinScore <= c.Tiers[i-1].MinScore {
			bad("tiers", i, t.Name, "min_score", "%v must be above the previous tier's %v", t.MinScore, c.Tiers[i-1].MinScore)
		}
		if len(t.Models) == 0 {
			bad("tiers", i, t.Name, "models", "at least one model is required")
		}
	}
	for name, w := range c.Signals.named() {
		if !finite(w) || w < -1 || w > 2 {
			bad("signals", -1, "", name, "weight %v is outside [-1, 2]", w)
		}
	}
	if c.Learned.K < 1 || c.Learned.K > 1000 {
		bad("learned", -1, "", "k", "%d is outside [1, 1000]", c.Learned.K)
	}
	if !finite(c.Learned.Smoothing) || c.Learned.Smoothing < 0 {
		bad("learned", -1, "", "smoothing", "must be ≥ 0")
	}
	if !finite(c.EvalThreshold) || c.EvalThreshold < 0 || c.EvalThreshold > 1 {
		bad("", -1, "", "eval_threshold", "%v is outside [0, 1]", c.EvalThreshold)
	}
	if _, err := Compile(c.Rules); err != nil {
		errs = append(errs, err)
	}
	for i, r := range c.Rules {
		if r.Tier != "" && !seen[r.Tier] {
			bad("rules", i, r.Name, "tier", "%q is not a configured tier", r.Tier)
		}
	}
	return errors.Join(errs...)
}

// evalThreshold resolves the 0 default.
func (c Config) evalThreshold() float64 {
	if c.EvalThreshold > 0 || len(c.Tiers) < 2 {
		return c.EvalThreshold
	}
	return c.Tiers[1].MinScore
}

func (w SignalWeights) named() map[string]float64 {
	return map[string]float64{
		"tokens": w.Tokens, "code": w.Code, "math": w.Math, "reasoning": w.Reasoning,
		"multipart": w.MultiPart, "format": w.Format, "depth": w.Depth, "learned": w.Learned,
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
