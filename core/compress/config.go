package compress

import (
	"errors"
	"fmt"
)

// Config chooses the passes. The zero value turns everything off; use
// DefaultConfig for penny's defaults (the lossless passes on).
type Config struct {
	// Lossless passes.
	Whitespace bool `toml:"whitespace"` // trailing spaces, blank-line runs, space runs, common indentation
	JSON       bool `toml:"json"`       // minify embedded JSON that parses
	Dedupe     bool `toml:"dedupe"`     // duplicate paragraphs, lines and few-shot examples
	// NearDupThreshold is the word-bigram Jaccard similarity at or above
	// which a paragraph or example counts as a near-duplicate of an earlier
	// one; 0 disables near-duplicate removal (exact duplicates still go).
	NearDupThreshold float64 `toml:"near_dup_threshold"`
	// JSONTable rewrites JSON arrays of ≥3 objects with the same keys as
	// {"columns":[…],"rows":[[…],…]}. Lossless but changes the shape the
	// model sees, so it is off by default.
	JSONTable bool `toml:"json_table"`

	// Lossy passes: opt-in.
	Filler    bool `toml:"filler"`    // "I would like you to", "please kindly", …
	Stopwords bool `toml:"stopwords"` // drop articles and intensifiers from prose
	// BudgetTokens > 0 turns on budget mode: drop the sentences, paragraphs
	// and examples least relevant to the final question until the prompt
	// fits this many tokens (or nothing droppable is left).
	BudgetTokens int `toml:"budget_tokens"`
	// BudgetRatio > 0 sets the budget relative to the prompt: 0.5 asks for
	// half the original tokens. With both set, the smaller budget wins.
	BudgetRatio float64 `toml:"budget_ratio"`
	// Summarize replaces the longest run of plain prose context with a
	// summary from a cheap model. Planning only projects it (region,
	// estimated length, the summarizer call's cost); the summary is made
	// when the prompt is sent.
	Summarize bool `toml:"summarize"`
	// SummarizeMinTokens is the smallest prose run worth a model call.
	SummarizeMinTokens int `toml:"summarize_min_tokens"`
	// SummarizeModel is the model that writes summaries; "" means the first
	// model of the router's cheapest tier that a provider serves.
	SummarizeModel string `toml:"summarize_model"`
	// SummarizeRatio is the projected summary length as a share of the
	// summarized run; 0 means DefaultSummarizeRatio.
	SummarizeRatio float64 `toml:"summarize_ratio"`
}

func (c Config) summarizeRatio() float64 {
	if c.SummarizeRatio > 0 {
		return c.SummarizeRatio
	}
	return DefaultSummarizeRatio
}

// Lossy reports whether any lossy pass is on.
func (c Config) Lossy() bool {
	return c.Filler || c.Stopwords || c.Summarize || c.BudgetTokens > 0 || c.BudgetRatio > 0
}

// WithLossy is c with the lossy passes switched on or off for one prompt
// (the playground's toggle, `penny plan --lossy`). On adds the two passes
// that need no setting — filler phrases and stopwords — to whatever the
// config enables; budget mode and summarization stay as configured, since
// they need a budget and a model the user chose. Off leaves only the
// lossless passes.
func (c Config) WithLossy(on bool) Config {
	if on {
		c.Filler, c.Stopwords = true, true
		return c
	}
	c.Filler, c.Stopwords, c.Summarize = false, false, false
	c.BudgetTokens, c.BudgetRatio = 0, 0
	return c
}

// DefaultConfig is penny's default: every lossless pass except the tabular
// JSON rewrite, no lossy pass.
func DefaultConfig() Config {
	return Config{
		Whitespace:         true,
		JSON:               true,
		Dedupe:             true,
		NearDupThreshold:   0.9,
		SummarizeMinTokens: 400,
		SummarizeRatio:     DefaultSummarizeRatio,
	}
}

// ErrConfig is wrapped by every validation error.
var ErrConfig = errors.New("invalid compress config")

// Validate reports the first invalid field by its TOML name.
func (c Config) Validate() error {
	switch {
	case c.NearDupThreshold < 0 || c.NearDupThreshold > 1:
		return fmt.Errorf("%w: near_dup_threshold = %v: must be between 0 and 1 (0 disables)", ErrConfig, c.NearDupThreshold)
	case c.NearDupThreshold > 0 && c.NearDupThreshold < 0.5:
		return fmt.Errorf("%w: near_dup_threshold = %v: below 0.5 removes paragraphs that merely share a topic", ErrConfig, c.NearDupThreshold)
	case c.BudgetTokens < 0:
		return fmt.Errorf("%w: budget_tokens = %d: must be ≥ 0 (0 disables budget mode)", ErrConfig, c.BudgetTokens)
	case c.BudgetRatio < 0 || c.BudgetRatio >= 1:
		return fmt.Errorf("%w: budget_ratio = %v: must be in [0, 1) (0 disables)", ErrConfig, c.BudgetRatio)
	case c.SummarizeMinTokens < 0:
		return fmt.Errorf("%w: summarize_min_tokens = %d: must be ≥ 0", ErrConfig, c.SummarizeMinTokens)
	case c.SummarizeRatio < 0 || c.SummarizeRatio >= 1:
		return fmt.Errorf("%w: summarize_ratio = %v: must be in [0, 1) (0 = %v)", ErrConfig, c.SummarizeRatio, DefaultSummarizeRatio)
	}
	return nil
}
