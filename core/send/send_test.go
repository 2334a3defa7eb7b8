package send

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/batch"
	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/tokens"
)

// --- fakes -----------------------------------------------------------------

type trimCompressor struct{}

func (trimCompressor) Compress(_ context.Context, text string, c tokens.Counter) (compress.Result, error) {
	before := c.Count(text).Tokens
	out := strings.Join(strings.Fields(text), " ")
	return compress.Result{Text: out, Tokens: c.Count(out).Tokens, TokensBefore: before}, nil
}

type fixedRouter struct{ model, tier string }

func (r fixedRouter) Route(context.Context, route.Request) (route.Decision, error) {
	return route.Decision{Model: r.model, Tier: r.tier}, nil
}

// memCache is an exact-match cache keyed by prompt and scope.
type memCache struct {
	mu      sync.Mutex
	entries map[string]string
	gone    bool // Serve reports expiry, as if the entry died between plan and send
	serves  int
	puts    []cache.Request
}

func key(r cache.Request) string { return r.Prompt + "\x00" + Fingerprint(r.Scope) }

func (c *memCache) Lookup(_ context.Context, r cache.Request) (cache.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.entries[key(r)]; ok {
		return cache.Result{Outcome: cache.ExactHit, Response: v, EntryID: 42, Similarity: 1}, nil
	}
	return cache.Result{Outcome: cache.Miss, Reason: cache.ReasonEmpty}, nil
}

func (c *memCache) Serve(ctx context.Context, r cache.Request, _ cache.Result) (cache.Result, error) {
	c.mu.Lock()
	c.serves++
	gone := c.gone
	c.mu.Unlock()
	if gone {
		return cache.Result{Outcome: cache.Miss, Reason: cache.ReasonExpired}, nil
	}
	return c.Lookup(ctx, r)
}

func (c *memCache) Put(_ context.Context, r cache.Request, resp string, _ cache.Meta) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key(r)] = resp
	c.puts = append(c.puts, r)
	return nil
}

type fakeProvider struct {
	mu      sync.Mutex
	calls   []llm.Request
	reply   func(req llm.Request) (llm.Response, error)
	advance func() // moves the fake clock, as a slow call would
}

func (p *fakeProvider) Name() string { return "fake" }

func (p *fakeProvider) Chat(ctx context.Context, req llm.Request, onDelta func(string)) (llm.Response, error) {
	p.mu.Lock()
	p.calls = append(p.calls, req)
	p.mu.Unlock()
	if p.advance != nil {
		p.advance()
	}
	resp, err := p.reply(req)
	if err == nil && onDelta != nil {
		onDelta(resp.Text)
	}
	return resp, err
}

func (p *fakeProvider) n() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

type memLedger struct {
	mu         sync.Mutex
	recs       []ledger.Record
	fail       error // every write fails
	failUpdate error // only updates fail
}

func (l *memLedger) Append(ctx context.Context, r ledger.Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // a real store fails on a dead context too
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return 0, l.fail
	}
	r.ID = int64(len(l.recs) + 1)
	l.recs = append(l.recs, r)
	return r.ID, nil
}

func (l *memLedger) Update(ctx context.Context, r ledger.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if l.failUpdate != nil {
		return l.failUpdate
	}
	for i := range l.recs {
		if l.recs[i].ID == r.ID {
			l.recs[i] = r
			return nil
		}
	}
	return fmt.Errorf("no record %d", r.ID)
}

