package compress

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
)

// Summarization is the one pass that needs a model, and planning runs on
// every keystroke "before anything is sent". So the pass is split in two:
// Compress only projects it — it picks the prose run that would be
// summarized, estimates the summary's length and reports a
// PendingSummary — and the sender makes the summary through the provider
// layer (a Summarizer) when the prompt is really sent, then calls Apply.
// Nothing in planning can spend money.

// DefaultSummarizeRatio is the projected summary length as a share of the
// summarized run when the config sets none. A quarter is what an
// instruction such as "condense to about a quarter" gets from cheap chat
// models on narrative context; the projection says it is an estimate.
const DefaultSummarizeRatio = 0.25

// keptPrefix introduces the protected units a summary lost, appended so
// that the guarantee holds whatever the summarizer wrote.
const keptPrefix = "Kept verbatim: "

// PendingSummary is a summary the plan projects and the send makes: the
// byte range of Result.Text it replaces and what it is expected to cost.
type PendingSummary struct {
	Start int `json:"start"` // Result.Text[Start:End] is the region
	End   int `json:"end"`
	// Region is the text to summarize (left out of JSON: it is in
	// compression.text already).
	Region string `json:"-"`
	// RegionTokens is the region counted with the prompt's tokenizer.
	RegionTokens int `json:"region_tokens"`
	// EstimatedTokens is the projected summary length: Ratio of the
	// region, and never less than the protected units it must keep.
	EstimatedTokens int     `json:"estimated_tokens"`
	Ratio           float64 `json:"ratio"`
	// MaxTokens caps the summarizer's reply, so that its budget hold is a
	// true maximum.
	MaxTokens int `json:"max_tokens"`
	// Keep are the protected units of the region found nowhere else in the
	// prompt: the summary must keep them, or Apply appends them verbatim.
	Keep []string `json:"keep_verbatim"`

	// Filled by the planner, which knows the catalog.
	Model        string      `json:"model,omitempty"`         // the summarizer model
	PromptTokens int         `json:"prompt_tokens,omitempty"` // the summarizer's prompt (instruction + region) in its tokenizer
	CostNanos    money.Nanos `json:"cost_nanos"`              // projected cost of the summarizer call
}

// Request is the summarizer call for s with model.
func (s PendingSummary) Request(model string) SummaryRequest {
	return SummaryRequest{Model: model, Text: s.Region, Keep: s.Keep, TargetTokens: s.EstimatedTokens, MaxTokens: s.MaxTokens}
}

// SummaryRequest asks a summarizer for one summary.
type SummaryRequest struct {
	Model        string
	Text         string
	Keep         []string // units that must appear verbatim
	TargetTokens int      // the projected length, said in the instruction
	MaxTokens    int      // hard cap on the reply
}

// Messages is the chat request every model-backed summarizer sends. It
// lives here, not in a provider, so the planner can count the very prompt
// it prices.
func (r SummaryRequest) Messages() []llm.Message {
	words := max(10, r.TargetTokens*3/4) // ≈ 0.75 English words per token
	sys := fmt.Sprintf("You condense context for another language model, which will answer a later question with it. "+
		"Summarize the user's text in at most %d words. Keep every fact the text states; drop repetition, asides and filler. "+
		"Copy numbers with their units, names, URLs, email addresses, code and quoted strings exactly as written. "+
		"Reply with the summary only.", words)
	return []llm.Message{{Role: "system", Content: sys}, {Role: "user", Content: r.Text}}
}

// Summarizer makes summaries through a (cheap) chat model. The provider
// layer implements it (providers/summarize); core never calls a network
// itself. The response carries the provider's usage so that the call is
// priced and recorded like any other.
type Summarizer interface {
	Summarize(ctx context.Context, req SummaryRequest) (llm.Response, error)
}

// ErrStale is returned by Apply when the text no longer holds the region
// the plan projected (the plan and the text it is applied to differ).
var ErrStale = errors.New("summary region does not match the text")

