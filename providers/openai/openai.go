// Package openai talks to any OpenAI-compatible chat completions endpoint
// (OpenAI, Ollama, vLLM, LM Studio, OpenRouter, Groq, Together) through
// github.com/sashabaranov/go-openai, with streaming usage, timeouts,
// retries and errors that say what happened without ever showing the key.
package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
)

// Provider is one configured endpoint. It is safe for concurrent use.
type Provider struct {
	cfg    Config
	key    string
	client *goopenai.Client
	toks   *tokens.Registry
}

// New builds a provider for cfg (defaults applied, then validated). apiKey
// may be empty for local servers that need none. httpClient may be nil; its
// Timeout should be zero because the provider enforces its own timeouts per
// attempt.
func New(cfg Config, apiKey string, toks *tokens.Registry, httpClient *http.Client) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if toks == nil {
		return nil, errors.New("openai provider: nil token registry")
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	oc := goopenai.DefaultConfig(apiKey)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = capturingDoer{inner: httpClient}
	// go-openai tolerates 300 non-data lines before giving up on a stream;
	// keep-alive comments from proxies are counted, so leave the default.
	return &Provider{cfg: cfg, key: apiKey, client: goopenai.NewClientWithConfig(oc), toks: toks}, nil
}

// String and GoString keep the key out of %v, %+v and %#v: fmt prints
// unexported fields raw, without calling their String methods.
func (p Provider) String() string {
	return fmt.Sprintf("openai.Provider(%s %s)", p.cfg.Name, p.cfg.BaseURL)
}
func (p Provider) GoString() string { return p.String() }

// Name is the configured endpoint name.
func (p *Provider) Name() string { return p.cfg.Name }

// Config returns the effective configuration (the key stays redacted).
func (p *Provider) Config() Config { return p.cfg }

// errAttemptTimeout is the cancellation cause of an attempt whose timer
// fired, which tells a timeout apart from the caller cancelling.
var errAttemptTimeout = errors.New("attempt timed out")

// Chat sends req, streaming when onDelta is non-nil. Failed attempts are
// retried on rate limits, server errors, timeouts and transport errors, but
// never once text has reached onDelta (the caller would see it twice).
func (p *Provider) Chat(ctx context.Context, req llm.Request, onDelta func(string)) (llm.Response, error) {
	if len(req.Messages) == 0 {
		return llm.Response{}, &llm.Error{Kind: llm.ErrBadRequest, Provider: p.cfg.Name, Detail: "no messages"}
	}
	emitted := false
	var last *llm.Error
	for attempt := 1; attempt <= p.cfg.MaxAttempts; attempt++ {
		resp, aerr := p.once(ctx, req, onDelta, &emitted)
		if aerr == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return llm.Response{}, fmt.Errorf("request to %s stopped by the caller: %w", p.cfg.Name, ctx.Err())
		}
		aerr.Attempts = attempt
		last = aerr
		if !llm.Retryable(aerr) || attempt == p.cfg.MaxAttempts {
			break
		}
		if emitted {
			aerr.Detail = joinDetail("stream broke after partial output; not retried", aerr.Detail)
			break
		}
		wait := p.backoff(attempt)
		if aerr.RetryAfter > 0 {
			if aerr.RetryAfter > p.cfg.MaxRetryAfter {
				// Waiting minutes inside a send is worse than saying so:
				// the error carries RetryAfter for the caller to show.
				break
			}
			wait = aerr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return llm.Response{}, fmt.Errorf("request to %s stopped by the caller: %w", p.cfg.Name, ctx.Err())
		case <-t.C:
		}
	}
	return llm.Response{}, last
}

