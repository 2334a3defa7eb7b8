package replay

import (
	"context"
	"fmt"
	"testing"

	"github.com/pennyllm/penny/core/plan"
)

// fixedPlanner returns one precomputed plan: it isolates the runner's own
// cost (attribution, aggregation, progress) from the pipeline's.
type fixedPlanner struct{ p plan.Plan }

func (f fixedPlanner) Plan(context.Context, string, plan.Options) (plan.Plan, error) { return f.p, nil }

type nopExec struct{ n int }

func (e *nopExec) Execute(_ context.Context, c Call) (Result, error) {
	e.n++
	return Result{FromCache: e.n%3 == 0, Actual: 1}, nil
}

func shortTraffic(n, distinct int) *Traffic {
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = Request{Line: i + 1, Prompt: fmt.Sprintf("How do I reset my password for account %d?", i%distinct)}
	}
	return &Traffic{Format: FormatText, Requests: reqs}
}

// BenchmarkRunnerOverhead: the runner alone, per request.
func BenchmarkRunnerOverhead(b *testing.B) {
	f := newFixture(b)
	pl, err := f.planner.Plan(context.Background(), "How do I reset my password? Please help.", plan.Options{Baseline: "gpt-4o", CompletionTokens: 100})
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(fixedPlanner{pl}, &nopExec{}, Config{Baseline: "gpt-4o", Catalog: f.cat, Tokens: f.reg, Progress: func(Progress) {}})
	if err != nil {
		b.Fatal(err)
	}
	tr := shortTraffic(b.N, 1)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := r.Run(context.Background(), tr); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRunFakePipeline: a real plan.Planner (tokens, pricing) with
// fake stages and an exact in-memory cache that grows with every miss —
// short prompts, a third of them repeats.
func BenchmarkRunFakePipeline(b *testing.B) {
	f := newFixture(b)
	r := f.runner(b, Config{})
	tr := shortTraffic(b.N, max(1, 2*b.N/3))
	b.ReportAllocs()
	b.ResetTimer()
	rep, err := r.Run(context.Background(), tr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rep.RequestsPerSecond, "req/s")
	b.ReportMetric(float64(len(f.exec.c.m)), "entries")
}
