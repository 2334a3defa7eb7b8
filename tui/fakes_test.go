package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/tui/common"
)

// fakePlanner builds a deterministic plan from the prompt's words: the
// compressor drops the word "please", the router picks the weak tier for
// short prompts, the cache misses below threshold.
type fakePlanner struct {
	calls atomic.Int64
	delay time.Duration
	err   error
}

func (f *fakePlanner) Plan(ctx context.Context, prompt string, o plan.Options) (plan.Plan, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return plan.Plan{}, ctx.Err()
		}
	}
	if f.err != nil {
		return plan.Plan{}, f.err
	}
	if err := plan.CheckPrompt(prompt); err != nil {
		return plan.Plan{}, err
	}
	words := strings.Fields(prompt)
	var kept []string
	for _, w := range words {
		if !strings.EqualFold(w, "please") {
			kept = append(kept, w)
		}
	}
	n, after := len(words)*4/3+1, len(kept)*4/3+1
	model, tier, score := "gpt-4o-mini", "weak", 0.21
	if len(words) > 40 {
		model, tier, score = "gpt-4o", "strong", 0.74
	}
	base := money.Nanos(int64(n) * 10_000)
	opt := money.Nanos(int64(after) * 600)
	return plan.Plan{
		Prompt: prompt,
		Input:  plan.Input{Model: o.Baseline, Tokens: n, Tokenizer: "cl100k_base", Exact: true, OverheadTokens: 6, Bytes: len(prompt)},
		Compression: compress.Result{
			Text: strings.Join(kept, " "), Tokens: after, TokensBefore: n,
			Passes: []compress.PassResult{
				{Name: "whitespace", TokensSaved: 0},
				{Name: "filler", TokensSaved: n - after, Lossy: true},
			},
		},
		Route: route.Decision{
			Model: model, Tier: tier, Score: score,
			Reasons: []string{"signal:length +0.10"},
			Contributions: []route.Contribution{
				{Name: "signal:length", Value: 0.2, Weight: 0.5, Delta: 0.10},
				{Name: "rule:greeting", Value: 1, Weight: -0.3, Delta: -0.30, Detail: "matched \"hello\""},
			},
			Alternatives: []route.Alternative{
				{Model: "gpt-4o", Tier: "strong", CostUSD: 0.0125, Fits: true},
				{Model: "claude-3-haiku", Tier: "weak", CostUSD: 0.0007, Fits: true},
			},
		},
		Cache: cache.Result{
			Outcome: cache.Miss, Reason: cache.ReasonBelowThreshold, Scale: "cosine",
			Similarity: 0.82, Threshold: 0.9, Detail: "best entry 0.82 < 0.90",
			Neighbors: []cache.Neighbor{
				{ID: 7, Prompt: "what is the capital of France?", Similarity: 0.82, Reason: cache.ReasonBelowThreshold},
				{ID: 9, Prompt: "capital of \x1b[31mSpain\x1b[0m?", Similarity: 0.61, Reason: cache.ReasonGuardRejected, Detail: "entity: Spain ≠ France"},
			},
		},
		Cost: plan.Cost{
			BaselineModel: o.Baseline, OptimizedModel: model,
			BaselineNanos: int64(base), OptimizedNanos: int64(opt),
			BaselineUSD: base.USD(), OptimizedUSD: opt.USD(), SavingsUSD: (base - opt).USD(),
			SavingsPct:              100 * float64(base-opt) / float64(base),
			CompletionTokensAssumed: o.CompletionTokens, OptimizedPromptTokens: after,
			RequestsPerDay:       o.RequestsPerDay,
			BaselinePerMonthUSD:  (base * money.Nanos(o.RequestsPerDay) * 30).USD(),
			OptimizedPerMonthUSD: (opt * money.Nanos(o.RequestsPerDay) * 30).USD(),
			Assumptions:          []string{fmt.Sprintf("completion length assumed: %d tokens", o.CompletionTokens)},
		},
	}, nil
}

type fakeModels struct{}

func (fakeModels) Models() []pricing.Model {
	return []pricing.Model{
		{ID: "claude-3-haiku", Provider: "anthropic", Input: 250_000, Output: 1_250_000},
		{ID: "gpt-4-turbo", Provider: "openai", Input: 10_000_000, Output: 30_000_000},
		{ID: "gpt-4o", Provider: "openai", Input: 2_500_000, Output: 10_000_000},
		{ID: "gpt-4o-mini", Provider: "openai", Input: 150_000, Output: 600_000},
	}
}

// fakeSender streams chunks; with block set it waits for ctx to end.
type fakeSender struct {
	mu     sync.Mutex
	chunks []string
	block  bool
	err    error
	got    []plan.Plan
}

