// Package compress shrinks prompts before they are sent, pass by pass, and
// reports what each pass removed in real tokens.
//
// Passes run in a fixed order over the text; each proposes byte edits, a
// guard drops every edit that would lose a protected unit (code, URLs,
// emails, numbers with units, quoted strings, names, the final question),
// and the pass is kept only when the real tokenizer says it saved tokens.
package compress

import "github.com/pennyllm/penny/core/money"

// Span is a byte range of the pass's input text that the pass changed.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Kind  string `json:"kind"`           // "removed", "replaced"
	With  string `json:"with,omitempty"` // replacement text, if any
}

// PassResult is what one pass did.
type PassResult struct {
	Name        string `json:"name"`
	TokensSaved int    `json:"tokens_saved"`
	Lossy       bool   `json:"lossy"`
	Skipped     bool   `json:"skipped,omitempty"` // the pass did not reduce tokens, so its output was dropped
	Spans       []Span `json:"spans,omitempty"`
	// Rejected counts edits the guard dropped because they would have
	// lost a protected unit.
	Rejected int `json:"rejected,omitempty"`
	// CostNanos is what the pass itself spent (the summarizer's model call).
	CostNanos money.Nanos `json:"cost_nanos,omitempty"`
	// Note explains a skip or a partial result in words.
	Note string `json:"note,omitempty"`
	// Pending marks a pass that happens at send (summarize): TokensSaved is
	// 0 and ProjectedSaved is the estimate; see Result.Summary.
	Pending        bool `json:"pending,omitempty"`
	ProjectedSaved int  `json:"projected_tokens_saved,omitempty"`
}

// Result is the pipeline's output.
type Result struct {
	Text         string       `json:"text"`
	Tokens       int          `json:"tokens"`
	TokensBefore int          `json:"tokens_before"`
	Passes       []PassResult `json:"passes"`
	// ProtectedUnits is the number of distinct protected units in the input
	// and ProtectedKept the share found verbatim in Text (always 1 unless a
	// pass is defective; see the fallback in Compress).
	ProtectedUnits int     `json:"protected_units"`
	ProtectedKept  float64 `json:"protected_kept"`
	// ExtraCostNanos and ExtraTokens are what compression itself costs:
	// the projected summarizer call, priced and counted by the planner
	// (the compressor knows no prices; it leaves them 0), and the tokens
	// sent to and received from it. A projection must add them to the
	// optimized cost.
	ExtraCostNanos money.Nanos `json:"extra_cost_nanos"`
	ExtraTokens    int         `json:"extra_tokens"`
	// Summary is the summary projected for the send, nil when none: Text
	// and Tokens still hold its region verbatim.
	Summary *PendingSummary `json:"summary,omitempty"`
	// Lossy says whether lossy passes were on (configured, or switched on
	// for this prompt), whether or not they removed anything.
	Lossy bool `json:"lossy"`
}