func (l *memLedger) Scan(_ context.Context, f ledger.Filter, fn func(ledger.Record) error) error {
	l.mu.Lock()
	recs := append([]ledger.Record(nil), l.recs...)
	l.mu.Unlock()
	for _, r := range recs {
		if f.Match(r) {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// --- harness ---------------------------------------------------------------

type env struct {
	t       testing.TB
	cat     *pricing.Catalog
	tok     *tokens.Registry
	planner *plan.Planner
	cache   *memCache
	prov    *fakeProvider
	ledger  *memLedger
	clock   *clock
	deps    Deps
	scope   cache.Scope
}

// sharedTokens loads the BPE tables once for the whole test binary: they
// take about a second to build under -race.
var sharedTokens = sync.OnceValue(tokens.NewRegistry)

func newEnv(t testing.TB, routed string) *env {
	t.Helper()
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cat: cat, tok: sharedTokens(), cache: &memCache{entries: map[string]string{}},
		ledger: &memLedger{}, clock: &clock{}, scope: cache.Scope{Temperature: 0, Tenant: "ann"}}
	e.clock.ns.Store(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC).UnixNano())
	e.planner = &plan.Planner{Tokens: e.tok, Catalog: cat, Compressor: trimCompressor{}, Cache: e.cache,
		Router: fixedRouter{model: routed, tier: "weak"}}
	e.prov = &fakeProvider{
		advance: func() { e.clock.Add(250 * time.Millisecond) },
		reply: func(req llm.Request) (llm.Response, error) {
			return llm.Response{Text: "Paris is the capital of France.", Model: req.Model + "-2024-07-18", Provider: "fake",
				Usage: llm.Usage{PromptTokens: 30, CompletionTokens: 8, CachedPromptTokens: 0}, UsageKnown: true, FinishReason: "stop"}, nil
		},
	}
	e.deps = Deps{Catalog: cat, Tokens: e.tok, Ledger: e.ledger, Cache: e.cache, Clock: e.clock.Now,
		Providers: ProviderFunc(func(string) (llm.Provider, error) { return e.prov, nil })}
	return e
}

func (e *env) sender() *Sender {
	s, err := New(DefaultConfig(), e.deps)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) plan(prompt string) plan.Plan {
	pl, err := e.planner.Plan(context.Background(), prompt, plan.Options{Baseline: "gpt-4o", CompletionTokens: 400,
		RequestsPerDay: 1000, Scope: e.scope})
	if err != nil {
		e.t.Fatal(err)
	}
	return pl
}

const prompt = "What   is the capital of   France?"

// --- tests -----------------------------------------------------------------

func TestMissCallsRoutedModelAndRecordsEverything(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	b, err := budget.New(budget.Config{DailyUSD: 1, ReservationTTL: time.Minute}, budget.NewMemStore(), budget.Options{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.deps.Budget = b
	pl := e.plan(prompt)
	var streamed strings.Builder
	out, err := e.sender().Send(context.Background(), pl, Options{Scope: e.scope, User: "ann", Tag: "cli"},
		func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	if e.prov.n() != 1 {
		t.Fatalf("%d calls", e.prov.n())
	}
	req := e.prov.calls[0]
	m, _ := e.cat.Lookup("gpt-4o-mini")
	if req.Model != "gpt-4o-mini" || len(req.Messages) != 1 || req.Messages[0].Content != "What is the capital of France?" {
		t.Errorf("request %+v: must carry the routed model and the compressed prompt", req)
	}
	if req.MaxTokens != m.MaxOutput {
		t.Errorf("max_tokens %d: the cap held for (%d) must be sent", req.MaxTokens, m.MaxOutput)
	}
	wantActual := cost.Request(m, cost.Usage{PromptTokens: 30, CompletionTokens: 8})
	// The baseline is re-priced with the real answer's length (in the
	// baseline model's tokens), not the assumed completion.
	base, _ := e.cat.Lookup("gpt-4o")
	baseCounter := tokens.NewRegistry().ForModel("gpt-4o")
	wantBase := cost.Request(base, cost.Usage{PromptTokens: int64(pl.Input.Tokens + pl.Input.OverheadTokens),
		CompletionTokens: int64(baseCounter.Count(out.Response.Text).Tokens)})
	if out.Cost.ActualNanos != wantActual || out.Cost.ProjectedNanos != money.Nanos(pl.Cost.OptimizedNanos) ||
		out.Cost.BaselineNanos != wantBase {
		t.Errorf("cost %+v, want actual %d, baseline %d", out.Cost, wantActual, wantBase)
	}
	wantHold := cost.Request(m, cost.Usage{PromptTokens: int64(pl.Cost.OptimizedPromptTokens + pl.Input.OverheadTokens),
		CompletionTokens: int64(m.MaxOutput)})
	if out.Cost.ReservedNanos != wantHold || out.Cost.ReservedNanos < out.Cost.ActualNanos {
		t.Errorf("reserved %d, want %d (≥ actual %d)", out.Cost.ReservedNanos, wantHold, out.Cost.ActualNanos)
	}
	if out.LatencyMS != 250 || streamed.String() != out.Response.Text || out.Response.Provider != "fake" || out.Simulated {
		t.Errorf("outcome %+v (streamed %q)", out, streamed.String())
	}
	if !out.Cache.Filled || len(e.cache.puts) != 1 || e.cache.puts[0].Prompt != prompt || e.cache.puts[0].Scope.Model != "gpt-4o-mini" {
		t.Errorf("cache fill %+v / %+v", out.Cache, e.cache.puts)
	}
	lines, _ := b.Status(context.Background())
	if lines[0].Spent != wantActual || lines[0].Reserved != 0 {
		t.Errorf("budget after settle %+v", lines[0])
	}
	if len(e.ledger.recs) != 1 {
		t.Fatalf("%d ledger records", len(e.ledger.recs))
	}
	if saved := e.ledger.recs[0].Saved; saved.Total() != wantBase-wantActual || saved.Cache != 0 || saved.Discount != 0 {
		t.Errorf("saved %+v, want a split of %d", saved, wantBase-wantActual)
	}
	r := e.ledger.recs[0]
	if r.ActualNanos != wantActual || r.ProjectedNanos != out.Cost.ProjectedNanos || r.PromptTokens != 30 || r.CompletionTokens != 8 ||
		r.ProjectedCompletionTokens != 400 || r.Model != "gpt-4o-mini" || r.ResponseModel != "gpt-4o-mini-2024-07-18" ||
		r.BaselineModel != "gpt-4o" || r.Provider != "fake" || r.CacheOutcome != "miss" || r.User != "ann" || r.Tag != "cli" ||
		r.LatencyMS != 250 || r.Status != ledger.StatusOK || r.Scope == "" || !r.UsageKnown || r.ReservedNanos != wantHold ||
		out.LedgerID != 1 || !r.Time.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("ledger record %+v", r)
	}

	// The JSON contract of `penny send --json`.
	var j map[string]any
	raw, _ := json.Marshal(out)
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"response.text", "usage.prompt_tokens", "usage.completion_tokens", "cost.projected_usd",
		"cost.actual_usd", "cache.outcome", "route.model", "latency_ms", "simulated"} {
		var cur any = j
		for _, p := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[p]
		}
		if cur == nil {
			t.Errorf("JSON lacks %s: %s", path, raw)
		}
	}
}

func TestHitCostsNothingAndCallsNothing(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	s := e.sender()
	if _, err := s.Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil); err != nil {
		t.Fatal(err)
	}
	pl := e.plan(prompt) // now a hit
	if pl.Cache.Outcome != cache.ExactHit {
		t.Fatalf("second plan %s", pl.Cache.Outcome)
	}
	var streamed string
	out, err := s.Send(context.Background(), pl, Options{Scope: e.scope}, func(d string) { streamed += d })
	if err != nil {
		t.Fatal(err)
	}
	if e.prov.n() != 1 {
		t.Fatalf("a hit called the provider: %d calls", e.prov.n())
	}
	if out.Cost.ActualNanos != 0 || out.Cost.ProjectedNanos != 0 || out.Cost.BaselineNanos == 0 || out.Cost.SavingsUSD <= 0 ||
		out.Cache.Outcome != cache.ExactHit || out.Cache.EntryID != 42 || out.Response.Text != "Paris is the capital of France." ||
		streamed != out.Response.Text || out.Usage.PromptTokens != 0 || out.LatencyMS != 0 || e.cache.serves != 1 {
		t.Errorf("hit outcome %+v", out)
	}
	r := e.ledger.recs[1]
	if r.CacheOutcome != "exact_hit" || r.ActualNanos != 0 || r.BaselineNanos == 0 || r.CacheEntryID != 42 || r.Provider != "" {
		t.Errorf("hit record %+v", r)
	}
	if r.Saved != (ledger.Saved{Cache: r.BaselineNanos}) {
		t.Errorf("a hit's saving belongs to the cache alone: %+v", r.Saved)
	}
}