func (f *fakeSender) Send(ctx context.Context, pl plan.Plan, _ send.Options, onDelta func(string)) (send.Outcome, error) {
	f.mu.Lock()
	f.got = append(f.got, pl)
	f.mu.Unlock()
	for _, c := range f.chunks {
		onDelta(c)
	}
	if f.block {
		<-ctx.Done()
		return send.Outcome{}, ctx.Err()
	}
	if f.err != nil {
		return send.Outcome{}, f.err
	}
	out := send.Outcome{
		Response:  send.Response{Text: strings.Join(f.chunks, ""), Model: "gpt-4o-mini", Provider: "sim"},
		Usage:     send.Usage{PromptTokens: 12, CompletionTokens: 40, Reported: true},
		Cost:      send.Cost{ActualNanos: 31_800, ProjectedNanos: 30_000, BaselineNanos: 1_500_000},
		Route:     send.RouteInfo{Model: pl.Route.Model, Tier: pl.Route.Tier},
		Cache:     send.CacheInfo{Outcome: cache.Miss},
		Simulated: true,
	}
	return out, nil
}

type fakeDemo struct {
	empty  bool
	loaded atomic.Int64
}

func (f *fakeDemo) Empty(context.Context) (bool, error) { return f.empty, nil }
func (f *fakeDemo) Load(context.Context) (int, error) {
	f.loaded.Add(1)
	f.empty = false
	return 1234, nil
}

var fixedTime = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

type fakeHistory struct {
	mu     sync.Mutex
	items  []history.Entry
	labels map[int64]history.Label
	tiers  []string // nil = the default configuration's
}

func newFakeHistory(n int) *fakeHistory {
	h := &fakeHistory{labels: map[int64]history.Label{}}
	outcomes := []cache.Outcome{cache.Miss, cache.ExactHit, cache.SemanticHit, cache.Miss}
	for i := 0; i < n; i++ {
		e := history.Entry{
			ID: int64(i + 1), Time: fixedTime.Add(-time.Duration(i) * time.Minute),
			Prompt: fmt.Sprintf("question %d about invoices and \x1b[2Jrefunds", i),
			Model:  "gpt-4-turbo", Routed: []string{"gpt-4o-mini", "gpt-4o-mini", "gpt-4o"}[i%3],
			Cache: string(outcomes[i%4]), ProjectedNanos: int64(1000 * (i + 1)),
		}
		if i%2 == 0 {
			a := int64(900 * (i + 1))
			e.ActualNanos = &a
		}
		h.items = append(h.items, e)
	}
	return h
}

