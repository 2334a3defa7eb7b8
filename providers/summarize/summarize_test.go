package summarize

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
	"github.com/pennyllm/penny/providers/openai"
	"github.com/pennyllm/penny/providers/registry"
)

var toks = sync.OnceValue(tokens.NewRegistry)

func catalog(t *testing.T) *pricing.Catalog {
	t.Helper()
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

const region = "The migration moved 42 services to the new cluster in eu-west-1. It took several weeks of careful work. " +
	"The team rehearsed every cutover twice. Nobody was paged during the move. The old cluster was retired in May."

func request() compress.SummaryRequest {
	return compress.PendingSummary{Region: region, EstimatedTokens: 12, MaxTokens: 30, Keep: []string{"42"}}.Request("gpt-4o-mini")
}

// TestOpenAIWire sends a summary request through the registry to an
// OpenAI-compatible endpoint and checks what went over the wire and what
// came back.
func TestOpenAIWire(t *testing.T) {
	var mu sync.Mutex
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",
			"choices":[{"index":0,"message":{"role":"assistant","content":"42 services moved to eu-west-1 in weeks; old cluster retired in May."},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":97,"completion_tokens":17,"total_tokens":114}}`))
	}))
	defer srv.Close()
	env := map[string]string{"TEST_KEY": "sk-test"}
	reg, err := registry.New(registry.Config{Endpoints: []openai.Config{{Name: "test", BaseURL: srv.URL + "/v1", APIKeyEnv: "TEST_KEY",
		Models: []string{"gpt-4o-mini"}, MaxAttempts: 1}}}, catalog(t), toks(), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := request()
	resp, err := New(reg.Resolve).Summarize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "42 services moved to eu-west-1 in weeks; old cluster retired in May." || resp.Provider != "test" || resp.Simulated ||
		!resp.UsageKnown || resp.Usage.PromptTokens != 97 || resp.Usage.CompletionTokens != 17 || resp.Model != "gpt-4o-mini-2024-07-18" {
		t.Fatalf("response %+v", resp)
	}
	mu.Lock()
	defer mu.Unlock()
	msgs, _ := body["messages"].([]any)
	if body["model"] != "gpt-4o-mini" || len(msgs) != 2 {
		t.Fatalf("body %v", body)
	}
	sys, _ := msgs[0].(map[string]any)
	user, _ := msgs[1].(map[string]any)
	want := req.Messages()
	if sys["role"] != "system" || sys["content"] != want[0].Content || user["role"] != "user" || user["content"] != region {
		t.Fatalf("messages %v", msgs)
	}
	if mt, _ := body["max_tokens"].(float64); int(mt) != req.MaxTokens {
		if mct, _ := body["max_completion_tokens"].(float64); int(mct) != req.MaxTokens {
			t.Fatalf("reply cap not sent: %v", body)
		}
	}
	// A failing endpoint: the error comes back typed, for the sender to
	// fall back on the unsummarized text.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	if _, err := New(reg.Resolve).Summarize(context.Background(), req); !errors.Is(err, llm.ErrServer) {
		t.Fatalf("err = %v", err)
	}
	// A model no endpoint serves.
	req.Model = "claude-3-haiku"
	if _, err := New(reg.Resolve).Summarize(context.Background(), req); !errors.Is(err, llm.ErrNoProvider) {
		t.Fatalf("err = %v", err)
	}
}

// TestSimulatorSummarizes checks the offline path: the simulator's
// extractive summary, deterministic, within the cap, with usage.
func TestSimulatorSummarizes(t *testing.T) {
	reg, err := registry.New(registry.Config{Offline: true}, catalog(t), toks(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(reg.Resolve)
	req := request()
	a, err := s.Summarize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Summarize(context.Background(), req)
	c := toks().ForModel("gpt-4o-mini")
	if a.Text != b.Text || !a.Simulated || a.Provider != "sim" || a.Text == "" || c.Count(a.Text).Tokens > req.MaxTokens ||
		a.Usage.PromptTokens != llm.PromptTokens(c, req.Messages()) || a.Usage.CompletionTokens != c.Count(a.Text).Tokens {
		t.Fatalf("sim summary %+v", a)
	}
	// Extractive: every sentence it keeps is a sentence of the region.
	for _, sent := range strings.SplitAfter(a.Text, ". ") {
		if !strings.Contains(region, strings.TrimSpace(sent)) {
			t.Fatalf("%q is not from the region", sent)
		}
	}
	if len(a.Text) >= len(region) {
		t.Fatalf("not shorter: %q", a.Text)
	}
	// Fault markers work as in Chat.
	req.Text += " [[sim:server_error]]"
	if _, err := s.Summarize(context.Background(), req); !errors.Is(err, llm.ErrServer) {
		t.Fatalf("fault: %v", err)
	}
}
