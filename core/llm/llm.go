// Package llm defines the chat-completion contract between penny's core and
// the providers that talk to models (providers/openai, providers/sim).
package llm

import "context"

// Message is one chat message.
type Message struct {
	Role    string `json:"role"` // "system", "user", "assistant"
	Content string `json:"content"`
}

// Request is a chat completion request.
type Request struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Temperature float64   `json:"temperature"`
}

// Usage is what the provider reports (or, for the simulator, computes).
type Usage struct {
	PromptTokens       int `json:"prompt_tokens"`
	CompletionTokens   int `json:"completion_tokens"`
	CachedPromptTokens int `json:"cached_prompt_tokens"`
}

// Response is a finished completion.
type Response struct {
	Text         string `json:"text"`
	Model        string `json:"model"`    // as reported by the provider
	Provider     string `json:"provider"` // configured provider name
	Usage        Usage  `json:"usage"`
	UsageKnown   bool   `json:"usage_known"` // false when the provider reported no usage and tokens were counted locally
	Simulated    bool   `json:"simulated"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// Provider sends chat requests. onDelta, when non-nil, receives streamed
// text as it arrives; the returned Response holds the whole text either way.
type Provider interface {
	Name() string
	Chat(ctx context.Context, req Request, onDelta func(string)) (Response, error)
}
