package registry

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
)

// planFraming is the chat framing core/plan adds to a prompt's token count
// (its unexported chatOverhead); keep in step with core/plan.
const planFraming = 7

// perSubject bounds the MMLU sample so the test stays fast under -race.
const perSubject = 5

// projectionPrompts returns prompts to measure with: a few written here,
// plus the first perSubject questions of every MMLU subject when ../shared/data is
// present (real, varied text: maths notation, code, long passages).
func projectionPrompts(t *testing.T) (prompts []string, source string) {
	prompts = []string{
		"Write a Python function that removes duplicates from a list",
		"Summarize this article about the quarterly sales of Acme Corp in three bullet points.",
		"Translate 'thank you for your message' into French",
		"Calculate 17% of 2,340 and explain the steps.",
		"日本語で自己紹介をしてください。", "Ünïcödé — “quotes”, emoji 🚀 and\ttabs\nnewlines",
	}
	source = "6 built-in prompts"
	wd, _ := os.Getwd()
	dir := filepath.Join(wd, "..", "..", "..", "shared", "data", "routellm", "mmlu")
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Strings(files)
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, row := range rows[1:min(1+perSubject, len(rows))] {
			prompts = append(prompts, row[0])
			n++
		}
	}
	if n > 0 {
		source += fmt.Sprintf(" + %d MMLU prompts (%d subjects × first %d)", n, len(files), perSubject)
	}
	return prompts, source
}

type projStats struct {
	n, exactHits         int
	sum, sumAbs, sumBase float64
	lo, hi               int
}

func (s *projStats) add(actual, projected int) {
	d := actual - projected
	if s.n == 0 || d < s.lo {
		s.lo = d
	}
	if s.n == 0 || d > s.hi {
		s.hi = d
	}
	s.n++
	s.sum += float64(d)
	s.sumAbs += math.Abs(float64(d))
	s.sumBase += float64(actual)
	if d == 0 {
		s.exactHits++
	}
}

func (s projStats) String() string {
	return fmt.Sprintf("n=%d mean=%+.3f mean|e|=%.3f min=%+d max=%+d rel=%.2f%%",
		s.n, s.sum/float64(s.n), s.sumAbs/float64(s.n), s.lo, s.hi, 100*s.sumAbs/s.sumBase)
}

// usageServer speaks OpenAI's wire format and reports prompt_tokens the way
// OpenAI documents its count, computed on the server side from the JSON it
// received; with report=false it omits usage (as some local servers do).
func usageServer(t *testing.T, reg *tokens.Registry, report bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model    string        `json:"model"`
			Messages []llm.Message `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c := reg.ForModel(body.Model)
		pt := 3
		for _, m := range body.Messages {
			pt += 3 + c.Count(m.Role).Tokens + c.Count(m.Content).Tokens
		}
		usage := ""
		if report {
			usage = fmt.Sprintf(`,"usage":{"prompt_tokens":%d,"completion_tokens":3,"total_tokens":%d}`, pt, pt+3)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"An answer."},"finish_reason":"stop"}]%s}`, body.Model, usage)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestProjectionError measures actual prompt tokens (what the provider
// reports) minus projected (core/tokens count + core/plan's framing) on the
// simulated and HTTP paths. Run with -v for the figures.
func TestProjectionError(t *testing.T) {
	prompts, source := projectionPrompts(t)
	cat := catalog(t)
	var models []string
	for _, id := range []string{"gpt-4o-mini", "gpt-3.5-turbo", "claude-3-haiku", "llama-3.3-70b-versatile", "gemini-2.0-flash", "mistral-large"} {
		if m, ok := cat.Lookup(id); ok && chatMode(m) {
			models = append(models, m.ID)
		}
	}
	offline, err := New(Config{}, cat, toks, envMap(), nil)
	if err != nil {
		t.Fatal(err)
	}
	report := usageServer(t, toks, true)
	silent := usageServer(t, toks, false)
	httpReg := func(url string) *Registry {
		r, err := New(Config{}, cat, toks, envMap(EnvOpenAIKey, "sk-test", EnvOpenAIBaseURL, url+"/v1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	paths := []struct {
		name       string
		reg        *Registry
		usageKnown bool
	}{
		{"sim", offline, true},
		{"http (server reports usage)", httpReg(report.URL), true},
		{"http (no usage, counted locally)", httpReg(silent.URL), false},
	}
	t.Logf("prompts: %s", source)
	for _, path := range paths {
		for _, model := range models {
			if !path.reg.Available(model) {
				continue
			}
			c := toks.ForModel(model)
			var st projStats
			for _, p := range prompts {
				resp, err := path.reg.Chat(context.Background(), llm.Request{Model: model, Messages: []llm.Message{{Role: "user", Content: p}}}, nil)
				if err != nil {
					t.Fatalf("%s %s: %v", path.name, model, err)
				}
				if resp.UsageKnown != path.usageKnown {
					t.Fatalf("%s: UsageKnown=%v", path.name, resp.UsageKnown)
				}
				st.add(resp.Usage.PromptTokens, c.Count(p).Tokens+planFraming)
			}
			t.Logf("%-34s %-24s %s", path.name, model, st)
			// One user message is framed with 3 + role + 3 tokens by the
			// providers' count, against planFraming in the projection.
			want := llm.TokensPerMessage + c.Count("user").Tokens + llm.ReplyPriming - planFraming
			if st.lo != want || st.hi != want {
				t.Errorf("%s %s: error range [%d, %d], want exactly %+d per request", path.name, model, st.lo, st.hi, want)
			}
		}
	}
	if !slices.Contains(models, "gpt-4o-mini") {
		t.Fatal("catalog lost gpt-4o-mini; the HTTP path measured nothing")
	}
}
