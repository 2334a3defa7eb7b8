package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/core/tokens"
)

// squeeze is a fake compressor: it collapses runs of spaces.
type squeeze struct{}

func (squeeze) Compress(_ context.Context, text string, c tokens.Counter) (compress.Result, error) {
	out := strings.Join(strings.Fields(text), " ")
	return compress.Result{Text: out, Tokens: c.Count(out).Tokens, TokensBefore: c.Count(text).Tokens}, nil
}

// keyword routes prompts that mention "prove" to the strong model.
type keyword struct{ strong, cheap string }

func (k keyword) Route(_ context.Context, r route.Request) (route.Decision, error) {
	if strings.Contains(r.Prompt, "prove") {
		return route.Decision{Model: k.strong, Tier: "strong"}, nil
	}
	return route.Decision{Model: k.cheap, Tier: "cheap"}, nil
}

// memCache is an exact-match cache the executor fills, like a real one.
type memCache struct {
	mu   sync.Mutex
	m    map[string]bool
	puts int // changes so far, for planners that plan ahead
}

func key(prompt string, s cache.Scope) string { return s.Model + "\x00" + s.System + "\x00" + prompt }

func (c *memCache) Lookup(_ context.Context, r cache.Request) (cache.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key(r.Prompt, r.Scope)] {
		return cache.Result{Outcome: cache.ExactHit, Similarity: 1}, nil
	}
	return cache.Result{Outcome: cache.Miss, Reason: cache.ReasonEmpty}, nil
}

// exec serves hits from the cache and stores misses in it.
type exec struct {
	c       *memCache
	calls   int
	failOn  string
	onCall  func(n int)
	systems []string
}

func (e *exec) Execute(_ context.Context, c Call) (Result, error) {
	req, p := c.Request, c.Plan
	e.calls++
	if e.onCall != nil {
		e.onCall(e.calls)
	}
	e.systems = append(e.systems, req.System)
	if e.failOn != "" && req.Prompt == e.failOn {
		return Result{}, errors.New("provider said no")
	}
	if p.Cache.Outcome == cache.ExactHit {
		return Result{Model: "cache", FromCache: true}, nil
	}
	e.c.mu.Lock()
	s := c.Options.Scope
	s.Model = p.Route.Model
	e.c.m[key(req.Prompt, s)] = true
	e.c.puts++
	e.c.mu.Unlock()
	return Result{Model: p.Route.Model, Actual: money.Nanos(p.Cost.OptimizedNanos) + 1}, nil
}

type fixture struct {
	cat     *pricing.Catalog
	reg     *tokens.Registry
	planner *plan.Planner
	exec    *exec
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	reg := tokens.NewRegistry()
	mc := &memCache{m: map[string]bool{}}
	return &fixture{cat: cat, reg: reg,
		planner: &plan.Planner{Tokens: reg, Catalog: cat, Compressor: squeeze{}, Cache: mc, Router: keyword{"gpt-4o", "gpt-4o-mini"}},
		exec:    &exec{c: mc}}
}

