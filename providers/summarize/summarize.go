// Package summarize implements compress.Summarizer over penny's chat
// providers: the summary a plan projected is written, at send, by the
// configured cheap model through whichever provider serves it — an
// OpenAI-compatible endpoint (go-openai) or, offline and in demos, the
// simulator's extractive summary.
package summarize

import (
	"context"
	"fmt"

	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/llm"
)

// Resolve returns the provider that serves a model (registry.Resolve).
type Resolve func(model string) (llm.Provider, error)

// extractive is a provider that summarizes without a model (the simulator).
type extractive interface {
	Summarize(ctx context.Context, req llm.Request) (llm.Response, error)
}

// Summarizer sends summary requests to the provider of their model.
type Summarizer struct {
	resolve Resolve
}

// New returns a Summarizer resolving providers with resolve.
func New(resolve Resolve) *Summarizer { return &Summarizer{resolve: resolve} }

// Summarize sends the instruction and text of req (compress.SummaryRequest
// .Messages, the very prompt the plan priced) at temperature 0 with the
// reply capped at req.MaxTokens, and returns the provider's response with
// its usage. The simulator answers with an extractive summary.
func (s *Summarizer) Summarize(ctx context.Context, req compress.SummaryRequest) (llm.Response, error) {
	p, err := s.resolve(req.Model)
	if err != nil {
		return llm.Response{}, fmt.Errorf("summarizer %s: %w", req.Model, err)
	}
	creq := llm.Request{Model: req.Model, Messages: req.Messages(), MaxTokens: req.MaxTokens, Temperature: 0}
	if ex, ok := p.(extractive); ok {
		return ex.Summarize(ctx, creq)
	}
	return p.Chat(ctx, creq, nil)
}