func TestHitExpiredBeforeSendFallsBackToCall(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	s := e.sender()
	if _, err := s.Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil); err != nil {
		t.Fatal(err)
	}
	pl := e.plan(prompt)
	e.cache.gone = true
	out, err := s.Send(context.Background(), pl, Options{Scope: e.scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.prov.n() != 2 || out.Cache.Outcome != cache.Miss || out.Cache.Reason != cache.ReasonExpired || !out.Cache.Filled {
		t.Fatalf("expired hit: %d calls, %+v", e.prov.n(), out.Cache)
	}
	// The plan priced a hit at zero; the projection must price the call it became.
	if out.Cost.ProjectedNanos == 0 || e.ledger.recs[1].ProjectedNanos == 0 {
		t.Errorf("projection of a hit turned call is zero: %+v", out.Cost)
	}
}

func TestFailedCallReleasesHoldAndIsRecorded(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	store := budget.NewMemStore()
	b, _ := budget.New(budget.Config{DailyUSD: 1, ReservationTTL: time.Hour}, store, budget.Options{Clock: e.clock.Now})
	e.deps.Budget = b
	boom := errors.New("server error from fake (500)")
	e.prov.reply = func(llm.Request) (llm.Response, error) { return llm.Response{}, boom }
	out, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("error %v must wrap the provider's", err)
	}
	lines, _ := b.Status(context.Background())
	if lines[0].Reserved != 0 || lines[0].Spent != 0 {
		t.Errorf("hold not released: %+v", lines[0])
	}
	if len(e.ledger.recs) != 1 || e.ledger.recs[0].Status != ledger.StatusError || e.ledger.recs[0].Error != boom.Error() ||
		e.ledger.recs[0].ActualNanos != 0 || out.Cache.Filled || len(e.cache.puts) != 0 {
		t.Errorf("failure record %+v, outcome %+v", e.ledger.recs, out)
	}
}