func (f *fixture) runner(t testing.TB, cfg Config) *Runner {
	t.Helper()
	cfg.Catalog, cfg.Tokens = f.cat, f.reg
	if cfg.Baseline == "" {
		cfg.Baseline = "gpt-4o"
	}
	if cfg.CompletionTokens == 0 {
		cfg.CompletionTokens = 100
	}
	r, err := NewRunner(f.planner, f.exec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// price is the test's own arithmetic: model m, prompt text counted with
// m's tokenizer plus the 7 tokens of chat framing, c completion tokens.
func (f *fixture) price(t *testing.T, model, prompt string, c int) money.Nanos {
	t.Helper()
	m, ok := f.cat.Lookup(model)
	if !ok {
		t.Fatalf("no %s", model)
	}
	n := f.reg.ForModel(model).Count(prompt).Tokens
	return cost.Request(m, cost.Usage{PromptTokens: int64(n + 7), CompletionTokens: int64(c)})
}

func traffic(reqs ...Request) *Traffic {
	for i := range reqs {
		reqs[i].Line = i + 1
	}
	return &Traffic{Format: FormatJSONL, Requests: reqs}
}

func TestRunAttributionByHand(t *testing.T) {
	f := newFixture(t)
	a := "What is the capital of France?"
	spaced := "Summarize   this:    the   meeting   moved    to   Tuesday."
	hard := "prove that the square root of two is irrational"
	tr := traffic(
		Request{Prompt: a},                          // miss, routed to mini
		Request{Prompt: a},                          // exact hit
		Request{Prompt: hard, CompletionTokens: 50}, // miss, stays on gpt-4o: no saving
		Request{Prompt: spaced},                     // miss, routed and compressed
		Request{Prompt: a, Model: "gpt-4o-mini"},    // hit: baseline mini, same scope
	)
	rep, err := f.runner(t, Config{RequestsPerDay: 1000}).Run(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	bA, bHard, bSpaced := f.price(t, "gpt-4o", a, 100), f.price(t, "gpt-4o", hard, 50), f.price(t, "gpt-4o", spaced, 100)
	bAmini := f.price(t, "gpt-4o-mini", a, 100)
	oA := f.price(t, "gpt-4o-mini", a, 100)
	rSpaced := f.price(t, "gpt-4o-mini", spaced, 100)
	oSpaced := f.price(t, "gpt-4o-mini", strings.Join(strings.Fields(spaced), " "), 100)

	wantBase := 2*bA + bHard + bSpaced + bAmini
	wantOpt := oA + bHard + oSpaced
	wantCache := bA + bAmini
	wantRouting := (bA - oA) + (bSpaced - rSpaced)
	wantComp := rSpaced - oSpaced
	if rSpaced <= oSpaced || bSpaced <= rSpaced {
		t.Fatalf("fixture does not exercise both strategies: B %v R %v O %v", bSpaced, rSpaced, oSpaced)
	}
	if rep.Requests != 5 || rep.Failed != 0 || rep.CacheHits != 2 || rep.ExactHits != 2 || rep.CacheHitRate != 0.4 {
		t.Errorf("counts: %+v", rep)
	}
	if money.Nanos(rep.BaselineNanos) != wantBase || money.Nanos(rep.OptimizedNanos) != wantOpt {
		t.Errorf("baseline %d optimized %d, want %d %d", rep.BaselineNanos, rep.OptimizedNanos, wantBase, wantOpt)
	}
	got := map[string]Strategy{}
	var sum int64
	for _, s := range rep.Strategies {
		got[s.Name] = s
		sum += s.SavingsNanos
	}
	if money.Nanos(got["cache"].SavingsNanos) != wantCache || money.Nanos(got["routing"].SavingsNanos) != wantRouting ||
		money.Nanos(got["compression"].SavingsNanos) != wantComp {
		t.Errorf("strategies %+v, want cache %d routing %d compression %d", rep.Strategies, wantCache, wantRouting, wantComp)
	}
	if sum != rep.BaselineNanos-rep.OptimizedNanos {
		t.Errorf("strategies add to %d, savings are %d", sum, rep.BaselineNanos-rep.OptimizedNanos)
	}
	if got["cache"].Requests != 2 || got["routing"].Requests != 2 || got["compression"].Requests != 1 {
		t.Errorf("strategy request counts %+v", rep.Strategies)
	}
	// Actual: the fake executor charges projected+1 per sent request.
	if money.Nanos(rep.ActualNanos) != wantOpt+3 {
		t.Errorf("actual %d, want %d", rep.ActualNanos, wantOpt+3)
	}
	models := map[string]ModelRow{}
	for _, m := range rep.ByModel {
		models[m.Model] = m
	}
	if models["cache"].Requests != 2 || models["gpt-4o-mini"].Requests != 2 || models["gpt-4o"].Requests != 1 ||
		money.Nanos(models["gpt-4o"].OptimizedNanos) != bHard || models["cache"].OptimizedNanos != 0 {
		t.Errorf("by model %+v", rep.ByModel)
	}
	if rep.ByModel[0].Model != "cache" { // ties broken by name: cache < gpt-4o-mini
		t.Errorf("by model order %+v", rep.ByModel)
	}
	// Per month: average per request × 1000/day × 30 days.
	if rep.PerMonth.RequestsPerDay != 1000 || money.Nanos(rep.PerMonth.BaselineNanos) != wantBase*30000/5 {
		t.Errorf("per month %+v, want baseline %d", rep.PerMonth, wantBase*30000/5)
	}
	wantPct := 100 * float64(wantBase-wantOpt) / float64(wantBase)
	if rep.SavingsPct != wantPct {
		t.Errorf("savings pct %v, want %v", rep.SavingsPct, wantPct)
	}
}

func TestRunSystemPromptScopesTheCache(t *testing.T) {
	f := newFixture(t)
	tr := traffic(Request{Prompt: "hi there", System: "pirate"}, Request{Prompt: "hi there", System: "butler"},
		Request{Prompt: "hi there", System: "pirate"})
	rep, err := f.runner(t, Config{}).Run(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CacheHits != 1 || f.exec.systems[1] != "butler" {
		t.Errorf("hits %d, systems %q", rep.CacheHits, f.exec.systems)
	}
	if rep.PerMonth.RequestsPerDay != 3 {
		t.Errorf("default requests per day = %d, want the file's 3", rep.PerMonth.RequestsPerDay)
	}
}

func TestRunFailuresAreCountedAndTheReplayGoesOn(t *testing.T) {
	f := newFixture(t)
	f.exec.failOn = "boom"
	tr := traffic(Request{Prompt: "one", Model: "gpt-99"}, Request{Prompt: "boom"}, Request{Prompt: "two", Model: "gpt-99"},
		Request{Prompt: "three"})
	rep, err := f.runner(t, Config{}).Run(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 1 || rep.Failed != 3 || len(rep.Failures) != 2 {
		t.Fatalf("requests %d failed %d failures %+v", rep.Requests, rep.Failed, rep.Failures)
	}
	f0, f1 := rep.Failures[0], rep.Failures[1]
	if f0.Stage != "plan" || f0.Reason != plan.ErrUnknownModel.Error() || f0.Count != 2 || f0.FirstLine != 1 || !strings.Contains(f0.Example, "gpt-99") {
		t.Errorf("failure 0 %+v", f0)
	}
	if f1.Stage != "execute" || f1.Count != 1 || f1.FirstLine != 2 || f1.Reason != "provider said no" {
		t.Errorf("failure 1 %+v", f1)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Failed at plan: unknown model × 2 (first on line 1)") {
		t.Errorf("text:\n%s", b.String())
	}
}

func TestRunProgressAndCancel(t *testing.T) {
	f := newFixture(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	var seen []Progress
	var reqs []Request
	for i := range 10 {
		reqs = append(reqs, Request{Prompt: fmt.Sprintf("question %d", i%4)})
	}
	r := f.runner(t, Config{Now: now, ProgressEvery: 3, Progress: func(p Progress) { seen = append(seen, p) }})
	rep, err := r.Run(context.Background(), traffic(reqs...))
	if err != nil {
		t.Fatal(err)
	}
	// Every 3 requests, then once at the end.
	if len(seen) != 4 || seen[0].Done != 3 || seen[3].Done != 10 || seen[3].Fraction() != 1 || seen[3].CacheHits != 6 {
		t.Fatalf("progress %+v", seen)
	}
	if line := seen[3].Line(); !strings.Contains(line, "replay 10/10 (100%) · hit rate 60.0%") {
		t.Errorf("line %q", line)
	}
	if rep.RequestsPerSecond <= 0 || rep.ElapsedSeconds <= 0 {
		t.Errorf("speed %v req/s in %vs", rep.RequestsPerSecond, rep.ElapsedSeconds)
	}

	ctx, cancel := context.WithCancel(context.Background())
	f2 := newFixture(t)
	f2.exec.onCall = func(n int) {
		if n == 4 {
			cancel()
		}
	}
	rep, err = f2.runner(t, Config{}).Run(ctx, traffic(reqs...))
	if !errors.Is(err, context.Canceled) || rep.Requests != 4 {
		t.Errorf("cancel: err %v, requests %d", err, rep.Requests)
	}
}

// TestRunGCPercent: the collector's target is GCPercent while Run runs
// (seen from the progress callback, on Run's goroutine) and the previous
// one again after it; GCPercent 0 leaves it alone.
func TestRunGCPercent(t *testing.T) {
	f := newFixture(t)
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	before := debug.SetGCPercent(123)
	defer debug.SetGCPercent(before)
	for _, c := range []struct{ set, want int }{{BatchGCPercent, BatchGCPercent}, {0, 123}} {
		var during []int
		r := f.runner(t, Config{GCPercent: c.set, Progress: func(Progress) { during = append(during, gcPercent()) }})
		if _, err := r.Run(context.Background(), traffic(Request{Prompt: "a"}, Request{Prompt: "b"})); err != nil {
			t.Fatal(err)
		}
		if len(during) == 0 || during[0] != c.want || during[len(during)-1] != c.want {
			t.Errorf("GCPercent %d: %v during Run, want %d", c.set, during, c.want)
		}
		if got := gcPercent(); got != 123 {
			t.Errorf("GCPercent %d: %d after Run, want 123 restored", c.set, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Catalog: f.cat, Tokens: f.reg}, "baseline"},
		{Config{Baseline: "gpt-99", Catalog: f.cat, Tokens: f.reg}, "not in the price catalog"},
		{Config{Baseline: "gpt-4o", CompletionTokens: -1, Catalog: f.cat, Tokens: f.reg}, "completion_tokens"},
		{Config{Baseline: "gpt-4o", RequestsPerDay: -1, Catalog: f.cat, Tokens: f.reg}, "requests_per_day"},
		{Config{Baseline: "gpt-4o", Tokens: f.reg}, "catalog"},
		{Config{Baseline: "gpt-4o", Catalog: f.cat}, "token registry"},
		{Config{Baseline: "gpt-4o", GCPercent: -1, Catalog: f.cat, Tokens: f.reg}, "gc_percent"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := NewRunner(nil, f.exec, Config{Baseline: "gpt-4o", Catalog: f.cat, Tokens: f.reg}); err == nil {
		t.Error("nil planner accepted")
	}
}

func TestReportJSONAndText(t *testing.T) {
	f := newFixture(t)
	tr, err := Parse(strings.NewReader("What is 2+2?\nWhat is 2+2?\nbad \x00 line\nprove it\n"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.runner(t, Config{RequestsPerDay: 50000}).Run(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// The fields ARCHITECTURE.md promises for `penny replay --json`.
	for _, k := range []string{"requests", "baseline_usd", "optimized_usd", "savings_pct", "cache_hit_rate", "strategies", "requests_per_second"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if s := m["strategies"].([]any)[0].(map[string]any); s["name"] != "cache" || s["savings_usd"] == nil {
		t.Errorf("strategies[0] = %v", s)
	}
	if m["skipped"].(float64) != 1 || m["format"] != "text" {
		t.Errorf("skipped/format: %v %v", m["skipped"], m["format"])
	}
	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	out := txt.String()
	for _, want := range []string{
		"Replayed 3 requests (text, 1 malformed lines skipped)",
		"Cache hit rate", "Savings by strategy", "  cache ", "  routing ", "  compression ", "  total ",
		"By answering model", "Per month at 50,000 requests/day (30 days)",
		"Skipped line 3: prompt: prompt is not text: contains NUL bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q", n, got)
		}
	}
}

type fakeSend struct {
	opt send.Options
	out send.Outcome
	err error
}

func (f *fakeSend) Send(_ context.Context, _ plan.Plan, opt send.Options, _ func(string)) (send.Outcome, error) {
	f.opt = opt
	return f.out, f.err
}

func TestSendExecutor(t *testing.T) {
	fs := &fakeSend{}
	fs.out.Cache.Outcome, fs.out.Route.Model, fs.out.Cost.ActualNanos = cache.Miss, "gpt-4o-mini", 1234
	e := SendExecutor{Sender: fs}
	call := Call{Request: Request{User: "ana"}, Options: plan.Options{Scope: cache.Scope{System: "be brief"}}}
	res, err := e.Execute(context.Background(), call)
	if err != nil || res != (Result{Model: "gpt-4o-mini", Actual: 1234}) {
		t.Fatalf("miss: %+v %v", res, err)
	}
	if fs.opt.Tag != TagReplay || fs.opt.User != "ana" || fs.opt.Scope.System != "be brief" {
		t.Errorf("options %+v", fs.opt)
	}
	fs.out.Cache.Outcome, fs.out.Cost.ActualNanos = cache.SemanticHit, 0
	if res, _ := e.Execute(context.Background(), call); !res.FromCache || res.Model != "cache" {
		t.Errorf("hit: %+v", res)
	}
	fs.err = send.ErrNotRecorded
	if _, err := e.Execute(context.Background(), call); !errors.Is(err, send.ErrNotRecorded) {
		t.Errorf("not recorded: %v", err)
	}
}

// flushLog records Flush calls and the context they got.
type flushLog struct {
	calls     int
	cancelled bool
	err       error
}

func (f *flushLog) Flush(ctx context.Context) error {
	f.calls++
	f.cancelled = ctx.Err() != nil
	return f.err
}

// Run flushes a buffering executor once at the end, with a live context
// even when the replay was cancelled, and a failed flush fails the run.
func TestRunFlushesTheLedgerAtTheEnd(t *testing.T) {
	f := newFixture(t)
	fl := &flushLog{}
	e := SendExecutor{Sender: &fakeSend{out: send.Outcome{Cache: send.CacheInfo{Outcome: cache.Miss}}}, Ledger: fl}
	r, err := NewRunner(f.planner, e, Config{Baseline: "gpt-4o", Catalog: f.cat, Tokens: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	reqs := traffic(Request{Prompt: "one"}, Request{Prompt: "two"}, Request{Prompt: "three"})
	if _, err := r.Run(context.Background(), reqs); err != nil || fl.calls != 1 {
		t.Fatalf("err %v, %d flushes; want nil and 1", err, fl.calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fl.calls = 0
	if _, err := r.Run(ctx, reqs); !errors.Is(err, context.Canceled) || fl.calls != 1 || fl.cancelled {
		t.Fatalf("cancelled run: err %v, %d flushes, flush context cancelled %v", err, fl.calls, fl.cancelled)
	}
	fl.err = errors.New("disk full")
	rep, err := r.Run(context.Background(), reqs)
	if !errors.Is(err, fl.err) || rep.Requests != 3 {
		t.Fatalf("failed flush: err %v, report of %d requests", err, rep.Requests)
	}
	if err := (SendExecutor{}).Flush(context.Background()); err != nil {
		t.Fatalf("executor without a buffered ledger: %v", err)
	}
}