// Apply replaces the region in text (the plan's compressed text) with
// summary, appending every unit of Keep that the summary lost. It returns
// the new text and the units appended.
func (s PendingSummary) Apply(text, summary string) (string, []string, error) {
	if s.Start < 0 || s.End > len(text) || s.Start > s.End || text[s.Start:s.End] != s.Region {
		return "", nil, ErrStale
	}
	summary = strings.TrimSpace(summary)
	if summary == "" {
		return "", nil, errors.New("the summarizer returned an empty summary")
	}
	var missing []string
	for _, u := range s.Keep {
		if !strings.Contains(summary, u) {
			missing = append(missing, u)
		}
	}
	if len(missing) > 0 {
		summary += "\n" + keptPrefix + strings.Join(missing, "; ")
	}
	return text[:s.Start] + summary + text[s.End:], missing, nil
}

// summaryRegion is the longest run of plain prose paragraphs that does not
// touch the final question (no code, JSON or tables): the context most
// worth condensing, and the part a summary can lose least of.
func summaryRegion(d *doc) (start, end int) {
	q, hasQ := finalQuestion(d)
	touchesQ := func(p paragraph) bool { return hasQ && p.end > q.start && p.start < q.end }
	best := 0
	ps := d.paragraphs(false)
	for i := 0; i < len(ps); {
		if d.lines[ps[i].first].kind != kindProse || touchesQ(ps[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(ps) && d.lines[ps[j+1].first].kind == kindProse && !touchesQ(ps[j+1]) {
			j++
		}
		if n := ps[j].end - ps[i].start; n > best {
			best, start, end = n, ps[i].start, ps[j].end
		}
		i = j + 1
	}
	return start, end
}

// projectSummary plans the summary of the final text: which region, how
// long the summary is expected to be, which units it must keep. It makes
// no call. The PassResult says what will happen at send, or why not.
func (c *Compressor) projectSummary(text string, m *meter, pr *PassResult) *PendingSummary {
	d := analyze(text)
	start, end := summaryRegion(d)
	if start == end {
		pr.Note = "no run of plain prose to summarize"
		return nil
	}
	region := text[start:end]
	rt := m.count(region)
	if rt < c.cfg.SummarizeMinTokens {
		pr.Note = fmt.Sprintf("longest prose run is %d tokens, below summarize_min_tokens %d", rt, c.cfg.SummarizeMinTokens)
		return nil
	}
	rest := text[:start] + text[end:]
	var keep []string
	seen := map[string]bool{}
	for _, u := range d.units {
		if u.End <= start || u.Start >= end || seen[u.Text] {
			continue
		}
		seen[u.Text] = true
		if !strings.Contains(rest, u.Text) {
			keep = append(keep, u.Text)
		}
	}
	ratio := c.cfg.summarizeRatio()
	est := int(math.Ceil(ratio * float64(rt)))
	if c.summaryTokens != nil {
		est = c.summaryTokens(rt)
	}
	// However short the model's prose, the units it must keep are there:
	// at worst appended after it, which is what this floor counts.
	if len(keep) > 0 {
		est = max(est, m.count("\n"+keptPrefix+strings.Join(keep, "; ")))
	}
	if est >= rt {
		pr.Note = fmt.Sprintf("a summary of the %d-token prose run would not be shorter (about %d tokens with its protected units)", rt, est)
		return nil
	}
	maxOut := min(rt, max(2*est, est+32))
	pr.Skipped = false
	pr.Pending = true
	pr.ProjectedSaved = rt - est
	pr.Note = fmt.Sprintf("at send: a %d-token prose run becomes a summary of about %d tokens", rt, est)
	if len(keep) > 0 {
		pr.Note += fmt.Sprintf("; %d protected units kept verbatim", len(keep))
	}
	return &PendingSummary{
		Start: start, End: end, Region: region, RegionTokens: rt,
		EstimatedTokens: est, Ratio: ratio, MaxTokens: maxOut, Keep: keep,
	}
}
