package route

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. The benchmarks report it
// per operation next to wall time because the development machine is
// shared: wall-clock ns/op there measures the load, CPU ns/op the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchPrompt builds a prompt of about n tokens (4 bytes per token) mixing
// prose, numbers, a question list and a code block.
func benchPrompt(n int) string {
	parts := []string{
		"Please review the following design and explain why the cache misses so often. ",
		"The service handles 12,000 requests per second with a p99 of 340 ms; ",
		"compare it with the previous release step by step.\n",
		"1. What changed in the eviction policy?\n2. Could the TTL be too short?\n",
		"```go\nfunc (c *Cache) Get(k string) (v []byte, ok bool) {\n\tc.mu.Lock();\n\tdefer c.mu.Unlock();\n}\n```\n",
		"Return the findings as a JSON table with one row per component. ",
	}
	var b strings.Builder
	for i := 0; b.Len() < 4*n; i++ {
		b.WriteString(parts[i%len(parts)])
	}
	return b.String()
}

func benchRules() []RuleConfig {
	return []RuleConfig{
		{Name: "sql", Keywords: []string{"select", "join", "group by", "window function"}, Weight: 0.15},
		{Name: "legal", Keywords: []string{"contract", "liability", "indemnify"}, Tier: TierStrong},
		{Name: "greeting", Pattern: `^\s*(hi|hello|thanks)\b`, Weight: -0.2},
		{Name: "k8s", Pattern: `\b(kubectl|helm|kubernetes)\b`, Weight: 0.1},
	}
}

// BenchmarkScore2000Tokens measures Route without a learned signal (the
// embedding is the only part excluded from the 50 µs budget) on a
// 2,000-token prompt: with the default configuration, and with four user
// rules (two keyword lists, two case-insensitive regexps).
func BenchmarkScore2000Tokens(b *testing.B) {
	for _, bc := range []struct {
		name  string
		rules []RuleConfig
	}{{"default", nil}, {"4rules", benchRules()}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Rules = bc.rules
			r := newRouter(b, cfg)
			req := Request{Prompt: benchPrompt(2000), PromptTokens: 2000, CompletionTokens: 500, Turns: 3}
			ctx := context.Background()
			b.SetBytes(int64(len(req.Prompt)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := r.Route(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkScoreOnly2000Tokens is the score alone (signals and the four
// rules, with the explanation), without tier, model and alternatives.
func BenchmarkScoreOnly2000Tokens(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Rules = benchRules()
	r := newRouter(b, cfg)
	prompt := benchPrompt(2000)
	b.SetBytes(int64(len(prompt)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r.sc.score(prompt, 2000, 3, vote{}, true)
	}
	reportCPU(b, start)
}

// BenchmarkRescore15000 measures the TUI's live-metrics path after a rule
// edit: compile the edited rules, re-score 15,000 prepared prompts (about
// MMLU's length mix, learned votes cached) and compute APGR, CPT and cost.
func BenchmarkRescore15000(b *testing.B) {
	r := newRouter(b, DefaultConfig())
	sizes := []int{40, 60, 80, 100, 150, 300} // tokens; MMLU averages ~100
	data := make([]Labelled, 15000)
	for i := range data {
		data[i] = Labelled{
			Prompt:        fmt.Sprintf("%d %s", i, benchPrompt(sizes[i%len(sizes)])),
			WeakCorrect:   i%3 != 0,
			StrongCorrect: i%5 != 0,
		}
	}
	cat := catalog(b)
	weak, _ := cat.Lookup("gpt-4o-mini")
	strong, _ := cat.Lookup("gpt-4o")
	p, err := r.Prepare(context.Background(), data, nil)
	if err != nil {
		b.Fatal(err)
	}
	rules := benchRules()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		rs, err := Compile(rules)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Metrics(p, r.Rescore(p, rs), EvalOptions{Weak: weak, Strong: strong}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkNewLearned measures building the learned signal from vectors
// that are already embedded (the start-up path with labelled history):
// the vote's calibration, one held-out vote per sampled example, is most of
// it. 228 dimensions, as the local GloVe embedder.
func BenchmarkNewLearned(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			emb := trigramEmbedder{dim: 228}
			ex := make([]Example, n)
			texts := make([]string, n)
			for i := range ex {
				texts[i] = fmt.Sprintf("labelled prompt %d about topic %d with detail %d", i, i%37, i%11)
				ex[i] = Example{Prompt: texts[i], StrongNeeded: i%3 == 0, WeakBetter: i%7 == 0, Group: fmt.Sprint(i % 20)}
			}
			vecs, _ := emb.Embed(context.Background(), texts)
			cfg := DefaultConfig().Learned
			b.ResetTimer()
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := NewLearnedFromVectors(emb, ex, vecs, cfg); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}
