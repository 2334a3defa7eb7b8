// Package tokens counts prompt tokens the way each model family's tokenizer
// does: exactly with tiktoken's BPE tables for OpenAI models, and as a
// labelled estimate for families whose tokenizers are not public offline.
package tokens

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Encoding names a tiktoken encoding.
type Encoding string

// The encodings penny uses. Both rank tables are compiled into the binary
// by github.com/tiktoken-go/tokenizer, so counting works offline; the
// splitting and merging are penny's own (see bpe.go for why).
const (
	O200k  Encoding = "o200k_base"
	Cl100k Encoding = "cl100k_base"
)

// Count is a token count and how it was obtained.
type Count struct {
	Tokens    int    `json:"tokens"`
	Tokenizer string `json:"tokenizer"` // "o200k_base", or "estimate:cl100k_base×1.15(claude)" for estimates
	Exact     bool   `json:"exact"`     // false when Tokens is an estimate
}

// Counter counts tokens for one model family. Implementations are safe for
// concurrent use.
type Counter interface {
	Count(text string) Count
}

// Registry hands out counters per model. The rank tables are large (o200k
// holds 200,000 ranks), so each encoding is loaded on first use and then
// shared by every counter of the registry.
type Registry struct {
	mu     sync.Mutex
	tables map[Encoding]*table
}

// NewRegistry returns an empty registry; encodings load lazily.
func NewRegistry() *Registry {
	return &Registry{tables: map[Encoding]*table{}}
}

func (r *Registry) table(e Encoding) *table {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.tables[e]; ok {
		return t
	}
	t, err := loadTable(e)
	if err != nil {
		// Both tables are compiled into the dependency; failing here is a
		// build defect, not a runtime condition a user can fix.
		panic(fmt.Sprintf("tokens: %v", err))
	}
	r.tables[e] = t
	return t
}

// Encoding returns an exact counter for a tiktoken encoding.
func (r *Registry) Encoding(e Encoding) Counter {
	return bpe{table: r.table(e), name: string(e)}
}

// ForModel returns the counter for a model id (catalog id or alias, with or
// without a provider prefix). OpenAI models count exactly; other families
// get an estimate (see Estimates).
func (r *Registry) ForModel(model string) Counter {
	fam := Family(model)
	if fam.Exact {
		return r.Encoding(fam.Encoding)
	}
	return estimate{base: r.Encoding(fam.Encoding), factor: fam.Factor, name: fam.Name}
}

// FamilyInfo describes how a model's tokens are counted.
type FamilyInfo struct {
	Name     string   // "openai-o200k", "claude", …
	Encoding Encoding // the BPE table counted with
	Exact    bool     // true when Encoding is the model's own tokenizer
	Factor   float64  // estimate = round(count × Factor); 1 when exact
}

// Estimates documents the families counted by estimate. The factor scales a
// BPE count to the family's tokenizer. The expected error is a range, not a
// measurement: those tokenizers are not available offline to check against.
//
//   - Claude (Anthropic): cl100k_base × 1.15. Anthropic's tokenizer splits
//     English into noticeably more pieces than cl100k; published comparisons
//     put it 10–30% above OpenAI counts. Expected error ±15%.
//   - Llama 3 / 3.x: cl100k_base × 1.0. Llama 3's 128K vocabulary extends
//     tiktoken's cl100k ranks with 28K extra tokens, so counts are close,
//     slightly lower on non-English. Expected error ±10%.
//   - Gemini, Gemma: o200k_base × 1.0. SentencePiece with a 256K vocabulary,
//     similar in granularity to o200k. Expected error ±15%.
//   - Mistral, Mixtral and others: cl100k_base × 1.1. Mostly 32K–131K
//     SentencePiece/Tekken vocabularies, coarser than cl100k. Expected
//     error ±20%.
var Estimates = []FamilyInfo{
	{Name: "claude", Encoding: Cl100k, Factor: 1.15},
	{Name: "llama", Encoding: Cl100k, Factor: 1.0},
	{Name: "gemini", Encoding: O200k, Factor: 1.0},
	{Name: "other", Encoding: Cl100k, Factor: 1.1},
}

