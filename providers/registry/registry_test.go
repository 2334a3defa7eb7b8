package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
	"github.com/pennyllm/penny/providers/openai"
	"github.com/pennyllm/penny/providers/sim"
)

const (
	openaiKey     = "sk-openai-REGISTRYKEYNEVERSHOWN-111111"
	openrouterKey = "sk-or-v1-ROUTERKEYNEVERSHOWN-222222"
)

var toks = tokens.NewRegistry()

func catalog(t testing.TB) *pricing.Catalog {
	t.Helper()
	c, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func envMap(kv ...string) LookupEnv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// wire is an OpenAI-compatible server recording the model and key it saw.
type wire struct {
	srv         *httptest.Server
	mu          sync.Mutex
	model, auth string
}

func newWire(t *testing.T) *wire {
	w := &wire{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.mu.Lock()
		w.model, w.auth = body.Model, r.Header.Get("Authorization")
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(rw, `{"id":"x","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"real answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`, body.Model)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *wire) seen() (string, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.model, w.auth
}

func ids(ms []pricing.Model) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.ID)
	}
	return strings.Join(s, ",")
}

// chatIDs lists the catalog's chat models whose provider is in providers.
func chatIDs(t *testing.T, providers ...string) string {
	var out []pricing.Model
	for _, m := range catalog(t).Models() {
		if (m.Mode == "" || m.Mode == "chat") && (len(providers) == 0 || slices.Contains(providers, m.Provider)) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		t.Fatal("catalog has no chat model for", providers)
	}
	return ids(out)
}

func ask(model string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{{Role: "user", Content: "hello there"}}}
}

