package route

import (
	"context"
	"strings"
	"testing"
)

func TestTunerPreview(t *testing.T) {
	ctx := context.Background()
	cat := testCatalog(t)
	r, err := New(DefaultConfig(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func(s string) int { return len(strings.Fields(s)) }
	labelled := []Labelled{
		{Prompt: "What is the capital of Italy?", WeakCorrect: true, StrongCorrect: true},
		{Prompt: "Prove that there are infinitely many primes, step by step.", WeakCorrect: false, StrongCorrect: true},
		{Prompt: "Translate 'good morning' to French.", WeakCorrect: true, StrongCorrect: true},
		{Prompt: "Write a SQL query joining orders and customers by region.", WeakCorrect: false, StrongCorrect: true},
	}
	recent := []string{"SELECT the SQL rows for me please", "hello there"}
	weak, strong, err := r.EvalModels("gpt-4o-mini", "gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	// A set where the cheap model was always enough has no quality gap: a
	// note, not a failed preview. An empty set says it has no labels.
	allWeak := []Labelled{{Prompt: "hi", WeakCorrect: true, StrongCorrect: true}}
	sets := []LabelledSet{{"history", labelled}, {"all weak ok", allWeak}, {"empty", nil}}
	tu, err := NewTuner(ctx, r, sets, recent, EvalOptions{Weak: weak, Strong: strong}, count)
	if err != nil {
		t.Fatal(err)
	}

	// An invalid pattern is reported with its rule and field; nothing else.
	pv, err := tu.Preview(ctx, []RuleConfig{{Name: "broken", Pattern: "(unclosed", Weight: 0.1}}, "hi", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Errors) != 1 || pv.Errors[0].Index != 0 || pv.Errors[0].Field != "pattern" || pv.Metrics != nil {
		t.Fatalf("invalid rules preview = %+v", pv)
	}

	// A pin on SQL moves the SQL prompts to the strong tier.
	rules := []RuleConfig{{Name: "sql", Keywords: []string{"sql"}, Tier: TierStrong}}
	pv, err = tu.Preview(ctx, rules, "Explain this SQL plan", 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Errors) != 0 || pv.Decision.Tier != TierStrong || len(pv.Metrics) != 3 {
		t.Fatalf("preview = %+v", pv)
	}
	hist, noGap, empty := pv.Metrics[0], pv.Metrics[1], pv.Metrics[2]
	if hist.Name != "history" || hist.Prompts != 4 || hist.Report == nil || hist.Before == nil || hist.Note != "" {
		t.Fatalf("history metrics = %+v", hist)
	}
	if noGap.Prompts != 1 || noGap.Report != nil || !strings.Contains(noGap.Note, "no quality gap") {
		t.Errorf("no-gap set = %+v", noGap)
	}
	if empty.Prompts != 0 || empty.Report != nil || empty.Note != "no labels yet" {
		t.Errorf("empty set = %+v", empty)
	}
	if len(pv.Changed) != 1 || pv.Changed[0] != 0 {
		t.Errorf("changed = %v, want only the SQL prompt", pv.Changed)
	}
	// Before is under the router's own rules; it has none, so that is the
	// same as previewing an empty rule set.
	before, _ := tu.Preview(ctx, nil, "", 0)
	if *before.Metrics[0].Report != *hist.Before {
		t.Errorf("before = %+v, want the no-rules preview %+v", *hist.Before, *before.Metrics[0].Report)
	}
	if hist.Report.StrongShare <= hist.Before.StrongShare {
		t.Errorf("pinning SQL to strong did not raise the strong share: %v → %v", hist.Before.StrongShare, hist.Report.StrongShare)
	}
	// The tuner's router keeps its own rules.
	d, _ := r.Route(ctx, Request{Prompt: "Explain this SQL plan", PromptTokens: 4})
	if d.Tier == TierStrong {
		t.Error("preview changed the router")
	}
}
