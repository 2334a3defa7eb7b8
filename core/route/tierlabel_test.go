package route

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestTierTargetsAreRangeMidpoints(t *testing.T) {
	got := TierTargets(DefaultConfig().Tiers)
	want := map[string]float64{TierCheap: 0.20, TierBalanced: 0.525, TierStrong: 0.825}
	for name, w := range want {
		if math.Abs(got[name]-w) > 1e-9 {
			t.Errorf("target of %s = %v, want %v", name, got[name], w)
		}
	}
	r := newRouter(t, DefaultConfig())
	for name, v := range got {
		if tn := r.tiers[r.tierFor(v)].name; tn != name {
			t.Errorf("target %v of tier %s routes to tier %s", v, name, tn)
		}
	}
}

func TestExampleFromLabel(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  Example
		ok    bool
	}{
		{LabelWeakOK, Example{Prompt: "p"}, true},
		{LabelStrongNeeded, Example{Prompt: "p", StrongNeeded: true}, true},
		{"tier:balanced", Example{Prompt: "p", Tier: TierBalanced}, true},
		{"tier:", Example{}, false},
		{"tier: ", Example{}, false},
		{"", Example{}, false},
		{"maybe", Example{}, false},
	} {
		got, ok := ExampleFromLabel("p", tc.label)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ExampleFromLabel(%q) = %+v, %v; want %+v, %v", tc.label, got, ok, tc.want, tc.ok)
		}
	}
}

// A tier-labelled neighbourhood pulls the vote to the tier's target, so a
// prompt like the examples routes to the labelled tier when the learned
// signal carries the score.
func TestTierLabelledExamplesVoteTheirTier(t *testing.T) {
	ctx := context.Background()
	emb := trigramEmbedder{dim: 256}
	cfg := DefaultConfig()
	cfg.Learned = LearnedConfig{K: 8}
	var ex []Example
	for i := 0; i < 10; i++ {
		s := string(rune('a' + i))
		ex = append(ex,
			Example{Prompt: "summarize this quarterly sales memo for the board " + s, Tier: TierBalanced},
			Example{Prompt: "what is the capital of france " + s, Tier: TierCheap},
			Example{Prompt: "prove the spectral theorem for normal operators " + s, Tier: TierStrong},
		)
	}
	if _, err := NewLearned(ctx, emb, ex, cfg.Learned); err == nil || !strings.Contains(err.Error(), "no tiers") {
		t.Fatalf("tier labels without tiers: err = %v, want an error", err)
	}
	l, err := NewLearned(ctx, emb, ex, cfg.Learned, cfg.Tiers...)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(l.Prior()-(0.2+0.525+0.825)/3) > 1e-6 {
		t.Errorf("prior %v, want the mean tier target", l.Prior())
	}
	targets := TierTargets(cfg.Tiers)
	for prompt, tier := range map[string]string{
		"summarize the quarterly sales memo": TierBalanced,
		"the capital of france?":             TierCheap,
		"prove the spectral theorem":         TierStrong,
	} {
		vecs, _ := emb.Embed(ctx, []string{prompt})
		v := l.vote(vecs[0], 0, 0)
		if math.Abs(v.value-targets[tier]) > 0.05 {
			t.Errorf("%q: vote %.3f, want near %s's target %.3f (%s)", prompt, v.value, tier, targets[tier], v.detail)
		}
		if !strings.Contains(v.detail, "labelled with a tier") {
			t.Errorf("%q: explanation does not mention tier labels: %s", prompt, v.detail)
		}
	}
	// With only the learned signal and the base at the prior, the score
	// lands in the labelled tier.
	cfg.Base = l.Prior()
	cfg.Signals = SignalWeights{Learned: 1}
	r, err := New(cfg, catalog(t), l)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Route(ctx, Request{Prompt: "summarize the quarterly sales memo"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tier != TierBalanced {
		t.Errorf("tier %s (score %.3f), want balanced: %v", d.Tier, d.Score, d.Reasons)
	}
}

func TestUnknownTierLabelLeftOutWithWarning(t *testing.T) {
	ctx := context.Background()
	emb := trigramEmbedder{dim: 64}
	ex := []Example{
		{Prompt: "one", Tier: "premium"},
		{Prompt: "two", Tier: "premium"},
		{Prompt: "three", StrongNeeded: true},
		{Prompt: "four", Tier: TierCheap},
	}
	l, err := NewLearned(ctx, emb, ex, LearnedConfig{K: 2}, DefaultConfig().Tiers...)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Errorf("%d examples kept, want 2 (the unknown tier's left out)", l.Len())
	}
	w := l.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], `2 examples labelled with tier "premium"`) {
		t.Errorf("warnings %q", w)
	}
	if math.Abs(l.Prior()-(1+0.2)/2) > 1e-6 {
		t.Errorf("prior %v counts the left-out examples", l.Prior())
	}
}

