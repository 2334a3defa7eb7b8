package route

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/pricing"
)

func catalog(t testing.TB) *pricing.Catalog {
	t.Helper()
	c, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRouter(t testing.TB, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg, catalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func contribution(d Decision, name string) (Contribution, bool) {
	for _, c := range d.Contributions {
		if c.Name == name {
			return c, true
		}
	}
	return Contribution{}, false
}

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, DefaultConfig())
	for _, tr := range r.tiers {
		if len(tr.models) == 0 {
			t.Errorf("tier %s has no model", tr.name)
		}
	}
}

func TestCompileErrorsNameRuleAndField(t *testing.T) {
	good := []RuleConfig{{Name: "sql", Keywords: []string{"select", "join"}, Weight: 0.2}}
	old, err := Compile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := []RuleConfig{
		{Name: "sql", Keywords: []string{"select"}, Weight: 0.2},
		{Name: "broken", Pattern: "(unclosed", Weight: 0.1},
		{Name: "both", Pattern: "x", Keywords: []string{"y"}, Weight: 0.1},
		{Name: "noeffect", Pattern: "x"},
		{Name: "sql", Pattern: "dup", Weight: 0.1},
		{Name: "empty", Pattern: ".*", Weight: 0.1},
		{Name: "heavy", Pattern: "x", Weight: 3},
		{Name: "punct", Keywords: []string{"++"}, Weight: 0.1},
	}
	rs, err := Compile(bad)
	if rs != nil || err == nil {
		t.Fatalf("Compile(bad) = %v, %v; want nil and an error", rs, err)
	}
	msg := err.Error()
	for _, want := range []string{
		`route.rules[1] "broken": pattern:`,
		`route.rules[2] "both": pattern: set either pattern or keywords`,
		`route.rules[3] "noeffect": weight:`,
		`route.rules[4] "sql": name: is also used by rule 0`,
		`route.rules[5] "empty": pattern: matches the empty string`,
		`route.rules[6] "heavy": weight:`,
		`route.rules[7] "punct": keywords[0]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Section != "rules" || fe.Index < 0 {
		t.Errorf("error is not a *FieldError with an index: %#v", err)
	}
	// The caller's old set is untouched and still works.
	r, err := newRouter(t, DefaultConfig()).WithRules(old)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Route(context.Background(), Request{Prompt: "SELECT name FROM users JOIN orders"})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := contribution(d, "rule:sql"); !ok || c.Delta != 0.2 {
		t.Errorf("old rule set not in force: %+v", d.Contributions)
	}
}

func TestWithRulesRejectsUnknownTierAndKeepsOld(t *testing.T) {
	r := newRouter(t, DefaultConfig())
	rs, err := Compile([]RuleConfig{{Name: "pin", Pattern: "x", Tier: "platinum"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WithRules(rs); err == nil || !strings.Contains(err.Error(), `"pin": tier`) {
		t.Errorf("WithRules with unknown tier: %v", err)
	}
	if r.Rules().Len() != 0 {
		t.Errorf("router changed after a failed WithRules")
	}
	cfg := DefaultConfig()
	cfg.Rules = []RuleConfig{{Name: "pin", Pattern: "x", Tier: "platinum"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "not a configured tier") {
		t.Errorf("Validate: %v", err)
	}
}

func TestValidateTiers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tiers[1].MinScore = 0.9 // above the strong tier's 0.65
	cfg.Tiers[0].MinScore = 0.1
	err := cfg.Validate()
	for _, want := range []string{`route.tiers[2] "strong": min_score`, `route.tiers[0] "cheap": min_score: the first tier must start at 0`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	cfg = DefaultConfig()
	cfg.Tiers[2].Models = []string{"no-such-model"}
	if _, err := New(cfg, catalog(t), nil); err == nil || !strings.Contains(err.Error(), "models") {
		t.Errorf("New with unknown-only tier: %v", err)
	}
}

func TestSignals(t *testing.T) {
	r := newRouter(t, DefaultConfig())
	ctx := context.Background()
	cases := []struct {
		prompt string
		signal string
		turns  int
	}{
		{"Fix this:\n```go\nfunc main() {\n\tfmt.Println(x);\n}\n```", SignalCode, 0},
		{"Solve the equation 3x + 7 = 22 and compute the square root of 144.", SignalMath, 0},
		{"Explain why the sky is blue, step-by-step, and compare it with sunsets.", SignalReasoning, 0},
		{"What is DNS? How does caching work? Why does TTL matter?", SignalMultiPart, 0},
		{"Statement 1 | Every group is abelian. Statement 2 | Every ring is a field.", SignalMultiPart, 0},
		{"1. list the files\n2. sort them\n3. print the largest", SignalMultiPart, 0},
		{"Return the answer as JSON in a table.", SignalFormat, 0},
		{"ok thanks", SignalDepth, 9},
	}
	for _, c := range cases {
		d, err := r.Route(ctx, Request{Prompt: c.prompt, Turns: c.turns})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := contribution(d, "signal:"+c.signal)
		if !ok || got.Value <= 0 || got.Delta <= 0 {
			t.Errorf("%q: signal %s = %+v, want positive", c.prompt, c.signal, got)
		}
	}
	plain, _ := r.Route(ctx, Request{Prompt: "hello there"})
	for _, name := range []string{SignalCode, SignalMath, SignalReasoning, SignalMultiPart, SignalFormat, SignalDepth} {
		if c, _ := contribution(plain, "signal:"+name); c.Value != 0 {
			t.Errorf("plain greeting has %s = %v", name, c.Value)
		}
	}
	// Every built-in signal is listed, even at zero.
	if len(plain.Contributions) != 7 {
		t.Errorf("contributions = %d, want 7 built-in signals", len(plain.Contributions))
	}
}

func TestScoreInRangeAndExplained(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []RuleConfig{
		{Name: "big", Pattern: "prove", Weight: 1},
		{Name: "small", Keywords: []string{"hello"}, Weight: -1},
	}
	r := newRouter(t, cfg)
	for _, p := range []string{"hello", strings.Repeat("prove that step by step and explain why; compare ", 200)} {
		d, err := r.Route(context.Background(), Request{Prompt: p})
		if err != nil {
			t.Fatal(err)
		}
		if d.Score < 0 || d.Score > 1 {
			t.Errorf("score %v outside [0,1]", d.Score)
		}
		sum := cfg.Base
		for _, c := range d.Contributions {
			sum += c.Delta
		}
		if math.Abs(sum-d.RawScore) > 1e-9 {
			t.Errorf("contributions sum to %v, raw score %v", sum, d.RawScore)
		}
		if len(d.Reasons) == 0 || d.Model == "" || d.Tier == "" {
			t.Errorf("incomplete decision %+v", d)
		}
	}
}

func TestKeywordPhrasesAndPatterns(t *testing.T) {
	rs, err := Compile([]RuleConfig{
		{Name: "phrase", Keywords: []string{"pull request"}, Weight: 0.1},
		{Name: "ci", Pattern: `\bterraform\b`, Weight: 0.1},
		{Name: "cs", Pattern: "URGENT", CaseSensitive: true, Weight: 0.1},
	})
	if err != nil {
		t.Fatal(err)
	}
	matched := func(text string) []string {
		sc := rs.lex.scan(text, rs.keywords)
		var names []string
		rs.match(text, &sc, func(_ int, r *compiledRule) { names = append(names, r.Name) })
		return names
	}
	cases := map[string]string{
		"Review my Pull-Request please":       "phrase",
		"a pull and a request":                "",
		"Deploy with TERRAFORM":               "ci",
		"urgent: deploy":                      "",
		"URGENT: deploy":                      "cs",
		"pull pull request":                   "phrase",
		"terraformer":                         "",
		"pull\nrequest over two lines counts": "phrase",
	}
	for text, want := range cases {
		got := strings.Join(matched(text), ",")
		if got != want {
			t.Errorf("%q matched %q, want %q", text, got, want)
		}
	}
}

func TestTierPin(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []RuleConfig{
		{Name: "legal", Keywords: []string{"contract"}, Tier: TierStrong},
		{Name: "legal2", Keywords: []string{"contract"}, Tier: TierBalanced},
	}
	r := newRouter(t, cfg)
	d, err := r.Route(context.Background(), Request{Prompt: "hi, contract?"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tier != TierStrong || d.PinnedBy != "legal" {
		t.Errorf("tier %s pinned by %q, want strong by legal (first rule wins)", d.Tier, d.PinnedBy)
	}
}

// testCatalog has three tiers where the cheap tier's model has a small
// window, the balanced tier has a small and a large model, and the strong
// tier is expensive.
func testCatalog(t *testing.T) *pricing.Catalog {
	c, err := catalog(t).With(
		pricing.Model{ID: "tiny", Provider: "a", Input: 100_000, Output: 400_000, ContextWindow: 8_000, MaxOutput: 4_000},
		pricing.Model{ID: "mid-small", Provider: "b", Input: 400_000, Output: 1_600_000, ContextWindow: 16_000, MaxOutput: 4_000, Tools: true},
		pricing.Model{ID: "mid-large", Provider: "b", Input: 800_000, Output: 3_200_000, ContextWindow: 200_000, MaxOutput: 8_000, Vision: true, Tools: true},
		pricing.Model{ID: "top", Provider: "c", Input: 10_000_000, Output: 30_000_000, ContextWindow: 1_000_000, MaxOutput: 32_000, Vision: true, Tools: true, JSONMode: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testTiers() Config {
	cfg := DefaultConfig()
	cfg.Tiers = []TierConfig{
		{Name: "cheap", MinScore: 0, Models: []string{"tiny"}},
		{Name: "balanced", MinScore: 0.4, Models: []string{"mid-small", "mid-large"}},
		{Name: "strong", MinScore: 0.65, Models: []string{"top"}},
	}
	cfg.Signals.Tokens = 0 // keep the tier fixed while the prompt size varies
	return cfg
}

func TestContextFitTakesCheapestFittingNotTop(t *testing.T) {
	r, err := New(testTiers(), testCatalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, _ := r.Route(ctx, Request{Prompt: "hi", PromptTokens: 1000, CompletionTokens: 500})
	if d.Model != "tiny" || d.Tier != "cheap" {
		t.Fatalf("small prompt: %s/%s, want tiny/cheap", d.Model, d.Tier)
	}
	// 20K tokens: tiny (8K) and mid-small (16K) do not fit; mid-large is
	// the cheapest of the same or a higher tier that fits — not top.
	d, _ = r.Route(ctx, Request{Prompt: "hi", PromptTokens: 20_000, CompletionTokens: 500})
	if d.Model != "mid-large" {
		t.Errorf("20K prompt routed to %s, want mid-large; reasons %v", d.Model, d.Reasons)
	}
	if d.Tier != "cheap" {
		t.Errorf("tier changed to %s; the tier is the score's, the model moves up", d.Tier)
	}
	// 300K tokens: only top fits.
	d, _ = r.Route(ctx, Request{Prompt: "hi", PromptTokens: 300_000, CompletionTokens: 500})
	if d.Model != "top" {
		t.Errorf("300K prompt routed to %s, want top", d.Model)
	}
	// 2M tokens: nothing fits; the decision says so.
	d, _ = r.Route(ctx, Request{Prompt: "hi", PromptTokens: 2_000_000})
	if d.Model != "top" || !strings.Contains(strings.Join(d.Reasons, "\n"), "no configured model") {
		t.Errorf("oversized prompt: %s %v", d.Model, d.Reasons)
	}
	// Alternatives carry projected costs and fit flags.
	d, _ = r.Route(ctx, Request{Prompt: "hi", PromptTokens: 20_000, CompletionTokens: 500})
	if len(d.Alternatives) != 4 {
		t.Fatalf("alternatives = %+v", d.Alternatives)
	}
	for _, a := range d.Alternatives {
		if a.CostUSD <= 0 {
			t.Errorf("alternative %s has no cost", a.Model)
		}
		if (a.Model == "tiny" || a.Model == "mid-small") == a.Fits {
			t.Errorf("alternative %s fits = %v", a.Model, a.Fits)
		}
		if a.Model == "mid-large" && !strings.Contains(a.Note, "chosen") {
			t.Errorf("chosen model not marked: %+v", a)
		}
	}
	// top: 20000 × $10/M + 500 × $30/M = $0.215
	for _, a := range d.Alternatives {
		if a.Model == "top" && math.Abs(a.CostUSD-0.215) > 1e-9 {
			t.Errorf("top cost = %v, want 0.215", a.CostUSD)
		}
	}
}

func TestCapabilitiesAndAvailability(t *testing.T) {
	r, err := New(testTiers(), testCatalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, _ := r.Route(ctx, Request{Prompt: "describe the image", NeedsVision: true})
	if d.Model != "mid-large" {
		t.Errorf("vision prompt routed to %s, want mid-large (cheapest with vision)", d.Model)
	}
	d, _ = r.Route(ctx, Request{Prompt: "answer in JSON mode", NeedsJSON: true})
	if d.Model != "top" {
		t.Errorf("JSON-mode prompt routed to %s, want top", d.Model)
	}
	only := r.WithAvailable(func(m string) bool { return m != "tiny" })
	d, _ = only.Route(ctx, Request{Prompt: "hi"})
	if d.Model != "mid-small" {
		t.Errorf("with tiny unavailable routed to %s, want mid-small", d.Model)
	}
	for _, a := range d.Alternatives {
		if a.Model == "tiny" && !strings.Contains(a.Note, "provider not configured") {
			t.Errorf("unavailable model not noted: %+v", a)
		}
	}
	// Strong tier unavailable: fall back to the cheapest lower-tier model.
	noTop := r.WithAvailable(func(m string) bool { return m != "top" })
	cfg := testTiers()
	cfg.Rules = []RuleConfig{{Name: "pin", Keywords: []string{"hard"}, Tier: "strong"}}
	pinned, err := New(cfg, testCatalog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	pinned = pinned.WithAvailable(func(m string) bool { return m != "top" })
	d, _ = pinned.Route(ctx, Request{Prompt: "hard"})
	if d.Model != "tiny" || d.Tier != "strong" {
		t.Errorf("pinned strong with top unavailable: %s/%s, want tiny/strong with a note", d.Model, d.Tier)
	}
	_ = noTop
}

func TestLearnedVote(t *testing.T) {
	ctx := context.Background()
	emb := trigramEmbedder{dim: 256}
	var ex []Example
	for i := 0; i < 20; i++ {
		ex = append(ex,
			Example{Prompt: "prove the theorem about prime numbers and group homomorphisms " + string(rune('a'+i)), StrongNeeded: true},
			Example{Prompt: "what is a good name for my cat " + string(rune('a'+i))},
		)
	}
	cfg := DefaultConfig()
	cfg.Learned.K = 10
	l, err := NewLearned(ctx, emb, ex, cfg.Learned)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, catalog(t), l)
	if err != nil {
		t.Fatal(err)
	}
	hard, _ := r.Route(ctx, Request{Prompt: "prove this theorem about prime groups"})
	easy, _ := r.Route(ctx, Request{Prompt: "a good name for a cat?"})
	ch, _ := contribution(hard, "signal:learned")
	ce, _ := contribution(easy, "signal:learned")
	if ch.Delta <= 0 || ce.Delta >= 0 {
		t.Errorf("learned deltas: hard %+v, easy %+v", ch, ce)
	}
	// Leave-one-out: preparing the labelled prompts themselves must not
	// let an example vote for itself.
	one := []Example{{Prompt: "unique prompt", StrongNeeded: true}, {Prompt: "unique prompt too"}}
	l1, _ := NewLearned(ctx, emb, one, LearnedConfig{K: 1})
	r1 := r.WithLearned(l1)
	p, err := r1.Prepare(ctx, []Labelled{{Prompt: "unique prompt", StrongCorrect: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := p.votes[0]; v.value >= v.prior {
		t.Errorf("example voted for itself: %+v", v)
	}
}

type failingEmbedder struct{ trigramEmbedder }

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("offline")
}

func TestEmbeddingFailureDropsOnlyLearnedSignal(t *testing.T) {
	ctx := context.Background()
	l, err := NewLearnedFromVectors(failingEmbedder{trigramEmbedder{dim: 4}}, []Example{{Prompt: "x"}}, [][]float32{{1, 0, 0, 0}}, LearnedConfig{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(DefaultConfig(), catalog(t), l)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Route(ctx, Request{Prompt: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := contribution(d, "signal:learned")
	if !ok || c.Delta != 0 || !strings.Contains(c.Detail, "embedding failed") {
		t.Errorf("learned contribution = %+v", c)
	}
}

func TestRouteIsDeterministicAndConcurrent(t *testing.T) {
	r := newRouter(t, DefaultConfig())
	ctx := context.Background()
	want, _ := r.Route(ctx, Request{Prompt: "compare quicksort and mergesort step by step"})
	done := make(chan Decision, 8)
	for i := 0; i < 8; i++ {
		go func() {
			d, _ := r.Route(ctx, Request{Prompt: "compare quicksort and mergesort step by step"})
			done <- d
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; d.RawScore != want.RawScore || d.Model != want.Model {
			t.Errorf("concurrent route differs: %v vs %v", d.RawScore, want.RawScore)
		}
	}
}

func TestRescoreMatchesRoute(t *testing.T) {
	r := newRouter(t, DefaultConfig())
	ctx := context.Background()
	data := []Labelled{{Prompt: "hi"}, {Prompt: "prove that sqrt(2) is irrational, step by step"}, {Prompt: "```\nx := 1;\n```"}}
	p, err := r.Prepare(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile([]RuleConfig{{Name: "hi", Keywords: []string{"hi"}, Weight: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	scores := r.Rescore(p, rs)
	r2, _ := r.WithRules(rs)
	for i, d := range data {
		dec, _ := r2.Route(ctx, Request{Prompt: d.Prompt})
		if math.Abs(dec.RawScore-scores[i]) > 1e-12 {
			t.Errorf("%q: Rescore %v, Route %v", d.Prompt, scores[i], dec.RawScore)
		}
	}
}

func TestFitWeightsImproves(t *testing.T) {
	// Synthetic: long prompts need the strong model, code is irrelevant.
	rng := rand.New(rand.NewPCG(1, 2))
	var data []Labelled
	for i := 0; i < 400; i++ {
		n := 1 + rng.IntN(200)
		p := strings.Repeat("word ", n)
		if rng.IntN(2) == 0 {
			p += "\n```\nx := 1;\n```"
		}
		hard := n > 100
		data = append(data, Labelled{Prompt: p, WeakCorrect: !hard || rng.IntN(5) == 0, StrongCorrect: true})
	}
	cfg := DefaultConfig()
	cfg.Signals = SignalWeights{Code: 1}
	r := newRouter(t, cfg)
	p, _ := r.Prepare(context.Background(), data, nil)
	before, _ := r.Metrics(p, r.Rescore(p, nil), EvalOptions{})
	w, after, err := r.FitWeights(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before.APGR+0.1 || w.Tokens == 0 {
		t.Errorf("fit: APGR %.3f → %.3f with %+v", before.APGR, after, w)
	}
}

func TestProjectNanosMatchesCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	models := catalog(t).Models()
	for i := 0; i < 2000; i++ {
		m := models[rng.IntN(len(models))]
		if i%3 == 0 {
			m.Input, m.Output = pricing.PerMillion(rng.Int64N(100_000_000)), pricing.PerMillion(rng.Int64N(100_000_000))
		}
		p, c := rng.IntN(2_000_000), rng.IntN(100_000)
		want := int64(cost.Request(m, cost.Usage{PromptTokens: int64(p), CompletionTokens: int64(c)}))
		if got := projectNanos(m, p, c); got != want {
			t.Fatalf("%s %d+%d tokens: %d, cost.Request %d", m.ID, p, c, got, want)
		}
	}
}

func TestGroupExcludedFromOwnVote(t *testing.T) {
	ctx := context.Background()
	emb := trigramEmbedder{dim: 128}
	ex := []Example{
		{Prompt: "alpha beta gamma one", StrongNeeded: true, Group: "A"},
		{Prompt: "alpha beta gamma two", StrongNeeded: true, Group: "A"},
		{Prompt: "delta epsilon", Group: "B"},
	}
	l, err := NewLearned(ctx, emb, ex, LearnedConfig{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, DefaultConfig()).WithLearned(l)
	p, err := r.Prepare(ctx, []Labelled{
		{Prompt: "alpha beta gamma three", Group: "A", StrongCorrect: true},
		{Prompt: "alpha beta gamma three", StrongCorrect: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.votes[0].value >= p.votes[0].prior {
		t.Errorf("group A prompt got votes from group A: %+v", p.votes[0])
	}
	if p.votes[1].value <= p.votes[1].prior {
		t.Errorf("ungrouped prompt should see group A's strong votes: %+v", p.votes[1])
	}
}

// calibrationSet builds 8 groups of 10 prompts; each group has its own
// vocabulary and one label for all its prompts, alternating between groups.
// Within a group the label is perfectly predictable; from other groups it
// is not (their topics say nothing about it).
func calibrationSet(grouped bool) []Example {
	topics := []string{"volcano magma eruption", "violin sonata concerto", "tax deduction invoice", "orbit satellite launch",
		"sourdough yeast oven", "glacier moraine ice", "chess opening gambit", "tide harbor sailboat"}
	var ex []Example
	for g, topic := range topics {
		for i := 0; i < 10; i++ {
			e := Example{Prompt: fmt.Sprintf("%s question %c%c", topic, 'a'+i, 'k'+g), StrongNeeded: g%2 == 0, WeakBetter: g%2 == 1}
			if grouped {
				e.Group = fmt.Sprint("group ", g)
			}
			ex = append(ex, e)
		}
	}
	return ex
}

func TestLearnedCalibration(t *testing.T) {
	ctx := context.Background()
	emb := trigramEmbedder{dim: 256}
	cfg := LearnedConfig{K: 8, Smoothing: 2}
	// Without groups, each prompt's neighbours share its topic and label:
	// held-out votes predict the labels and the vote is trusted.
	flat, err := NewLearned(ctx, emb, calibrationSet(false), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if flat.Reliability() < 0.5 {
		t.Errorf("labels that predict held-out prompts: reliability %.2f (%s), want ≥ 0.5", flat.Reliability(), flat.Calibration())
	}
	// With groups, a prompt is voted on by other groups only, whose topics
	// say nothing about its label: the vote must not count.
	grouped, err := NewLearned(ctx, emb, calibrationSet(true), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if grouped.Reliability() > 0.1 {
		t.Errorf("labels that do not transfer across groups: reliability %.2f (%s), want ≈ 0", grouped.Reliability(), grouped.Calibration())
	}
	t.Logf("flat: %s; grouped: %s", flat.Calibration(), grouped.Calibration())
	// The reliability scales the contribution, and the explanation says so.
	r := newRouter(t, DefaultConfig())
	for _, c := range []struct {
		l    *Learned
		zero bool
	}{{flat, false}, {grouped, true}} {
		d, err := r.WithLearned(c.l).Route(ctx, Request{Prompt: "volcano magma eruption question"})
		if err != nil {
			t.Fatal(err)
		}
		lc, ok := contribution(d, "signal:learned")
		if !ok || !strings.Contains(lc.Detail, "reliability") {
			t.Fatalf("learned contribution %+v does not explain the reliability", lc)
		}
		if want := (lc.Value - c.l.Prior()) * c.l.Reliability() * lc.Weight; math.Abs(lc.Delta-want) > 1e-9 {
			t.Errorf("delta %.4f, want (vote − prior) × reliability × weight = %.4f", lc.Delta, want)
		}
		if c.zero != (lc.Delta == 0) {
			t.Errorf("reliability %.2f: delta %.4f", c.l.Reliability(), lc.Delta)
		}
	}
	// Below the calibration minimum the vote counts in full.
	few, err := NewLearned(ctx, emb, calibrationSet(true)[:minCalibration-1], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if few.Reliability() != 1 || !strings.Contains(few.Calibration(), "uncalibrated") {
		t.Errorf("%d examples: reliability %.2f (%s), want 1, uncalibrated", few.Len(), few.Reliability(), few.Calibration())
	}
}
