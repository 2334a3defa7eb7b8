// Package route predicts which model should answer a prompt: signals and
// rules produce a complexity score, the score picks a tier, the tier a model
// that fits the context window. Every step is part of the explanation.
package route

// Request is what the router sees.
type Request struct {
	Prompt       string `json:"prompt"`
	PromptTokens int    `json:"prompt_tokens"`
	// OverheadTokens is the chat framing the API adds around the prompt:
	// priced and counted against the context window, never a signal.
	OverheadTokens   int    `json:"overhead_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens"` // expected completion length, for context fit and cost
	Turns            int    `json:"turns,omitempty"`   // conversation depth
	Baseline         string `json:"baseline"`          // the model the user would call without penny

	// Capability constraints: the router only picks models the catalog
	// marks as supporting them.
	NeedsVision bool `json:"needs_vision,omitempty"`
	NeedsTools  bool `json:"needs_tools,omitempty"`
	NeedsJSON   bool `json:"needs_json,omitempty"` // the API's JSON mode (response_format), not a prompt asking for JSON
}

// Contribution is one signal's or rule's share of the score.
type Contribution struct {
	Name   string  `json:"name"`   // "signal:code", "rule:sql-questions", …
	Value  float64 `json:"value"`  // the signal's raw value (0..1) or 1 for a matched rule
	Weight float64 `json:"weight"` // its configured weight
	Delta  float64 `json:"delta"`  // what it added to the score
	Detail string  `json:"detail,omitempty"`
}

// Alternative is another model the prompt could go to.
type Alternative struct {
	Model   string  `json:"model"`
	Tier    string  `json:"tier"`
	CostUSD float64 `json:"cost_usd"`
	Fits    bool    `json:"fits"`
	Note    string  `json:"note,omitempty"`
}

// Decision is the router's answer.
type Decision struct {
	Model         string         `json:"model"`
	Tier          string         `json:"tier"`
	Score         float64        `json:"score"`
	Reasons       []string       `json:"reasons"`
	Contributions []Contribution `json:"contributions,omitempty"`
	Alternatives  []Alternative  `json:"alternatives,omitempty"`

	RawScore     float64  `json:"raw_score"`               // the score before clamping to [0, 1]; evaluation ranks by it
	MatchedRules []string `json:"matched_rules,omitempty"` // names of the rules that matched
	PinnedBy     string   `json:"pinned_by,omitempty"`     // the rule that pinned the tier, if any
}