func (p *Provider) wireRequest(req llm.Request) goopenai.ChatCompletionRequest {
	msgs := make([]goopenai.ChatCompletionMessage, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	w := goopenai.ChatCompletionRequest{Model: req.Model, Messages: msgs}
	if reasoningModel(req.Model) {
		// Reasoning models reject max_tokens and any temperature but the
		// default (go-openai refuses such requests before sending them).
		w.MaxCompletionTokens = req.MaxTokens
		return w
	}
	w.MaxTokens = req.MaxTokens
	w.Temperature = float32(req.Temperature)
	if w.Temperature == 0 {
		// go-openai omits a zero temperature, which servers read as their
		// default (usually 1). The smallest positive float keeps the
		// request as deterministic as the caller asked.
		w.Temperature = math.SmallestNonzeroFloat32
	}
	return w
}

// reasoningModel matches OpenAI's reasoning families (o1, o3, o4, gpt-5,
// gpt-6), also behind a router prefix such as "openai/o3-mini".
func reasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"o1", "o3", "o4"} {
		if m == p || strings.HasPrefix(m, p+"-") {
			return true
		}
	}
	return strings.HasPrefix(m, "gpt-5") || strings.HasPrefix(m, "gpt-6")
}

// once makes one attempt. Its context is cancelled by a timer: Timeout
// until the response (or, streaming, the first chunk), then IdleTimeout
// between chunks.
func (p *Provider) once(ctx context.Context, req llm.Request, onDelta func(string), emitted *bool) (llm.Response, *llm.Error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := p.cfg.Timeout
	timer := time.AfterFunc(limit, func() { cancel(errAttemptTimeout) })
	defer timer.Stop()
	capt := &capture{}
	actx = context.WithValue(actx, captureKey{}, capt)
	wreq := p.wireRequest(req)

	if onDelta == nil {
		r, err := p.client.CreateChatCompletion(actx, wreq)
		if err != nil {
			return llm.Response{}, p.classify(actx, capt, err, limit, false)
		}
		if len(r.Choices) == 0 {
			return llm.Response{}, &llm.Error{Kind: llm.ErrBadResponse, Provider: p.cfg.Name, Detail: "no choices in the response"}
		}
		resp := llm.Response{
			Text: r.Choices[0].Message.Content, Model: r.Model, Provider: p.cfg.Name,
			FinishReason: string(r.Choices[0].FinishReason),
		}
		p.setUsage(&resp, req, usageOf(r.Usage))
		return resp, nil
	}

	if !p.cfg.DisableStreamUsage {
		wreq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	}
	st, err := p.client.CreateChatCompletionStream(actx, wreq)
	if err != nil {
		return llm.Response{}, p.classify(actx, capt, err, limit, false)
	}
	defer st.Close()
	var (
		sb     strings.Builder
		usage  *llm.Usage
		resp   = llm.Response{Provider: p.cfg.Name}
		chunks int
	)
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return llm.Response{}, p.classify(actx, capt, err, limit, chunks > 0)
		}
		chunks++
		limit = p.cfg.IdleTimeout
		timer.Reset(limit)
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		if chunk.Usage != nil {
			u := usageOf(*chunk.Usage)
			usage = &u
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if d := ch.Delta.Content; d != "" {
				sb.WriteString(d)
				*emitted = true
				onDelta(d)
			}
			if ch.FinishReason != "" {
				resp.FinishReason = string(ch.FinishReason)
			}
		}
	}
	if chunks == 0 {
		return llm.Response{}, &llm.Error{Kind: llm.ErrBadResponse, Provider: p.cfg.Name, Detail: "empty stream"}
	}
	resp.Text = sb.String()
	if usage != nil {
		p.setUsage(&resp, req, *usage)
	} else {
		p.setUsage(&resp, req, llm.Usage{})
	}
	return resp, nil
}

func usageOf(u goopenai.Usage) llm.Usage {
	out := llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CachedPromptTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

// setUsage records the server's usage, or counts locally with the
// requested model's tokenizer when the server reported none (some local
// servers omit usage, or ignore stream_options).
func (p *Provider) setUsage(resp *llm.Response, req llm.Request, u llm.Usage) {
	if u.PromptTokens > 0 || u.CompletionTokens > 0 {
		resp.Usage, resp.UsageKnown = u, true
		return
	}
	c := p.toks.ForModel(req.Model)
	resp.Usage = llm.Usage{PromptTokens: llm.PromptTokens(c, req.Messages), CompletionTokens: c.Count(resp.Text).Tokens}
	resp.UsageKnown = false
}

func joinDetail(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
