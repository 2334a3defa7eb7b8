package llm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/tokens"
)

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  *Error
		want string
		code string
	}{
		{&Error{Kind: ErrAuth, Provider: "openai", Status: 401, Attempts: 1}, "API key rejected by openai (401)", "auth"},
		{&Error{Kind: ErrRateLimited, Provider: "groq", Status: 429, Attempts: 3}, "rate limited by groq (429) after 3 attempts", "rate_limited"},
		{&Error{Kind: ErrRateLimited, Provider: "groq", Status: 429, Attempts: 1, RetryAfter: 90 * time.Second}, "rate limited by groq (429); retry after 1m30s", "rate_limited"},
		{&Error{Kind: ErrBadResponse, Provider: "openai", Detail: "unexpected EOF"}, "openai returned malformed JSON: unexpected EOF", "bad_response"},
		{&Error{Kind: ErrServer, Provider: "vllm", Status: 503, Attempts: 2}, "vllm server error (503) after 2 attempts", "server"},
		{&Error{Kind: ErrTimeout, Provider: "ollama", Attempts: 3, Detail: "no response within 1m0s"}, "ollama timed out after 3 attempts: no response within 1m0s", "timeout"},
		{&Error{Kind: ErrUnavailable, Provider: "lmstudio", Detail: "connection refused"}, "cannot reach lmstudio: connection refused", "unavailable"},
		{&Error{Kind: ErrBadRequest, Provider: "openai", Status: 404}, "openai rejected the request (404)", "bad_request"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %q want %q", got, c.want)
		}
		wrapped := fmt.Errorf("send: %w", c.err)
		if !errors.Is(wrapped, c.err.Kind) || Reason(wrapped) != c.code || c.err.Reason() != c.code {
			t.Errorf("%q: kind/reason lost through wrapping (%s)", c.want, Reason(wrapped))
		}
	}
	if Reason(context.Canceled) != "error" || Reason(nil) != "" {
		t.Error("Reason of foreign errors")
	}
}

func TestRetryable(t *testing.T) {
	for kind, want := range map[error]bool{
		ErrRateLimited: true, ErrServer: true, ErrTimeout: true, ErrUnavailable: true,
		ErrAuth: false, ErrBadRequest: false, ErrBadResponse: false, ErrNoProvider: false,
	} {
		if got := Retryable(&Error{Kind: kind, Provider: "x"}); got != want {
			t.Errorf("%v: retryable %v", kind, got)
		}
	}
}

func TestPromptTokensFraming(t *testing.T) {
	c := tokens.NewRegistry().ForModel("gpt-4o")
	one := []Message{{Role: "user", Content: "Hello, world"}}
	// 3 per message + "user" (1 token) + content + 3 priming the reply.
	if got, want := PromptTokens(c, one), 3+1+c.Count("Hello, world").Tokens+3; got != want {
		t.Fatalf("one message: %d want %d", got, want)
	}
	two := append([]Message{{Role: "system", Content: "Be brief."}}, one...)
	if got, want := PromptTokens(c, two)-PromptTokens(c, one), 3+c.Count("system").Tokens+c.Count("Be brief.").Tokens; got != want {
		t.Fatalf("system message adds %d, want %d", got, want)
	}
}
