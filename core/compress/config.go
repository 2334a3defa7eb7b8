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
	// summary from a cheap model; needs a Summarizer (see New).
	Summarize bool `toml:"summarize"`
	// SummarizeMinTokens is the smallest prose run worth a model call.
	SummarizeMinTokens int `toml:"summarize_min_tokens"`
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
	}
	return nil
}