// Family classifies a model id by name. Routing prefixes
// ("openrouter/openai/gpt-4o", "groq/llama-3.3-70b-versatile") and OpenAI's
// fine-tune prefix ("ft:gpt-4o-mini:org::id") are ignored, as tiktoken's own
// model table does for fine-tunes.
func Family(model string) FamilyInfo {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	m = strings.TrimPrefix(m, "ft:")
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "gpt-4.1"), strings.HasPrefix(m, "gpt-4.5"),
		strings.HasPrefix(m, "gpt-5"), strings.HasPrefix(m, "chatgpt-4o"), strings.HasPrefix(m, "gpt-oss"),
		isOSeries(m):
		return FamilyInfo{Name: "openai-o200k", Encoding: O200k, Exact: true, Factor: 1}
	case strings.HasPrefix(m, "gpt-4"), strings.HasPrefix(m, "gpt-3.5"), strings.HasPrefix(m, "gpt-35"),
		strings.HasPrefix(m, "text-embedding-"):
		return FamilyInfo{Name: "openai-cl100k", Encoding: Cl100k, Exact: true, Factor: 1}
	case strings.Contains(m, "claude"):
		return Estimates[0]
	case strings.Contains(m, "llama"):
		return Estimates[1]
	case strings.Contains(m, "gemini"), strings.Contains(m, "gemma"):
		return Estimates[2]
	default:
		return Estimates[3]
	}
}

// isOSeries matches OpenAI's reasoning models: o1, o3, o4-mini, o1-preview…
func isOSeries(m string) bool {
	if len(m) < 2 || m[0] != 'o' || m[1] < '1' || m[1] > '9' {
		return false
	}
	return len(m) == 2 || m[2] == '-'
}

type bpe struct {
	table *table
	name  string
}

func (b bpe) Count(text string) Count {
	return Count{Tokens: b.countOne(text), Tokenizer: b.name, Exact: true}
}

func (b bpe) countOne(text string) int { return b.table.count(text) }

// SplitSafe cuts text into chunks of at least target bytes (the last may
// be shorter) whose token counts add up to the count of the whole text, for
// every encoding penny counts exactly. Callers can count the chunks in
// parallel, or cache counts per chunk so that an edit recounts only the
// chunk it touched. Counter.Count itself runs in one goroutine: on the
// 2-core, heavily shared machine penny is developed on, counting 1 MiB in
// parallel chunks measured slower than serially (docs/BENCHMARKS.md), and
// parallelism across prompts serves batch commands better.
//
// Invalid UTF-8 is returned as one chunk. A cut is made only between a
// newline and a letter or decimal digit ("…\nThe", "…\n3."), because
// there the pre-tokenizer regex of both cl100k_base and o200k_base always
// ends one piece and starts the next, whatever came before:
//
//   - No piece crosses the cut. Every alternative that can consume a newline
//     (` ?[^\s\p{L}\p{N}]+[\r\n/]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`)
//     consumes only whitespace, punctuation or '/' after it, never a letter
//     or digit; the letter alternatives' optional leading character
//     excludes \r and \n; digits (`\p{N}{1,3}`) cannot include a newline.
//   - The piece before the cut is the same with or without the rest of the
//     text: the engine stops at the letter exactly as it stops at the end
//     of input, and the one lookahead, `\s+(?!\S)`, is never reached for a
//     whitespace run ending in a newline, because `\s*[\r\n]+` comes first
//     in the alternation and matches it.
//   - The piece after the cut is the same as at the start of a text: the
//     patterns have no anchors or lookbehind.
//
// BPE merges happen inside a piece, so equal pieces give equal counts.
// The property is tested on the corpus, on large real text and by fuzzing
// (FuzzSplitSafe), always against counting the whole text.
func SplitSafe(text string, target int) []string {
	if !utf8.ValidString(text) {
		return []string{text}
	}
	target = max(target, 1)
	var chunks []string
	for len(text) > target {
		cut := -1
		for from := target; from < len(text); {
			i := strings.IndexByte(text[from:], '\n')
			if i < 0 {
				break
			}
			p := from + i + 1
			if p < len(text) {
				r, _ := utf8.DecodeRuneInString(text[p:])
				if unicode.IsLetter(r) || unicode.IsDigit(r) {
					cut = p
					break
				}
			}
			from = p
		}
		if cut < 0 {
			break
		}
		chunks = append(chunks, text[:cut])
		text = text[cut:]
	}
	return append(chunks, text)
}

type estimate struct {
	base   Counter
	factor float64
	name   string
}

func (e estimate) Count(text string) Count {
	c := e.base.Count(text)
	return Count{
		Tokens:    int(float64(c.Tokens)*e.factor + 0.5),
		Tokenizer: fmt.Sprintf("estimate:%s×%.2f(%s)", c.Tokenizer, e.factor, e.name),
		Exact:     false,
	}
}