func TestLabelledFromExamplesTiers(t *testing.T) {
	tiers := DefaultConfig().Tiers
	ex := []Example{
		{Prompt: "a"},
		{Prompt: "b", StrongNeeded: true},
		{Prompt: "c", Tier: TierCheap},
		{Prompt: "d", Tier: TierBalanced},
		{Prompt: "e", Tier: TierStrong},
		{Prompt: "f", Tier: "gone"},
	}
	got := LabelledFromExamples(ex, tiers...)
	want := map[string]bool{"a": true, "b": false, "c": true, "d": false, "e": false} // prompt → weak correct
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d (unknown tier left out): %+v", len(got), len(want), got)
	}
	for _, l := range got {
		if w, ok := want[l.Prompt]; !ok || l.WeakCorrect != w || !l.StrongCorrect {
			t.Errorf("%+v: want weak correct %v, strong correct", l, w)
		}
	}
	if n := len(LabelledFromExamples(ex)); n != 2 {
		t.Errorf("without tiers: %d rows, want the 2 outcome labels", n)
	}
}

func TestParseExamplesCSV(t *testing.T) {
	for _, tc := range []struct {
		name, csv string
		want      []Example
		err       string
	}{
		{
			name: "routellm format",
			csv:  "prompt,mixtral,gpt4\nhi,True,True\nhard,False,True\nodd,True,False\n",
			want: []Example{{Prompt: "hi"}, {Prompt: "hard", StrongNeeded: true}, {Prompt: "odd", WeakBetter: true}},
		},
		{
			name: "tier column mixed with outcomes",
			csv:  "prompt,weak,strong,tier\nhi,True,True,\nmemo,,,balanced\n\"a, b\",False,True, strong \n",
			want: []Example{{Prompt: "hi"}, {Prompt: "memo", Tier: "balanced"}, {Prompt: "a, b", Tier: "strong"}},
		},
		{
			name: "prompt and tier only",
			csv:  "Tier,Prompt\ncheap,hello\nbalanced,summarize\n",
			want: []Example{{Prompt: "hello", Tier: "cheap"}, {Prompt: "summarize", Tier: "balanced"}},
		},
		{
			name: "row with neither",
			csv:  "prompt,tier\nhello,cheap\nsummarize,\n",
			err:  "csv row 3: no \"tier\" value",
		},
		{
			name: "row with a bad outcome and no tier",
			csv:  "prompt,weak,strong,tier\nhi,True,True,\nx,True,,\n",
			err:  "csv row 3: column \"strong\"",
		},
		{
			name: "no outcome columns without a tier column",
			csv:  "prompt,notes\nhi,x\n",
			err:  "two correctness columns besides",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExamplesCSV(strings.NewReader(tc.csv), CSVOptions{Group: "g"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				w.Group = "g"
				if got[i] != w {
					t.Errorf("row %d: %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
	// The same tier-column file still parses as an evaluation set where
	// every row has outcomes; ParseCSV ignores the tier column.
	rows, err := ParseCSV(strings.NewReader("prompt,weak,strong,tier\nhi,True,True,cheap\n"), CSVOptions{})
	if err != nil || len(rows) != 1 || !rows[0].WeakCorrect {
		t.Errorf("ParseCSV with a tier column: %+v, %v", rows, err)
	}
}
