package plan

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/tokens"
)

// halve is a fake compressor that keeps the first half of the words.
type halve struct{}

func (halve) Compress(_ context.Context, text string, c tokens.Counter) (compress.Result, error) {
	words := strings.Fields(text)
	out := strings.Join(words[:(len(words)+1)/2], " ")
	before, after := c.Count(text).Tokens, c.Count(out).Tokens
	return compress.Result{Text: out, Tokens: after, TokensBefore: before,
		Passes: []compress.PassResult{{Name: "halve", TokensSaved: before - after}}}, nil
}

type fixedRoute string

func (f fixedRoute) Route(_ context.Context, r route.Request) (route.Decision, error) {
	return route.Decision{Model: string(f), Tier: "cheap", Score: 0.2, Reasons: []string{"test"}}, nil
}

type fakeCache struct {
	hit  bool
	seen cache.Request
}

func (f *fakeCache) Lookup(_ context.Context, r cache.Request) (cache.Result, error) {
	f.seen = r
	if f.hit {
		return cache.Result{Outcome: cache.ExactHit, Scale: "cosine", Similarity: 1}, nil
	}
	return cache.Result{Outcome: cache.Miss, Reason: cache.ReasonEmpty, Scale: "cosine"}, nil
}

func planner(t *testing.T, c *fakeCache, routeTo string) *Planner {
	t.Helper()
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return &Planner{Tokens: tokens.NewRegistry(), Catalog: cat, Compressor: halve{}, Cache: c, Router: fixedRoute(routeTo)}
}

func TestPlanCostsAndContract(t *testing.T) {
	fc := &fakeCache{}
	p := planner(t, fc, "gpt-4o-mini")
	prompt := strings.Repeat("Explain the difference between TCP and UDP. ", 20)
	pl, err := p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 400, RequestsPerDay: 1000})
	if err != nil {
		t.Fatal(err)
	}
	reg := tokens.NewRegistry()
	want := reg.ForModel("gpt-4o").Count(prompt).Tokens
	if pl.Input.Tokens != want || !pl.Input.Exact || pl.Input.Tokenizer != "o200k_base" {
		t.Errorf("input = %+v, want %d exact o200k tokens", pl.Input, want)
	}
	// Baseline: (tokens+6)×$2.50/M + 400×$10/M, in nanos.
	wantBase := int64(want+chatOverhead)*2500 + 400*10000
	if pl.Cost.BaselineNanos != wantBase {
		t.Errorf("baseline = %d nanos, want %d", pl.Cost.BaselineNanos, wantBase)
	}
	comp := reg.ForModel("gpt-4o-mini").Count(pl.Compression.Text).Tokens
	wantOpt := int64(comp+chatOverhead)*150 + 400*600
	if pl.Cost.OptimizedNanos != wantOpt {
		t.Errorf("optimized = %d nanos, want %d", pl.Cost.OptimizedNanos, wantOpt)
	}
	if pl.Cost.BaselinePerMonthUSD != float64(wantBase)*1000*30/1e9 {
		t.Errorf("per month = %v", pl.Cost.BaselinePerMonthUSD)
	}
	if fc.seen.Scope.Model != "gpt-4o-mini" || fc.seen.Prompt != prompt {
		t.Errorf("cache asked with %+v", fc.seen)
	}
	// The JSON contract of ARCHITECTURE.md.
	raw, _ := json.Marshal(pl)
	var m map[string]map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for sect, fields := range map[string][]string{
		"input":       {"tokens", "tokenizer", "exact"},
		"compression": {"text", "tokens", "passes"},
		"route":       {"model", "tier", "score", "reasons"},
		"cache":       {"outcome", "similarity", "threshold", "reason", "neighbors"},
		"cost":        {"baseline_usd", "optimized_usd", "savings_usd", "completion_tokens_assumed"},
	} {
		for _, f := range fields {
			if _, ok := m[sect][f]; !ok {
				t.Errorf("JSON lacks %s.%s", sect, f)
			}
		}
	}
}

func TestPlanCacheHitCostsNothing(t *testing.T) {
	p := planner(t, &fakeCache{hit: true}, "gpt-4o")
	pl, err := p.Plan(context.Background(), "hello there", Options{Baseline: "gpt-4o", CompletionTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Cost.OptimizedNanos != 0 || pl.Cost.OptimizedModel != "cache" || pl.Cost.SavingsPct != 100 {
		t.Errorf("hit cost = %+v", pl.Cost)
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	p := planner(t, &fakeCache{}, "gpt-4o")
	ctx := context.Background()
	cases := []struct {
		prompt, model string
		want          error
	}{
		{"  \n\t", "gpt-4o", ErrEmpty},
		{"a\x00b", "gpt-4o", ErrBinary},
		{"\xff\xfe", "gpt-4o", ErrBinary},
		{strings.Repeat("a", MaxPromptBytes+1), "gpt-4o", ErrTooLarge},
		{"hi", "no-such-model", ErrUnknownModel},
	}
	for _, c := range cases {
		if _, err := p.Plan(ctx, c.prompt, Options{Baseline: c.model}); !errors.Is(err, c.want) {
			t.Errorf("Plan(%.10q, %s) = %v, want %v", c.prompt, c.model, err, c.want)
		}
	}
	if _, err := planner(t, &fakeCache{}, "imaginary").Plan(ctx, "hi", Options{Baseline: "gpt-4o"}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown routed model: %v", err)
	}
}

// The attribution parts add up exactly to the savings, and each strategy
// gets the difference it makes: halving the prompt is compression's saving,
// the cheaper model routing's.
func TestPlanAttributionAddsUp(t *testing.T) {
	p := planner(t, &fakeCache{}, "gpt-4o-mini")
	prompt := strings.Repeat("Summarize the quarterly revenue figures for the board. ", 30)
	pl, err := p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	a := pl.Cost.Attribution
	if sum := a.CacheNanos + a.RoutingNanos + a.CompressionNanos; sum != pl.Cost.BaselineNanos-pl.Cost.OptimizedNanos {
		t.Fatalf("attribution %+v sums to %d, savings are %d", a, sum, pl.Cost.BaselineNanos-pl.Cost.OptimizedNanos)
	}
	reg := tokens.NewRegistry()
	full := reg.ForModel("gpt-4o-mini").Count(prompt).Tokens
	if pl.Cost.RoutedPromptTokens != full {
		t.Errorf("routed prompt tokens = %d, want %d", pl.Cost.RoutedPromptTokens, full)
	}
	wantCompression := int64(full-pl.Cost.OptimizedPromptTokens) * 150 // gpt-4o-mini input $0.15/M = 150 nanos/token
	if a.CompressionNanos != wantCompression || a.CacheNanos != 0 || a.RoutingNanos <= 0 {
		t.Errorf("attribution = %+v, want compression %d", a, wantCompression)
	}
	hit, err := planner(t, &fakeCache{hit: true}, "gpt-4o-mini").Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	if hit.Cost.Attribution != (Attribution{CacheNanos: hit.Cost.BaselineNanos}) {
		t.Errorf("hit attribution = %+v", hit.Cost.Attribution)
	}
}
