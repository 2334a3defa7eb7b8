package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
)

const testKey = "sk-test-THISKEYMUSTNEVERLEAK-0123456789abcdef"

var toks = tokens.NewRegistry()

// server is a scripted OpenAI-compatible endpoint: call i (0-based) is
// answered by steps[min(i, len-1)].
type server struct {
	t     *testing.T
	srv   *httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	last  map[string]any // last request body
	auth  string
	steps []http.HandlerFunc
}

func newServer(t *testing.T, steps ...http.HandlerFunc) *server {
	t.Helper()
	s := &server{t: t, steps: steps}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		s.last, s.auth = body, r.Header.Get("Authorization")
		s.mu.Unlock()
		i := int(s.calls.Add(1)) - 1
		s.steps[min(i, len(s.steps)-1)](w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) url() string { return s.srv.URL + "/v1" }

func (s *server) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// fastConfig keeps retries and timeouts in milliseconds so the suite runs
// in well under a few seconds.
func fastConfig(name, baseURL string) Config {
	return Config{
		Name: name, BaseURL: baseURL,
		Timeout: 300 * time.Millisecond, IdleTimeout: 200 * time.Millisecond,
		MaxAttempts: 3, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		MaxRetryAfter: 2 * time.Second,
	}
}

func newProvider(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg, testKey, toks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func userReq(model, prompt string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{{Role: "user", Content: prompt}}}
}

func completion(text string, prompt, completion int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],
"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":4}}}`,
			text, prompt, completion, prompt+completion)
	}
}

func status(code int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// sse writes chunks as server-sent events; usage, when non-nil, is sent as
// the final chunk with empty choices, as OpenAI does with include_usage.
func sse(deltas []string, usage *[2]int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for i, d := range deltas {
			finish := "null"
			if i == len(deltas)-1 {
				finish = `"stop"`
			}
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", d, finish)
			f.Flush()
		}
		if usage != nil {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", usage[0], usage[1], usage[0]+usage[1])
		}
		io.WriteString(w, "data: [DONE]\n\n")
		f.Flush()
	}
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// assertNoKey fails when any rendering of err shows the key.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "THISKEYMUSTNEVERLEAK") {
			t.Fatalf("error text leaks the API key: %s", s)
		}
	}
}

func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *llm.Error, got %T: %v", err, err)
	}
	return e
}

func TestPlainCompletionWithUsage(t *testing.T) {
	s := newServer(t, completion("Paris.", 14, 2))
	p := newProvider(t, fastConfig("openai", s.url()))
	resp, err := p.Chat(context.Background(), userReq("gpt-4o-mini", "Capital of France?"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{Text: "Paris.", Model: "gpt-4o-mini-2024-07-18", Provider: "openai",
		Usage: llm.Usage{PromptTokens: 14, CompletionTokens: 2, CachedPromptTokens: 4}, UsageKnown: true, FinishReason: "stop"}
	if resp != want {
		t.Fatalf("got %+v\nwant %+v", resp, want)
	}
	body := s.lastBody()
	if body["model"] != "gpt-4o-mini" || body["stream"] == true {
		t.Fatalf("request body: %v", body)
	}
	if _, ok := body["temperature"]; !ok {
		t.Fatal("temperature 0 must be sent, not omitted (servers default to 1)")
	}
	if s.auth != "Bearer "+testKey {
		t.Fatal("Authorization header missing or wrong")
	}
}

func TestStreamWithUsage(t *testing.T) {
	s := newServer(t, sse([]string{"Hel", "lo", ", world"}, &[2]int{9, 4}))
	p := newProvider(t, fastConfig("openai", s.url()))
	var got []string
	resp, err := p.Chat(context.Background(), userReq("gpt-4o-mini", "say hello"), func(d string) { got = append(got, d) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "Hel|lo|, world" || resp.Text != "Hello, world" {
		t.Fatalf("deltas %q text %q", got, resp.Text)
	}
	if !resp.UsageKnown || resp.Usage.PromptTokens != 9 || resp.Usage.CompletionTokens != 4 || resp.FinishReason != "stop" {
		t.Fatalf("resp %+v", resp)
	}
	opts, _ := s.lastBody()["stream_options"].(map[string]any)
	if s.lastBody()["stream"] != true || opts["include_usage"] != true {
		t.Fatalf("stream usage not requested: %v", s.lastBody())
	}
}

func TestStreamWithoutUsageCountsLocally(t *testing.T) {
	s := newServer(t, sse([]string{"Hello", " there"}, nil))
	cfg := fastConfig("ollama", s.url())
	cfg.DisableStreamUsage = true
	p := newProvider(t, cfg)
	req := userReq("gpt-4o-mini", "greet me politely")
	resp, err := p.Chat(context.Background(), req, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, sent := s.lastBody()["stream_options"]; sent {
		t.Fatal("stream_options sent although disabled")
	}
	c := toks.ForModel("gpt-4o-mini")
	if resp.UsageKnown || resp.Usage.PromptTokens != llm.PromptTokens(c, req.Messages) ||
		resp.Usage.CompletionTokens != c.Count("Hello there").Tokens {
		t.Fatalf("local usage wrong: %+v", resp)
	}
}

func TestRateLimitRetryAfterSeconds(t *testing.T) {
	s := newServer(t,
		status(429, `{"error":{"message":"slow down","type":"rate_limit"}}`, "Retry-After", "1"),
		completion("ok", 5, 1))
	p := newProvider(t, fastConfig("groq", s.url()))
	start := time.Now()
	resp, err := p.Chat(context.Background(), userReq("llama-3.3-70b", "hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Fatalf("Retry-After: 1 not honoured, retried after %s", el)
	}
	if resp.Text != "ok" || s.calls.Load() != 2 {
		t.Fatalf("resp %+v calls %d", resp, s.calls.Load())
	}
}

func TestRateLimitExhausted(t *testing.T) {
	s := newServer(t, status(429, `{"error":{"message":"Rate limit reached","type":"tokens"}}`, "Retry-After-Ms", "10"))
	p := newProvider(t, fastConfig("groq", s.url()))
	_, err := p.Chat(context.Background(), userReq("llama-3.3-70b", "hi"), nil)
	e := asLLMError(t, err)
	if !errors.Is(err, llm.ErrRateLimited) || e.Attempts != 3 || s.calls.Load() != 3 {
		t.Fatalf("err %v attempts %d calls %d", err, e.Attempts, s.calls.Load())
	}
	if !strings.HasPrefix(err.Error(), "rate limited by groq (429) after 3 attempts") {
		t.Fatalf("message: %q", err)
	}
	if e.Reason() != "rate_limited" {
		t.Fatalf("reason %q", e.Reason())
	}
}

func TestRetryAfterBeyondCapGivesUp(t *testing.T) {
	date := time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat)
	s := newServer(t, status(429, `{"error":{"message":"quota"}}`, "Retry-After", date))
	p := newProvider(t, fastConfig("openai", s.url()))
	start := time.Now()
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	e := asLLMError(t, err)
	if s.calls.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("should give up at once, calls %d", s.calls.Load())
	}
	if e.RetryAfter < 9*time.Minute || !strings.Contains(err.Error(), "retry after") {
		t.Fatalf("RetryAfter from HTTP date not reported: %v (%s)", err, e.RetryAfter)
	}
}

func TestServerErrorThenSuccess(t *testing.T) {
	s := newServer(t, status(500, `{"error":{"message":"internal","type":"server_error"}}`), completion("fine", 5, 1))
	p := newProvider(t, fastConfig("openai", s.url()))
	resp, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	if err != nil || resp.Text != "fine" || s.calls.Load() != 2 {
		t.Fatalf("resp %+v err %v calls %d", resp, err, s.calls.Load())
	}
}

func TestServerErrorHTMLBody(t *testing.T) {
	s := newServer(t, status(502, "<html>Bad Gateway</html>"))
	p := newProvider(t, fastConfig("together", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	if !errors.Is(err, llm.ErrServer) || !strings.HasPrefix(err.Error(), "together server error (502) after 3 attempts") {
		t.Fatalf("err %v", err)
	}
}

func TestHangPastTimeout(t *testing.T) {
	s := newServer(t, hang)
	cfg := fastConfig("openai", s.url())
	cfg.Timeout = 100 * time.Millisecond
	cfg.MaxAttempts = 2
	p := newProvider(t, cfg)
	start := time.Now()
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	el := time.Since(start)
	if !errors.Is(err, llm.ErrTimeout) || s.calls.Load() != 2 {
		t.Fatalf("err %v calls %d", err, s.calls.Load())
	}
	if el < 200*time.Millisecond || el > 2*time.Second {
		t.Fatalf("elapsed %s for two 100ms timeouts", el)
	}
	if !strings.Contains(err.Error(), "openai timed out after 2 attempts") {
		t.Fatalf("message %q", err)
	}
}

func TestStreamIdleTimeoutNotRetriedAfterOutput(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	p := newProvider(t, fastConfig("vllm", s.url()))
	var got string
	_, err := p.Chat(context.Background(), userReq("llama-3.1-8b", "hi"), func(d string) { got += d })
	if !errors.Is(err, llm.ErrTimeout) || got != "par" || s.calls.Load() != 1 {
		t.Fatalf("err %v got %q calls %d", err, got, s.calls.Load())
	}
	if !strings.Contains(err.Error(), "stream silent for 200ms") || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("message %q", err)
	}
}

func TestMalformedJSON(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","choices":[{"message":`)
	})
	p := newProvider(t, fastConfig("openai", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	if !errors.Is(err, llm.ErrBadResponse) || s.calls.Load() != 1 {
		t.Fatalf("err %v calls %d (malformed JSON must not be retried)", err, s.calls.Load())
	}
	if !strings.HasPrefix(err.Error(), "openai returned malformed JSON") {
		t.Fatalf("message %q", err)
	}
}

func TestMalformedStreamChunk(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"delta\":\n\ndata: [DONE]\n\n")
	})
	p := newProvider(t, fastConfig("openai", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), func(string) {})
	if !errors.Is(err, llm.ErrBadResponse) {
		t.Fatalf("err %v", err)
	}
}