func TestBudgetRefusalSendsNothing(t *testing.T) {
	e := newEnv(t, "gpt-4o")
	b, _ := budget.New(budget.Config{RequestUSD: 0.001}, nil, budget.Options{})
	e.deps.Budget = b
	_, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	var ex *budget.ExceededError
	if !errors.Is(err, budget.ErrBudgetExceeded) || !errors.As(err, &ex) || ex.Cap != budget.CapRequest {
		t.Fatalf("got %v", err)
	}
	if e.prov.n() != 0 {
		t.Fatal("a refused send called the provider")
	}
	if len(e.ledger.recs) != 1 || e.ledger.recs[0].Status != ledger.StatusRefused || !strings.Contains(e.ledger.recs[0].Error, "nothing was sent") {
		t.Errorf("refusal record %+v", e.ledger.recs)
	}
}

func TestUnreportedUsageIsCountedLocally(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.scope.System = "You are terse."
	e.prov.reply = func(req llm.Request) (llm.Response, error) {
		return llm.Response{Text: "Paris.", Model: req.Model, Simulated: true, FinishReason: "stop"}, nil
	}
	out, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.tok.ForModel("gpt-4o-mini")
	wantPrompt := int64(6 + c.Count("You are terse.").Tokens + c.Count("What is the capital of France?").Tokens + systemFraming)
	if out.Usage.Reported || out.Usage.PromptTokens != wantPrompt || out.Usage.CompletionTokens != int64(c.Count("Paris.").Tokens) ||
		!out.Simulated || out.Cost.ActualNanos == 0 {
		t.Errorf("usage %+v (want prompt %d)", out.Usage, wantPrompt)
	}
	if req := e.prov.calls[0]; len(req.Messages) != 2 || req.Messages[0].Role != "system" {
		t.Errorf("system prompt not sent: %+v", req.Messages)
	}
	if !e.ledger.recs[0].Simulated || e.ledger.recs[0].UsageKnown {
		t.Errorf("record %+v", e.ledger.recs[0])
	}
}

func TestTruncatedResponseIsNotCached(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.scope.MaxTokens = 5
	e.prov.reply = func(req llm.Request) (llm.Response, error) {
		if req.MaxTokens != 5 {
			t.Errorf("scope max_tokens not sent: %d", req.MaxTokens)
		}
		return llm.Response{Text: "Paris is the", Model: req.Model, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 5},
			UsageKnown: true, FinishReason: "length"}, nil
	}
	out, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Cache.Filled || len(e.cache.puts) != 0 || len(out.Warnings) == 0 {
		t.Errorf("a truncated answer was cached: %+v", out)
	}
}

func TestCancelledCallStillRecorded(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	ctx, cancel := context.WithCancel(context.Background())
	e.prov.reply = func(llm.Request) (llm.Response, error) { cancel(); return llm.Response{}, context.Canceled }
	_, err := e.sender().Send(ctx, e.plan(prompt), Options{Scope: e.scope}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(e.ledger.recs) != 1 || e.ledger.recs[0].Status != ledger.StatusError {
		t.Fatalf("a cancelled send left no record: %+v", e.ledger.recs)
	}
}

// A ledger that cannot be written before the call (a database locked by
// another process) refuses the send: no call is made, nothing is spent.
func TestLedgerUnavailableSendsNothing(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.ledger.fail = errors.New("database is locked")
	_, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	if err == nil || errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "nothing was sent") || e.prov.n() != 0 {
		t.Fatalf("got %v with %d calls", err, e.prov.n())
	}
}

