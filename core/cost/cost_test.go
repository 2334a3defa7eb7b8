package cost

import (
	"os"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/pricing"
)

func catalog(t *testing.T) *pricing.Catalog {
	t.Helper()
	c, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The article's worked example must come out exactly (its routing figure of
// $1,304 is an arithmetic error; the correct value is $488.75).
func TestScenarioArticleExample(t *testing.T) {
	data, err := os.ReadFile("testdata/article.toml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseScenario("article.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Project(s, catalog(t))
	if err != nil {
		t.Fatal(err)
	}
	usd := func(dollars, cents int64) int64 {
		return dollars*int64(money.PerDollar) + cents*int64(money.PerDollar)/100
	}
	check := func(name string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %v/day, want %v/day", name, money.Nanos(got), money.Nanos(want))
		}
	}
	check("baseline", p.Baseline.NanosPerDay, usd(3500, 0))
	if p.Baseline.USDPerMonth != 105000 {
		t.Errorf("baseline per month = %v, want 105000", p.Baseline.USDPerMonth)
	}
	want := map[string]int64{"cache": usd(2100, 0), "routing": usd(488, 75), "compression": usd(2500, 0)}
	for _, l := range p.Strategies {
		check(l.Name, l.NanosPerDay, want[l.Name])
		delete(want, l.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing strategies: %v", want)
	}
	check("combined", p.Combined.NanosPerDay, usd(210, 75))
	if got := p.Combined.USDPerMonth; got != 6322.5 {
		t.Errorf("combined per month = %v, want 6322.5", got)
	}
	if got := p.Strategies[0].SavingsPct; got != 40 {
		t.Errorf("cache savings = %v%%, want 40%%", got)
	}
}

func TestScenarioValidation(t *testing.T) {
	cases := map[string]string{
		"shares":   "requests_per_day = 1\nbaseline_model = \"gpt-4o\"\n[[mix]]\nshare = 0.5\nmodel = \"gpt-4o\"\n",
		"hit rate": "requests_per_day = 1\nbaseline_model = \"gpt-4o\"\ncache_hit_rate = 1.5\n",
		"unknown":  "requests_per_day = 1\nbaseline_model = \"gpt-4o\"\ncache_hit = 0.5\n",
		"syntax":   "requests_per_day = = 1\n",
		"ratio":    "requests_per_day = 1\nbaseline_model = \"gpt-4o\"\ncompression_ratio = 0\n",
	}
	wantSub := map[string]string{"shares": "add up to 1", "hit rate": "cache_hit_rate", "unknown": "cache_hit", "syntax": "x.toml:1", "ratio": "compression_ratio"}
	for name, src := range cases {
		_, err := ParseScenario("x.toml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), wantSub[name]) {
			t.Errorf("%s: got %v, want error containing %q", name, err, wantSub[name])
		}
	}
	s, err := ParseScenario("x.toml", []byte("requests_per_day = 1\nbaseline_model = \"no-such-model\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Project(s, catalog(t)); err == nil || !strings.Contains(err.Error(), "no-such-model") {
		t.Errorf("unknown model: got %v", err)
	}
}

func TestRequestCost(t *testing.T) {
	cat := catalog(t)
	m, ok := cat.Lookup("gpt-4o-mini")
	if !ok {
		t.Fatal("gpt-4o-mini missing")
	}
	// 1,000 prompt tokens of which 400 cached, 200 completion:
	// 600×0.15 + 400×0.075 + 200×0.60 per 1M = 90+30+120 µ$ = 240 µ$.
	got := Request(m, Usage{PromptTokens: 1000, CachedPromptTokens: 400, CompletionTokens: 200})
	if got != 240_000 {
		t.Errorf("cost = %d nanos, want 240000", got)
	}
	// Batch: half price on uncached tokens, cached price capped at batch input.
	got = Request(m, Usage{PromptTokens: 1000, CompletionTokens: 200, Batch: true})
	if got != 135_000 { // 1000×0.075 + 200×0.30 = 75+60 µ$
		t.Errorf("batch cost = %d nanos, want 135000", got)
	}
}
