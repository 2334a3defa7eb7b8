package llm

import "github.com/pennyllm/penny/core/tokens"

// Chat framing as OpenAI's cookbook counts it ("How to count tokens with
// tiktoken"): every message costs 3 tokens of header plus its role and
// content, and 3 more tokens prime the assistant's reply. The API's reported
// prompt_tokens match this for the gpt-3.5/gpt-4/gpt-4o families.
const (
	TokensPerMessage = 3
	ReplyPriming     = 3
)

// PromptTokens counts the prompt of a chat request locally, with the chat
// framing above. Providers use it when a server reports no usage, and the
// simulator uses it as its "reported" usage.
func PromptTokens(c tokens.Counter, msgs []Message) int {
	n := ReplyPriming
	for _, m := range msgs {
		n += TokensPerMessage + c.Count(m.Role).Tokens + c.Count(m.Content).Tokens
	}
	return n
}