func TestErrorEventInStream(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}\n\n")
	})
	p := newProvider(t, fastConfig("openrouter", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), func(string) {})
	if !errors.Is(err, llm.ErrServer) || !strings.Contains(err.Error(), "model overloaded") || s.calls.Load() != 3 {
		t.Fatalf("err %v calls %d", err, s.calls.Load())
	}
}

func TestUnauthorizedNeverLeaksKey(t *testing.T) {
	// Servers quote the key they rejected; penny must not repeat it.
	s := newServer(t, status(401, `{"error":{"message":"Incorrect API key provided: `+testKey+`.","type":"invalid_request_error","code":"invalid_api_key"}}`))
	p := newProvider(t, fastConfig("openai", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), nil)
	if !errors.Is(err, llm.ErrAuth) || s.calls.Load() != 1 {
		t.Fatalf("err %v calls %d (401 must not be retried)", err, s.calls.Load())
	}
	if err.Error() != "API key rejected by openai (401)" {
		t.Fatalf("message %q", err)
	}
	assertNoKey(t, err)
}

func TestKeyRedactedFromEveryErrorPath(t *testing.T) {
	echo := `{"error":{"message":"bad header Authorization: Bearer ` + testKey + ` and key=` + testKey + `"}}`
	cases := map[string]http.HandlerFunc{
		"400":         status(400, echo),
		"403":         status(403, echo),
		"429":         status(429, echo),
		"500":         status(500, echo),
		"html":        status(503, "<p>"+testKey+"</p>"),
		"malformed":   func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"key":"`+testKey+`", oops`) },
		"streamerror": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "data: "+echo+"\n\n") },
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, h)
			p := newProvider(t, fastConfig("openai", s.url()))
			var onDelta func(string)
			if name == "streamerror" {
				onDelta = func(string) {}
			}
			_, err := p.Chat(context.Background(), userReq("gpt-4o", "hi"), onDelta)
			if err == nil {
				t.Fatal("want error")
			}
			assertNoKey(t, err)
		})
	}
}

func TestBadRequestNotRetried(t *testing.T) {
	s := newServer(t, status(404, `{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error"}}`))
	p := newProvider(t, fastConfig("openai", s.url()))
	_, err := p.Chat(context.Background(), userReq("gpt-9", "hi"), nil)
	if !errors.Is(err, llm.ErrBadRequest) || s.calls.Load() != 1 || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err %v calls %d", err, s.calls.Load())
	}
}

func TestCallerCancellation(t *testing.T) {
	s := newServer(t, hang)
	cfg := fastConfig("openai", s.url())
	cfg.Timeout = 10 * time.Second
	p := newProvider(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Chat(ctx, userReq("gpt-4o", "hi"), nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second || s.calls.Load() != 1 {
		t.Fatalf("err %v after %s calls %d", err, time.Since(start), s.calls.Load())
	}
}

func TestUnreachable(t *testing.T) {
	s := newServer(t, hang)
	url := s.url()
	s.srv.Close()
	p := newProvider(t, fastConfig("ollama", url))
	_, err := p.Chat(context.Background(), userReq("llama3.2", "hi"), nil)
	if !errors.Is(err, llm.ErrUnavailable) || !strings.HasPrefix(err.Error(), "cannot reach ollama after 3 attempts") {
		t.Fatalf("err %v", err)
	}
	assertNoKey(t, err)
}

func TestConcurrentCallsKeepTheirOwnHeaders(t *testing.T) {
	// Each prompt is rate limited on its first call: odd prompts with a
	// Retry-After beyond the cap (give up, report 1s), even prompts with 1ms
	// (retry, succeed). If per-attempt header captures were shared between
	// concurrent calls, some outcome would flip. Run with -race.
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) == 0 {
			http.Error(w, "bad", 400)
			return
		}
		prompt := body.Messages[0].Content
		var i int
		fmt.Sscanf(prompt, "p%d", &i)
		mu.Lock()
		first := !seen[prompt]
		seen[prompt] = true
		mu.Unlock()
		if first {
			ms := "1"
			if i%2 == 1 {
				ms = "1000"
			}
			status(429, `{"error":{"message":"slow"}}`, "Retry-After-Ms", ms)(w, r)
			return
		}
		completion("ok", 3, 1)(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := fastConfig("openai", srv.URL+"/v1")
	cfg.MaxAttempts = 2
	cfg.MaxRetryAfter = 100 * time.Millisecond
	p := newProvider(t, cfg)
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			_, err := p.Chat(context.Background(), userReq("gpt-4o", fmt.Sprintf("p%d", i)), nil)
			var e *llm.Error
			switch {
			case i%2 == 0 && err != nil:
				t.Errorf("p%d: %v", i, err)
			case i%2 == 1 && (!errors.As(err, &e) || e.RetryAfter != time.Second || e.Attempts != 1):
				t.Errorf("p%d: want give-up with RetryAfter 1s, got %v", i, err)
			}
		})
	}
	wg.Wait()
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, c := range []struct {
		h    http.Header
		want time.Duration
	}{
		{nil, 0},
		{h("Retry-After", "7"), 7 * time.Second},
		{h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{h("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0},
		{h("Retry-After", "soon"), 0},
		{h("Retry-After", "-3"), 0},
		{h("Retry-After-Ms", "250", "Retry-After", "1"), 250 * time.Millisecond},
	} {
		if got := retryAfter(c.h, now); got != c.want {
			t.Errorf("%v: got %s want %s", c.h, got, c.want)
		}
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	p := &Provider{cfg: Config{BackoffBase: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond}}
	for attempt, hi := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 6: 400} {
		hi *= time.Millisecond
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.backoff(attempt)
			if d < hi/2 || d > hi {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, hi/2, hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: no jitter", attempt)
		}
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	ok := Config{Name: "ollama", BaseURL: "http://localhost:11434/v1"}
	if err := ok.WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	for field, c := range map[string]Config{
		"name":         {Name: "Bad Name", BaseURL: "http://x"},
		"base_url":     {Name: "x", BaseURL: "localhost:11434"},
		"api_key_env":  {Name: "x", BaseURL: "http://x", APIKeyEnv: testKey},
		"models":       {Name: "x", BaseURL: "http://x", Models: []string{"ll*ama"}},
		"timeout":      {Name: "x", BaseURL: "http://x", Timeout: -time.Second},
		"max_attempts": {Name: "x", BaseURL: "http://x", MaxAttempts: 99},
	} {
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: got %v", field, err)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: validation error echoes the key", field)
		}
	}
	if err := (Config{Name: "x", BaseURL: "https://user:" + testKey + "@host/v1"}).Validate(); err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("credentials in base_url: %v", err)
	}
}

func TestConfigTOMLAndSecretRedaction(t *testing.T) {
	var c Config
	_, err := toml.Decode(`
name = "openrouter"
base_url = "https://openrouter.ai/api/v1"
api_key = "`+testKey+`"
serves = ["openai", "anthropic"]
qualify_model_ids = true
timeout = "45s"
idle_timeout = "5s"
[model_map]
"claude-3-haiku" = "anthropic/claude-3-haiku"
`, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 45*time.Second || c.IdleTimeout != 5*time.Second || c.APIKey.Reveal() != testKey {
		t.Fatalf("decoded %+v", c)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, testKey) {
			t.Fatalf("printing a Config shows the key: %s", s)
		}
	}
	var sb strings.Builder
	if err := toml.NewEncoder(&sb).Encode(c); err != nil || strings.Contains(sb.String(), testKey) {
		t.Fatalf("encoding a Config shows the key (%v): %s", err, sb.String())
	}
	if got := c.WireModel("claude-3-haiku", "anthropic"); got != "anthropic/claude-3-haiku" {
		t.Fatal(got)
	}
	if got := c.WireModel("gpt-4o", "openai"); got != "openai/gpt-4o" {
		t.Fatal(got)
	}
	if !c.Serve("gpt-4o", "openai") || c.Serve("gemini-2.0-flash", "google") {
		t.Fatal("serves by catalog provider")
	}
}

func TestPrintingProviderHidesKey(t *testing.T) {
	p := newProvider(t, fastConfig("openai", "http://127.0.0.1:9/v1"))
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%+v", *p), fmt.Sprintf("%v", []*Provider{p})} {
		if strings.Contains(s, testKey) {
			t.Fatalf("printing a Provider shows the key: %s", s)
		}
	}
}