// A ledger failing after the call returns the answer with ErrNotRecorded;
// the pending record written before the call stays as evidence.
func TestLedgerFailureAfterCallReturnsOutcomeAndErrNotRecorded(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.ledger.failUpdate = errors.New("disk full")
	out, err := e.sender().Send(context.Background(), e.plan(prompt), Options{Scope: e.scope}, nil)
	if !errors.Is(err, ErrNotRecorded) || out.Response.Text == "" {
		t.Fatalf("got %v / %+v", err, out)
	}
	if len(e.ledger.recs) != 1 || e.ledger.recs[0].Status != ledger.StatusPending {
		t.Fatalf("records %+v, want the pending one", e.ledger.recs)
	}
}

func TestSendThroughBatcher(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.prov.advance = nil
	bt, err := NewBatcher(context.Background(), batch.Config{MaxSize: 4, MaxWait: 5 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close(context.Background())
	e.deps.Batcher = bt
	s := e.sender()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p := strings.Repeat("x ", i+1) + prompt // distinct prompts: all misses
			out, err := s.Send(context.Background(), e.plan(p), Options{Scope: e.scope}, nil)
			if err != nil || !out.Batched || out.Response.Text == "" {
				t.Errorf("send %d: %v %+v", i, err, out)
			}
		})
	}
	wg.Wait()
	if e.prov.n() != 8 || len(e.ledger.recs) != 8 || bt.Stats().Items != 8 {
		t.Errorf("%d calls, %d records, stats %+v", e.prov.n(), len(e.ledger.recs), bt.Stats())
	}
}

func TestConcurrentSendsNeverExceedCap(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	e.prov.advance = nil
	e.scope.MaxTokens = 1000 // hold: ~15 prompt + 1000 completion tokens of gpt-4o-mini ≈ $0.0006
	b, _ := budget.New(budget.Config{DailyUSD: 0.02, ReservationTTL: time.Minute}, budget.NewMemStore(), budget.Options{Clock: e.clock.Now})
	e.deps.Budget = b
	e.deps.Cache = nil // every send is a call
	e.prov.reply = func(req llm.Request) (llm.Response, error) {
		time.Sleep(10 * time.Millisecond) // calls overlap, so holds pile up
		return llm.Response{Text: "long answer", Model: req.Model, UsageKnown: true,
			Usage: llm.Usage{PromptTokens: 20, CompletionTokens: req.MaxTokens}}, nil
	}
	s := e.sender()
	pl := e.plan(prompt)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := s.Send(context.Background(), pl, Options{Scope: e.scope}, nil)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, budget.ErrBudgetExceeded):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines, _ := b.Status(context.Background())
	if lines[0].Spent > money.FromUSD(0.02) || refused.Load() == 0 || ok.Load() == 0 || int(ok.Load()) != e.prov.n() {
		t.Fatalf("spent %s of $0.02: %d ok, %d refused, %d calls", lines[0].Spent, ok.Load(), refused.Load(), e.prov.n())
	}
}

func TestQuoteBatch(t *testing.T) {
	e := newEnv(t, "gpt-4o-mini")
	pl := e.plan(prompt)
	q, err := QuoteBatch(pl, e.cat)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Available || q.InteractiveNanos != money.Nanos(pl.Cost.OptimizedNanos) || q.BatchNanos*2 != q.InteractiveNanos ||
		q.SavingsPct != 50 || q.Turnaround != "24h" {
		t.Errorf("quote %+v (plan optimized %d)", q, pl.Cost.OptimizedNanos)
	}
	pl.Cache.Outcome = cache.ExactHit
	if q, _ := QuoteBatch(pl, e.cat); q.Available || q.BatchNanos != 0 {
		t.Errorf("hit quote %+v", q)
	}
}

func TestFingerprintSeparatesScopes(t *testing.T) {
	a := Fingerprint(cache.Scope{Model: "m", Tenant: "ann"})
	if a != Fingerprint(cache.Scope{Model: "m", Tenant: "ann"}) || a == Fingerprint(cache.Scope{Model: "m", Tenant: "bob"}) || len(a) != 16 {
		t.Fatal("fingerprint must be stable and scope-sensitive")
	}
}
