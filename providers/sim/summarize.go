package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/pennyllm/penny/core/llm"
)

// Summarize is the simulator's summarizer: a deterministic extractive
// summary of the last user message — the sentences whose content words
// recur most in the text (Luhn's frequency score), in their original
// order, up to req.MaxTokens — with usage counted like Chat's. Demos and
// replays get real compression from it without a model; fault markers in
// the text work as in Chat.
func (p *Provider) Summarize(ctx context.Context, req llm.Request) (llm.Response, error) {
	if len(req.Messages) == 0 {
		return llm.Response{}, &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Detail: "no messages"}
	}
	text := req.Messages[len(req.Messages)-1].Content
	if m := markerRe.FindStringSubmatch(text); m != nil && isFault(m[1]) {
		return llm.Response{}, p.fail(ctx, m[1])
	}
	counter := p.toks.ForModel(req.Model)
	limit := req.MaxTokens
	if limit <= 0 {
		limit = max(1, counter.Count(text).Tokens/4)
	}
	summary := extract(text, func(s string) int { return counter.Count(s).Tokens }, limit)
	if err := sleep(ctx, p.cfg.Latency); err != nil {
		return llm.Response{}, fmt.Errorf("simulated request canceled: %w", err)
	}
	return llm.Response{
		Text: summary, Model: req.Model, Provider: Name, Simulated: true, FinishReason: "stop", UsageKnown: true,
		Usage: llm.Usage{PromptTokens: llm.PromptTokens(counter, req.Messages), CompletionTokens: counter.Count(summary).Tokens},
	}, nil
}

// extract picks the best-scoring sentences of text whose total count stays
// within limit (at least one sentence, cut at a word if it alone is over).
func extract(text string, count func(string) int, limit int) string {
	sents := sentences(text)
	if len(sents) == 0 {
		return ""
	}
	freq := map[string]int{}
	for _, s := range sents {
		for _, w := range contentWords(s) {
			freq[w]++
		}
	}
	type scored struct {
		i     int
		score float64
	}
	ranked := make([]scored, len(sents))
	seen := map[string]bool{}
	for i, s := range sents {
		ws := contentWords(s)
		sc := 0.0
		for _, w := range ws {
			sc += float64(freq[w])
		}
		if len(ws) > 0 {
			sc /= float64(len(ws))
		}
		// A repeated sentence adds nothing the first copy did not.
		key := strings.Join(ws, " ")
		if seen[key] {
			sc = -1
		}
		seen[key] = true
		ranked[i] = scored{i, sc}
	}
	sort.SliceStable(ranked, func(a, b int) bool { return ranked[a].score > ranked[b].score })
	keep := make([]bool, len(sents))
	used := 0
	for _, r := range ranked {
		if r.score < 0 {
			break
		}
		n := count(sents[r.i]) + 1
		if used+n > limit {
			continue
		}
		keep[r.i], used = true, used+n
	}
	var out []string
	for i, s := range sents {
		if keep[i] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		w := strings.Fields(sents[ranked[0].i])
		for len(w) > 1 && count(strings.Join(w, " ")) > limit {
			w = w[:len(w)-1]
		}
		return strings.Join(w, " ")
	}
	return strings.Join(out, " ")
}

// sentences splits text at ". ", "! ", "? " and line breaks.
func sentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	for i, r := range rs {
		end := r == '\n' || ((r == '.' || r == '!' || r == '?') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1])))
		if !end && i+1 < len(rs) {
			continue
		}
		if s := strings.TrimSpace(string(rs[start : i+1])); s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	return out
}

func contentWords(s string) []string {
	var out []string
	for _, w := range words(s) {
		if len(w) > 2 && !stopwords[w] {
			out = append(out, w)
		}
	}
	return out
}