func (h *fakeHistory) ListHistory(_ context.Context, q history.Query) ([]history.Entry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]history.Entry(nil), h.items...)
	for i := range out {
		out[i].Label = h.labels[out[i].ID]
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Tiers are the default configuration's unless a test renames them.
func (h *fakeHistory) Tiers() []string {
	if h.tiers != nil {
		return h.tiers
	}
	return []string{route.TierCheap, route.TierBalanced, route.TierStrong}
}

func (h *fakeHistory) SetLabel(_ context.Context, id int64, l history.Label) error {
	// Like main's: a tier label must name a configured tier.
	if t, ok := l.Tier(); ok && !slices.Contains(h.Tiers(), t) {
		return fmt.Errorf("label history %d: no tier %q is configured in route.tiers", id, t)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.labels[id] = l
	return nil
}

type fakeRules struct {
	mu    sync.Mutex
	rules []route.RuleConfig
	saved [][]route.RuleConfig
}

func (r *fakeRules) Rules(context.Context) ([]route.RuleConfig, error) {
	return append([]route.RuleConfig(nil), r.rules...), nil
}

// Preview rejects patterns with an unbalanced "(" the way regexp would.
func (r *fakeRules) Preview(_ context.Context, rules []route.RuleConfig, prompt string) (common.RulesPreview, error) {
	var p common.RulesPreview
	for i, ru := range rules {
		if strings.Count(ru.Pattern, "(") != strings.Count(ru.Pattern, ")") {
			p.Errors = append(p.Errors, common.RuleError{Index: i, Field: "match", Msg: "missing closing )"})
		}
	}
	if len(p.Errors) > 0 {
		return p, nil
	}
	p.Decision = route.Decision{Model: "gpt-4o-mini", Tier: "weak", Score: 0.1 * float64(len(rules))}
	p.Sets = []route.SetMetrics{
		{Name: "labelled history", Prompts: 10,
			Before: &route.Report{APGR: 0.7, StrongShare: 0.25, CostUSD: 0.11},
			Report: &route.Report{APGR: 0.72, StrongShare: 0.3, CostUSD: 0.123}},
		{Name: "gsm8k (embedded)", Prompts: 1319,
			Before: &route.Report{APGR: 0.544, StrongShare: 0.005, CostUSD: 0.27},
			Report: &route.Report{APGR: 0.544, StrongShare: 0.005, CostUSD: 0.27}},
		{Name: "all-weak.csv", Prompts: 3, Note: "no quality gap: the strong model does no better on these labels"},
	}
	if len(rules) > 2 {
		p.Changed = []history.Entry{{ID: 1, Model: "gpt-4-turbo", Routed: "gpt-4o", Prompt: "refund policy?"}}
	}
	return p, nil
}

func (r *fakeRules) Save(_ context.Context, rules []route.RuleConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saved = append(r.saved, rules)
	return nil
}

type fakeCache struct {
	mu      sync.Mutex
	entries []cache.EntryInfo
	evicted []int64
}

func newFakeCache(n int) *fakeCache {
	c := &fakeCache{}
	for i := 0; i < n; i++ {
		c.entries = append(c.entries, cache.EntryInfo{
			ID: int64(i + 1), Prompt: fmt.Sprintf("cached prompt %d", i), Scope: cache.Scope{Model: "gpt-4o-mini"},
			Hits: int64(n - i), CreatedAt: time.Now().Add(-3 * time.Hour), TTLLeft: 21 * time.Hour,
			Saved: money.Nanos(5000 * (n - i)),
		})
	}
	return c
}

func (c *fakeCache) Entries(_ cache.SortBy, limit int) ([]cache.EntryInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]cache.EntryInfo(nil), c.entries...)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (c *fakeCache) Response(_ context.Context, id int64) (string, error) {
	return fmt.Sprintf("answer %d \x1b]52;c;ZXZpbA==\x07with OSC", id), nil
}

// WhatIf: three neighbours at 0.86, 0.80 (below) and 0.95 guarded.
func (c *fakeCache) WhatIf(_ context.Context, req cache.Request, t float64) (cache.WhatIf, error) {
	w := cache.WhatIf{Scale: "cosine", Threshold: t, Configured: 0.9}
	for _, n := range []cache.Neighbor{
		{ID: 3, Prompt: "guarded twin", Similarity: 0.95, Reason: cache.ReasonGuardRejected, Detail: "number 3 ≠ 30"},
		{ID: 1, Prompt: "cached prompt 0", Similarity: 0.86},
		{ID: 2, Prompt: "cached prompt 1", Similarity: 0.80},
	} {
		if n.Reason == "" && n.Similarity < t {
			n.Reason = cache.ReasonBelowThreshold
		}
		w.Candidates = append(w.Candidates, n)
	}
	return w, nil
}

func (c *fakeCache) Evict(_ context.Context, id int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evicted = append(c.evicted, id)
	for i, e := range c.entries {
		if e.ID == id {
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
			break
		}
	}
	return nil
}

func (c *fakeCache) Pin(_ context.Context, id int64, pinned bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.entries {
		if c.entries[i].ID == id {
			c.entries[i].Pinned = pinned
		}
	}
	return nil
}

type fakeEval struct{}

func (fakeEval) Evaluate(context.Context) (cache.Report, error) {
	var r cache.Report
	for _, t := range cache.SweepThresholds() {
		r.Sweep = append(r.Sweep, cache.Sweep{Threshold: t, Precision: t, Recall: 1 - t/2})
	}
	return r, nil
}

type fakeSavings struct{}

func (fakeSavings) Summary(context.Context) (common.SavingsSummary, error) {
	amt := func(n money.Nanos) ledger.Amount { return ledger.Amount{Nanos: n, USD: n.USD()} }
	tot := func(req int64, spent, base money.Nanos) ledger.Totals {
		return ledger.Totals{Requests: req, Calls: req * 3 / 4, Hits: req / 4, HitRate: 0.25,
			Actual: amt(spent), Baseline: amt(base), Savings: amt(base - spent), SavingsPct: 100 * float64(base-spent) / float64(base)}
	}
	r := ledger.Report{
		Totals:     tot(1200, 4_200_000_000, 42_000_000_000),
		ByModel:    []ledger.ModelRow{{Model: "gpt-4o-mini", Totals: tot(800, 1_000_000_000, 28_000_000_000)}, {Model: "gpt-4o", Totals: tot(150, 3_200_000_000, 5_000_000_000)}},
		Projection: ledger.ProjectionError{Samples: 900, MeanAbsPct: 7.5},
	}
	for i := 0; i < 14; i++ {
		r.ByDay = append(r.ByDay, ledger.DayRow{Day: fixedTime.AddDate(0, 0, i-13).Format("2006-01-02"),
			Totals: tot(80, money.Nanos(200_000_000+20_000_000*i), 3_000_000_000)})
	}
	return common.SavingsSummary{Report: r, ByStrategy: []common.Amount{
		{Name: "cache", Nanos: 16_000_000_000}, {Name: "routing", Nanos: 19_000_000_000}, {Name: "compression", Nanos: 2_800_000_000},
	}}, nil
}

func allServices() Services {
	svc, _, _ := fullServices()
	svc.History = newFakeHistory(40)
	svc.Rules = &fakeRules{rules: []route.RuleConfig{
		{Name: "code", Pattern: "(?i)func|class", Tier: "strong"},
		{Name: "greeting", Keywords: []string{"hi", "hello"}, Weight: -0.4},
	}}
	svc.Cache = newFakeCache(30)
	svc.Eval = fakeEval{}
	svc.Savings = fakeSavings{}
	return svc
}
