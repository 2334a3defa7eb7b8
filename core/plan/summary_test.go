package plan

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
)

func longContextPrompt() string {
	return strings.Repeat("The migration moved 42 services to the new cluster in eu-west-1 over several weeks of careful work. ", 40) +
		"\n\nWhich region did the services move to?"
}

func TestPlanPricesTheProjectedSummary(t *testing.T) {
	fc := &fakeCache{}
	p := planner(t, fc, "gpt-4o")
	comp, err := compress.New(compress.Config{Summarize: true, SummarizeMinTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	p.Compressor, p.SummarizeModel = comp, "gpt-4o-mini"
	prompt := longContextPrompt()
	pl, err := p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 400})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Compression.Summary
	if s == nil || s.Model != "gpt-4o-mini" || !pl.Compression.Lossy {
		t.Fatalf("summary = %+v, lossy %v", s, pl.Compression.Lossy)
	}
	// The summarizer's own call: its exact prompt in its tokenizer, the
	// projected summary as completion, at gpt-4o-mini's $0.15/$0.60 per M.
	reg := tokens.NewRegistry()
	mini := reg.ForModel("gpt-4o-mini")
	in := llm.PromptTokens(mini, s.Request("gpt-4o-mini").Messages())
	wantSum := int64(in)*150 + int64(s.EstimatedTokens)*600
	if s.PromptTokens != in || int64(s.CostNanos) != wantSum || int64(pl.Compression.ExtraCostNanos) != wantSum {
		t.Fatalf("summary cost %d (prompt %d), want %d (prompt %d)", s.CostNanos, s.PromptTokens, wantSum, in)
	}
	if ps := pl.Compression.Passes[0]; !ps.Pending || int64(ps.CostNanos) != wantSum {
		t.Fatalf("pass = %+v", ps)
	}
	// The routed call is priced on the prompt with the estimate in place
	// of the region, and the summarizer's cost is added to it.
	c4 := reg.ForModel("gpt-4o")
	optTokens := c4.Count(prompt).Tokens - c4.Count(s.Region).Tokens + s.EstimatedTokens
	wantOpt := int64(optTokens+chatOverhead)*2500 + 400*10000 + wantSum
	if pl.Cost.OptimizedPromptTokens != optTokens || pl.Cost.OptimizedNanos != wantOpt {
		t.Fatalf("optimized %d tokens %d nanos, want %d tokens %d nanos", pl.Cost.OptimizedPromptTokens, pl.Cost.OptimizedNanos, optTokens, wantOpt)
	}
	a := pl.Cost.Attribution
	if a.RoutingNanos+a.CompressionNanos != pl.Cost.BaselineNanos-pl.Cost.OptimizedNanos {
		t.Fatalf("attribution %+v does not add up", a)
	}
	if !strings.Contains(strings.Join(pl.Cost.Assumptions, "\n"), "summary made at send by gpt-4o-mini") {
		t.Fatalf("assumptions: %q", pl.Cost.Assumptions)
	}
	// Without a summarize model the routed model writes it.
	p.SummarizeModel = ""
	pl, err = p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 400})
	if err != nil || pl.Compression.Summary.Model != "gpt-4o" {
		t.Fatalf("default model: %v %+v", err, pl.Compression.Summary)
	}
	want4o := cost.Request(mustModel(t, p, "gpt-4o"), cost.Usage{PromptTokens: int64(pl.Compression.Summary.PromptTokens), CompletionTokens: int64(pl.Compression.Summary.EstimatedTokens)})
	if pl.Compression.Summary.CostNanos != want4o {
		t.Fatalf("gpt-4o summary cost %d, want %d", pl.Compression.Summary.CostNanos, want4o)
	}
	// A hit sends nothing, so nothing is summarized or charged.
	fc.hit = true
	pl, err = p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", CompletionTokens: 400})
	if err != nil || pl.Cost.OptimizedNanos != 0 {
		t.Fatalf("hit: %v %d", err, pl.Cost.OptimizedNanos)
	}
	p.SummarizeModel = "no-such-model"
	if _, err := p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o"}); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("unknown summarize model: %v", err)
	}
}

func TestPlanLossyOption(t *testing.T) {
	p := planner(t, &fakeCache{}, "gpt-4o-mini")
	cfg := compress.DefaultConfig()
	mk := func(c compress.Config) Compressor {
		comp, err := compress.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return comp
	}
	p.Compressor, p.Lossy, p.Lossless = mk(cfg), mk(cfg.WithLossy(true)), mk(cfg.WithLossy(false))
	prompt := "I would like you to please kindly read the notes below very carefully. The notes are about the network of the office.\n\n" +
		"What is the main difference between TCP and UDP?"
	on, off := true, false
	for _, c := range []struct {
		lossy *bool
		want  bool
	}{{nil, false}, {&on, true}, {&off, false}} {
		pl, err := p.Plan(context.Background(), prompt, Options{Baseline: "gpt-4o", Lossy: c.lossy})
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, ps := range pl.Compression.Passes {
			names = append(names, ps.Name)
		}
		hasFiller := strings.Contains(strings.Join(names, ","), "filler")
		if pl.Compression.Lossy != c.want || hasFiller != c.want {
			t.Errorf("lossy %v: compression.lossy %v, passes %v", c.lossy, pl.Compression.Lossy, names)
		}
		if c.want && pl.Compression.Tokens >= pl.Compression.TokensBefore {
			t.Errorf("lossy on saved nothing: %+v", pl.Compression.Passes)
		}
	}
}

func mustModel(t *testing.T, p *Planner, id string) pricing.Model {
	t.Helper()
	m, ok := p.Catalog.Lookup(id)
	if !ok {
		t.Fatalf("%s not in catalog", id)
	}
	return m
}

// TestRelookupIsPlanAfterACacheChange: a plan made while the cache missed,
// looked up again after the cache changed, equals a plan made from
// scratch then — costs included, and a projected summary priced once.
func TestRelookupIsPlanAfterACacheChange(t *testing.T) {
	comp, err := compress.New(compress.Config{Summarize: true, SummarizeMinTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		prompt string
		comp   Compressor
	}{{"plain", "Explain the difference between TCP and UDP.", halve{}}, {"summary", longContextPrompt(), comp}} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeCache{}
			p := planner(t, fc, "gpt-4o-mini")
			p.Compressor, p.SummarizeModel = tc.comp, "gpt-4o-mini"
			opt := Options{Baseline: "gpt-4o", CompletionTokens: 300, RequestsPerDay: 500}
			before, err := p.Plan(ctx, tc.prompt, opt)
			if err != nil {
				t.Fatal(err)
			}
			fc.hit = true
			again, err := p.Relookup(ctx, before, opt)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := p.Plan(ctx, tc.prompt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, fresh) {
				t.Fatalf("relookup:\n%+v\nfresh plan:\n%+v", again, fresh)
			}
			if before.Cache.Outcome == again.Cache.Outcome || before.Cost.OptimizedNanos == again.Cost.OptimizedNanos {
				t.Fatalf("the cache change did not show: before %+v, after %+v", before.Cost, again.Cost)
			}
			if tc.name == "summary" && (again.Compression.Summary == nil || again.Compression.ExtraCostNanos != before.Compression.ExtraCostNanos) {
				t.Fatalf("summary priced again: extra %d, before %d", again.Compression.ExtraCostNanos, before.Compression.ExtraCostNanos)
			}
		})
	}
}