func TestReasoningModelsGetTheirParameters(t *testing.T) {
	s := newServer(t, completion("ok", 5, 1))
	p := newProvider(t, fastConfig("openai", s.url()))
	req := userReq("o3-mini", "hi")
	req.MaxTokens = 50
	if _, err := p.Chat(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body := s.lastBody()
	_, temp := body["temperature"]
	_, maxTok := body["max_tokens"]
	if temp || maxTok || body["max_completion_tokens"] != float64(50) {
		t.Fatalf("reasoning request body: %v", body)
	}
	req.Model = "gpt-4o"
	if _, err := p.Chat(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if body = s.lastBody(); body["max_tokens"] != float64(50) {
		t.Fatalf("chat request body: %v", body)
	}
}

func TestClientSideRejectionIsBadRequest(t *testing.T) {
	s := newServer(t, completion("ok", 5, 1))
	p := newProvider(t, fastConfig("openai", s.url()))
	// go-openai knows text-davinci-003 cannot chat and refuses locally.
	_, err := p.Chat(context.Background(), userReq("text-davinci-003", "hi"), nil)
	if !errors.Is(err, llm.ErrBadRequest) || s.calls.Load() != 0 {
		t.Fatalf("err %v calls %d", err, s.calls.Load())
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("Incorrect API key provided: ", "sk-proj-abc")
	f.Add("Bearer ", " and more text")
	f.Add(strings.Repeat("é", 150), strings.Repeat("x", 80))
	p := &Provider{key: testKey}
	f.Fuzz(func(t *testing.T, before, after string) {
		out := p.redact(before + testKey + after)
		if strings.Contains(out, testKey) || strings.Contains(out, "THISKEYMUSTNEVERLEAK") {
			t.Fatalf("key survived: %q", out)
		}
		if strings.ContainsAny(out, "\n\r\t") || len(out) > maxDetail+len("…") {
			t.Fatalf("not one bounded line: %q", out)
		}
	})
}

func TestStreamSilentBeforeFirstChunkIsRetried(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, sse([]string{"late but fine"}, &[2]int{5, 3}))
	cfg := fastConfig("lmstudio", s.url())
	cfg.Timeout = 80 * time.Millisecond
	p := newProvider(t, cfg)
	resp, err := p.Chat(context.Background(), userReq("qwen2.5-7b", "hi"), func(string) {})
	if err != nil || resp.Text != "late but fine" || s.calls.Load() != 2 {
		t.Fatalf("resp %+v err %v calls %d", resp, err, s.calls.Load())
	}
}