func TestOfflineSimulatesEveryModel(t *testing.T) {
	r, err := New(Config{}, catalog(t), toks, envMap(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Simulated() {
		t.Fatal("no key: should be simulated")
	}
	if got, want := ids(r.AvailableModels()), chatIDs(t); got != want {
		t.Fatalf("offline: %s\nwant every chat model: %s", got, want)
	}
	if !r.Available("claude-3-haiku") || r.Available("") || r.Available("text-embedding-3-small") {
		t.Fatal("Available offline")
	}
	resp, err := r.Chat(context.Background(), ask("claude-3-haiku"), nil)
	if err != nil || !resp.Simulated || resp.Provider != "sim" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	st := r.Status()
	if len(st) != 1 || st[0].Name != "openai" || st[0].Available || st[0].Reason != "OPENAI_API_KEY is not set" {
		t.Fatalf("status %+v", st)
	}
}

func TestOpenAIFromEnvOnlyOpenAIModels(t *testing.T) {
	w := newWire(t)
	r, err := New(Config{}, catalog(t), toks,
		envMap(EnvOpenAIKey, openaiKey, EnvOpenAIBaseURL, w.srv.URL+"/v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Simulated() {
		t.Fatal("key set: should not be simulated")
	}
	if got, want := ids(r.AvailableModels()), chatIDs(t, "openai"); got != want {
		t.Fatalf("available: %s", got)
	}
	if r.Available("claude-3-haiku") {
		t.Fatal("claude has no provider configured")
	}
	resp, err := r.Chat(context.Background(), ask("gpt-4o-mini"), nil)
	if err != nil || resp.Simulated || resp.Provider != "openai" || resp.Text != "real answer" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if m, a := w.seen(); m != "gpt-4o-mini" || a != "Bearer "+openaiKey {
		t.Fatalf("server saw model %q auth %q", m, a)
	}
	_, err = r.Chat(context.Background(), ask("claude-3-haiku"), nil)
	if !errors.Is(err, llm.ErrNoProvider) || llm.Reason(err) != "no_provider" {
		t.Fatalf("err %v", err)
	}
}

func TestNamedEndpoints(t *testing.T) {
	ollama, router := newWire(t), newWire(t)
	cfg := Config{}
	_, err := toml.Decode(fmt.Sprintf(`
[[endpoint]]
name = "ollama"
base_url = %q
models = ["llama3*", "qwen2.5"]

[[endpoint]]
name = "openrouter"
base_url = %q
api_key_env = "OPENROUTER_API_KEY"
serves = ["anthropic", "openai"]
qualify_model_ids = true
[endpoint.model_map]
"claude-3-haiku" = "anthropic/claude-3-haiku:beta"
`, ollama.srv.URL+"/v1", router.srv.URL+"/v1"), &cfg)
	if err != nil {
		t.Fatal(err)
	}

	// Without OPENROUTER_API_KEY only ollama's models are callable.
	r, err := New(cfg, catalog(t), toks, envMap(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Simulated() || !r.Available("llama3.2:3b") || r.Available("gpt-4o") || r.Available("claude-3-haiku") {
		t.Fatal("availability without the OpenRouter key")
	}
	if len(r.AvailableModels()) != 0 {
		t.Fatalf("no catalog model should be available: %s", ids(r.AvailableModels()))
	}
	for _, s := range r.Status() {
		if s.Name == "openrouter" && (s.Available || s.Reason != "OPENROUTER_API_KEY is not set") {
			t.Fatalf("status %+v", s)
		}
	}
	if _, err := r.Chat(context.Background(), ask("llama3.2:3b"), nil); err != nil {
		t.Fatal(err)
	}
	if m, a := ollama.seen(); m != "llama3.2:3b" || a != "" {
		t.Fatalf("ollama saw %q auth %q (keyless endpoints send no Authorization)", m, a)
	}

	// With it, OpenRouter serves the Anthropic and OpenAI catalog models.
	r, err = New(cfg, catalog(t), toks, envMap("OPENROUTER_API_KEY", openrouterKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(r.AvailableModels()), chatIDs(t, "anthropic", "openai"); got != want {
		t.Fatalf("available: %s", got)
	}
	for model, wireID := range map[string]string{"claude-3-haiku": "anthropic/claude-3-haiku:beta", "gpt-4o": "openai/gpt-4o"} {
		resp, err := r.Chat(context.Background(), ask(model), nil)
		if err != nil || resp.Provider != "openrouter" {
			t.Fatalf("%s: %+v %v", model, resp, err)
		}
		if m, a := router.seen(); m != wireID || a != "Bearer "+openrouterKey {
			t.Fatalf("%s: wire model %q auth ok=%v", model, m, a == "Bearer "+openrouterKey)
		}
	}
}

func TestOfflineFlagWins(t *testing.T) {
	r, err := New(Config{Offline: true}, catalog(t), toks, envMap(EnvOpenAIKey, openaiKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Simulated() || !strings.Contains(r.Status()[0].Reason, "offline") {
		t.Fatalf("offline flag ignored: %+v", r.Status())
	}
}

func TestValidateNamesField(t *testing.T) {
	for want, cfg := range map[string]Config{
		"providers.endpoint[1]: name: \"a\" already used": {Endpoints: []openaiConfig{{Name: "a", BaseURL: "http://x"}, {Name: "a", BaseURL: "http://y"}}},
		"providers.endpoint[0]: endpoint \"b\": base_url": {Endpoints: []openaiConfig{{Name: "b"}}},
		"providers.sim: fault:":                           {Sim: simConfig{Fault: "gremlins"}},
	} {
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if _, err := New(Config{}, catalog(t), toks, envMap(EnvOpenAIBaseURL, "ftp://nope"), nil); err == nil ||
		!strings.Contains(err.Error(), "base_url") {
		t.Errorf("bad OPENAI_BASE_URL accepted: %v", err)
	}
}

func TestKeyNeverExposed(t *testing.T) {
	w := newWire(t)
	cfg := Config{Endpoints: []openaiConfig{{Name: "openrouter", BaseURL: w.srv.URL + "/v1", APIKeyEnv: "OPENROUTER_API_KEY", Serves: []string{"anthropic"}}}}
	r, err := New(cfg, catalog(t), toks, envMap(EnvOpenAIKey, openaiKey, "OPENROUTER_API_KEY", openrouterKey, EnvOpenAIBaseURL, w.srv.URL+"/v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(r.Status())
	p, _ := r.Resolve("claude-3-haiku")
	_, nerr := r.Resolve("gemini-9")
	for _, s := range []string{string(js), fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", *r), fmt.Sprintf("%#v", r.endpoints),
		fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprint(nerr)} {
		if strings.Contains(s, openaiKey) || strings.Contains(s, openrouterKey) {
			t.Fatalf("key exposed: %s", s)
		}
	}
}

func TestSampleConfigDecodes(t *testing.T) {
	var root struct {
		Providers Config `toml:"providers"`
	}
	md, err := toml.Decode(SampleTOML, &root)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("unknown keys in the sample: %v", und)
	}
	if err := root.Providers.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(root.Providers, catalog(t), toks, envMap(), nil); err != nil {
		t.Fatal(err)
	}
}

type (
	openaiConfig = openai.Config
	simConfig    = sim.Config
)
