package replay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"runtime/debug"
	"sort"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
)

// Planner computes the plan for one prompt; *plan.Planner satisfies it.
type Planner interface {
	Plan(ctx context.Context, prompt string, opts plan.Options) (plan.Plan, error)
}

// Result is what executing one plan did.
type Result struct {
	Model     string      // the model that answered; "cache" when penny's cache did
	FromCache bool        // served from penny's cache at zero model cost
	Actual    money.Nanos // the request's cost as the provider's reported usage prices it
}

// Call is one planned request handed to the Executor.
type Call struct {
	Request Request      // as recorded: user and time for the ledger
	Options plan.Options // what the plan was computed with (baseline, scope, completion length)
	Plan    plan.Plan
}

// Executor sends one planned request: on a cache hit it serves the cached
// answer, otherwise it calls the routed model (the simulated provider in a
// replay), stores the answer in the cache — so later requests can hit it —
// and writes the ledger under a replay tag. main wires it to core/send.
type Executor interface {
	Execute(ctx context.Context, c Call) (Result, error)
}

// Config is how a replay runs.
type Config struct {
	// Baseline is the model a request without "model" was sent to.
	Baseline string
	// CompletionTokens is the completion length assumed for requests that
	// do not record one (both baseline and optimized use the same length,
	// so the comparison is like for like).
	CompletionTokens int
	// RequestsPerDay scales the monthly projection; 0 = the number of
	// requests replayed (the file is taken to be one day of traffic).
	RequestsPerDay int64
	// Scope is the cache scope every request starts from; a request's
	// System replaces Scope.System.
	Scope cache.Scope

	Catalog *pricing.Catalog // prices the counterfactuals of the attribution
	Tokens  *tokens.Registry // counts the prompt for the routed model

	// Progress, when set, is called from Run's goroutine every
	// ProgressEvery requests and once at the end.
	Progress      func(Progress)
	ProgressEvery int              // 0 = every 1% of the traffic
	Now           func() time.Time // nil = time.Now; tests fix it

	// Planners is how many goroutines plan requests ahead of their turn
	// when the Planner is a Speculator (the report is the same either
	// way): 0 = one per CPU up to 4, none on a single CPU; negative =
	// none, each request is planned in its turn.
	Planners int
	// Lead is how many plans each planning goroutine may hold ready
	// beyond the one being handed over: 0 = DefaultLead, negative = none.
	Lead int

	// GCPercent, when positive, is the garbage collector's target
	// (debug.SetGCPercent) while Run runs; the previous one is restored
	// after. The setting is process-wide: only a replay that has the
	// process to itself (the `penny replay` command) should set it.
	// BatchGCPercent is the value for that case.
	GCPercent int
}

// BatchGCPercent is Config.GCPercent for a replay that has the process to
// itself. A replay allocates steadily (analyses, plans, ledger rows) over
// a live heap that only grows, so at the default target (100) the
// collector marks that heap again and again: its mark workers took 11% of
// BenchmarkReplayShort/10k's CPU, 6% at 400. 200 costs as little CPU as
// 400 at 100k entries (696 vs 705 cpu-µs/request) for a peak of about
// three times the live heap instead of five (2.1 vs 3.4 GB resident). A
// GOMEMLIMIT in the environment still caps the heap.
const BatchGCPercent = 200

// Validate names the offending field.
func (c Config) Validate() error {
	switch {
	case c.Baseline == "":
		return errors.New("replay: baseline model is required")
	case c.CompletionTokens < 0:
		return fmt.Errorf("replay: completion_tokens: must not be negative (%d)", c.CompletionTokens)
	case c.RequestsPerDay < 0:
		return fmt.Errorf("replay: requests_per_day: must not be negative (%d)", c.RequestsPerDay)
	case c.Catalog == nil:
		return errors.New("replay: a price catalog is required")
	case c.Tokens == nil:
		return errors.New("replay: a token registry is required")
	case c.ProgressEvery < 0:
		return fmt.Errorf("replay: progress_every: must not be negative (%d)", c.ProgressEvery)
	case c.GCPercent < 0:
		return fmt.Errorf("replay: gc_percent: must not be negative (%d)", c.GCPercent)
	}
	if _, ok := c.Catalog.Lookup(c.Baseline); !ok {
		return fmt.Errorf("replay: baseline model %q is not in the price catalog", c.Baseline)
	}
	return nil
}

// Progress is a snapshot of a running replay.
type Progress struct {
	Done      int // requests processed, failed ones included
	Total     int
	Failed    int
	CacheHits int
	Baseline  money.Nanos
	Optimized money.Nanos
	Elapsed   time.Duration
}

// Fraction is Done/Total in 0..1, for a progress bar.
func (p Progress) Fraction() float64 {
	if p.Total == 0 {
		return 1
	}
	return float64(p.Done) / float64(p.Total)
}

// Line is a one-line progress message for output that is not a terminal.
func (p Progress) Line() string {
	hit := 0.0
	if ok := p.Done - p.Failed; ok > 0 {
		hit = 100 * float64(p.CacheHits) / float64(ok)
	}
	rps := 0.0
	if p.Elapsed > 0 {
		rps = float64(p.Done) / p.Elapsed.Seconds()
	}
	return fmt.Sprintf("replay %s/%s (%.0f%%) · hit rate %.1f%% · saved %s of %s · %s req/s",
		commas(int64(p.Done)), commas(int64(p.Total)), 100*p.Fraction(), hit,
		p.Baseline-p.Optimized, p.Baseline, commas(int64(rps+0.5)))
}

// Runner replays traffic through a Planner and an Executor.
type Runner struct {
	planner Planner
	exec    Executor
	cfg     Config

	ahead, replanned int // plans made ahead by the last Run, and those made again in turn
}

// PlannedAhead reports how many plans the last Run made ahead of their
// turn and how many of those it had to make again (the cache had changed
// in their scope meanwhile).
func (r *Runner) PlannedAhead() (ahead, replanned int) { return r.ahead, r.replanned }

// NewRunner checks the configuration.
func NewRunner(p Planner, e Executor, cfg Config) (*Runner, error) {
	if p == nil || e == nil {
		return nil, errors.New("replay: a planner and an executor are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Runner{planner: p, exec: e, cfg: cfg}, nil
}

// attribution is one request's savings split. The strategies are applied in
// the order of ARCHITECTURE.md's scenario arithmetic — cache, then routing,
// then compression — and each gets the difference it makes on top of the
// ones before, so the parts add up exactly to baseline − optimized:
//
//	served from cache:  cache = B − 0
//	otherwise:          routing = B − R,  compression = R − O
//
// B is the baseline model with the original prompt, R the routed model
// with the original prompt, O the routed model with the compressed prompt
// (the plan's optimized cost), all with the same completion length. A
// strategy that made a request dearer (a router choosing a pricier model)
// shows a negative share instead of being hidden.
type attribution struct {
	baseline, optimized, actual money.Nanos
	cache, routing, compression money.Nanos
	model                       string
	hit                         bool
	outcome                     cache.Outcome
}

func (r *Runner) attribute(req Request, pl plan.Plan, res Result) (attribution, error) {
	a := attribution{baseline: money.Nanos(pl.Cost.BaselineNanos), outcome: pl.Cache.Outcome}
	planHit := a.outcome == cache.ExactHit || a.outcome == cache.SemanticHit
	if res.FromCache {
		a.hit, a.model = true, "cache"
		if !planHit {
			a.outcome = cache.ExactHit // filled between plan and send: counted as the executor saw it
		}
		a.cache = a.baseline
		return a, nil
	}
	a.model = pl.Route.Model
	if res.Model != "" && res.Model != "cache" {
		a.model = res.Model
	}
	// The plan holds O unless it expected a hit the executor then missed
	// (an entry evicted in between); pricing again is needed only then,
	// and for R when compression changed the text. Both are rare enough
	// that the common path does no big.Rat arithmetic.
	var routed pricing.Model
	price := func(promptTokens int) (money.Nanos, error) {
		if routed.ID == "" {
			m, ok := r.cfg.Catalog.Lookup(pl.Route.Model)
			if !ok {
				return 0, fmt.Errorf("%w: routed model %q", plan.ErrUnknownModel, pl.Route.Model)
			}
			routed = m
		}
		return cost.Request(routed, cost.Usage{PromptTokens: int64(promptTokens + pl.Input.OverheadTokens),
			CompletionTokens: int64(pl.Cost.CompletionTokensAssumed)}), nil
	}
	o := money.Nanos(pl.Cost.OptimizedNanos)
	if planHit {
		var err error
		if o, err = price(pl.Cost.OptimizedPromptTokens); err != nil {
			return a, err
		}
	}
	rr := o
	if pl.Compression.Text != "" && pl.Compression.Text != req.Prompt {
		orig := pl.Input.Tokens // the baseline's count serves when the routed model is the baseline
		if pl.Route.Model != pl.Input.Model {
			orig = r.cfg.Tokens.ForModel(pl.Route.Model).Count(req.Prompt).Tokens
		}
		var err error
		if rr, err = price(orig); err != nil {
			return a, err
		}
	}
	a.optimized = o
	a.routing = a.baseline - rr
	a.compression = rr - o
	return a, nil
}

// Run replays t in order, one request at a time: request i sees the cache
// as requests before it left it, which is what a day of real traffic
// would have found, and the report is deterministic. Requests that fail to
// plan or execute are counted by reason and the replay goes on; when ctx
// ends Run returns the report so far and ctx's error.
//
// With a Speculator planner, requests are planned ahead on other
// goroutines (Config.Planners) while earlier ones execute — planning is
// most of the work, executing little — and a plan the cache has made
// stale meanwhile is made again in turn, so the report is the same.
func (r *Runner) Run(ctx context.Context, t *Traffic) (Report, error) {
	if r.cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(r.cfg.GCPercent))
	}
	rep := Report{Format: t.Format.String(), Skipped: t.Skipped}
	for _, s := range t.Skips {
		rep.SkippedLines = append(rep.SkippedLines, s.Error())
	}
	total := len(t.Requests)
	every := r.cfg.ProgressEvery
	if every == 0 {
		every = max(1, total/100)
	}
	agg := newAggregate()
	start := r.cfg.Now()
	prog := Progress{Total: total}
	report := func() {
		if r.cfg.Progress != nil {
			prog.Elapsed = r.cfg.Now().Sub(start)
			r.cfg.Progress(prog)
		}
	}
	var runErr error
	r.ahead, r.replanned = 0, 0
	planOf := func(i int) (plan.Plan, error) {
		req := &t.Requests[i]
		return r.planner.Plan(ctx, req.Prompt, r.options(req))
	}
	if n := r.planners(); n > 0 && len(t.Requests) > 1 {
		sp := r.planner.(Speculator)
		next, stop := r.planAhead(ctx, sp, t.Requests, n)
		defer stop()
		planOf = func(i int) (plan.Plan, error) {
			p := next(i)
			r.ahead++
			if p.err == nil && p.still() {
				return p.pl, nil
			}
			r.replanned++
			req := &t.Requests[i]
			if p.err == nil {
				// Only the cache changed: compression and routing stand.
				return sp.Relookup(ctx, p.pl, r.options(req))
			}
			return r.planner.Plan(ctx, req.Prompt, r.options(req))
		}
	}
	for i := range t.Requests {
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		req := &t.Requests[i]
		pl, err := planOf(i)
		var a attribution
		stage := "plan"
		if err == nil {
			a, stage, err = r.one(ctx, req, pl)
		}
		prog.Done++
		if err != nil {
			if ctx.Err() != nil {
				prog.Done--
				runErr = ctx.Err()
				break
			}
			prog.Failed++
			agg.fail(stage, req.Line, err)
		} else {
			agg.add(a)
			prog.Baseline += a.baseline
			prog.Optimized += a.optimized
			if a.hit {
				prog.CacheHits++
			}
		}
		if prog.Done%every == 0 && prog.Done < total {
			report()
		}
	}
	if f, ok := r.exec.(Flusher); ok {
		// Detached: a cancelled replay still records what it did.
		if err := f.Flush(context.WithoutCancel(ctx)); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("replay: %w", err))
		}
	}
	elapsed := r.cfg.Now().Sub(start)
	report()
	rpd := r.cfg.RequestsPerDay
	if rpd == 0 {
		rpd = int64(agg.requests)
	}
	agg.fill(&rep, rpd, prog.Done, elapsed)
	return rep, runErr
}

// options are the plan options of req.
func (r *Runner) options(req *Request) plan.Options {
	opts := plan.Options{
		Baseline:         req.Model,
		CompletionTokens: req.CompletionTokens,
		RequestsPerDay:   r.cfg.RequestsPerDay,
		Scope:            r.cfg.Scope,
	}
	if opts.Baseline == "" {
		opts.Baseline = r.cfg.Baseline
	}
	if opts.CompletionTokens == 0 {
		opts.CompletionTokens = r.cfg.CompletionTokens
	}
	if req.System != "" {
		opts.Scope.System = req.System
	}
	return opts
}

// one executes one planned request; stage names where it failed.
func (r *Runner) one(ctx context.Context, req *Request, pl plan.Plan) (attribution, string, error) {
	res, err := r.exec.Execute(ctx, Call{Request: *req, Options: r.options(req), Plan: pl})
	if err != nil {
		return attribution{}, "execute", err
	}
	a, err := r.attribute(*req, pl, res)
	if err != nil {
		return attribution{}, "attribute", err
	}
	a.actual = res.Actual
	return a, "", nil
}

// aggregate sums attributions; everything stays in integer nanos until the
// report is filled.
type aggregate struct {
	requests                    int
	baseline, optimized, actual money.Nanos
	cache, routing, compression money.Nanos
	hits, exact, semantic       int
	strategyRequests            map[string]int
	models                      map[string]*ModelRow
	modelNanos                  map[string][2]money.Nanos
	failures                    map[string]*Failure
	failOrder                   []string
}

func newAggregate() *aggregate {
	return &aggregate{strategyRequests: map[string]int{}, models: map[string]*ModelRow{},
		modelNanos: map[string][2]money.Nanos{}, failures: map[string]*Failure{}}
}

func (g *aggregate) add(a attribution) {
	g.requests++
	g.baseline += a.baseline
	g.optimized += a.optimized
	g.actual += a.actual
	g.cache += a.cache
	g.routing += a.routing
	g.compression += a.compression
	if a.hit {
		g.hits++
		g.strategyRequests["cache"]++
		if a.outcome == cache.SemanticHit {
			g.semantic++
		} else {
			g.exact++
		}
	}
	if a.routing != 0 {
		g.strategyRequests["routing"]++
	}
	if a.compression != 0 {
		g.strategyRequests["compression"]++
	}
	m := g.models[a.model]
	if m == nil {
		m = &ModelRow{Model: a.model}
		g.models[a.model] = m
	}
	m.Requests++
	n := g.modelNanos[a.model]
	n[0] += a.baseline
	n[1] += a.optimized
	g.modelNanos[a.model] = n
}

// fail counts a failed request under a reason short enough to group: the
// sentinel it wraps when it has one, else its message.
func (g *aggregate) fail(stage string, line int, err error) {
	reason := err.Error()
	for _, s := range []error{plan.ErrEmpty, plan.ErrTooLarge, plan.ErrBinary, plan.ErrUnknownModel} {
		if errors.Is(err, s) {
			reason = s.Error()
			break
		}
	}
	if len(reason) > 120 {
		reason = reason[:117] + "..."
	}
	k := stage + "\x00" + reason
	f := g.failures[k]
	if f == nil {
		f = &Failure{Stage: stage, Reason: reason, FirstLine: line, Example: err.Error()}
		g.failures[k] = f
		g.failOrder = append(g.failOrder, k)
	}
	f.Count++
}

func (g *aggregate) fill(rep *Report, rpd int64, done int, elapsed time.Duration) {
	rep.Requests = g.requests
	rep.BaselineNanos, rep.OptimizedNanos, rep.ActualNanos = int64(g.baseline), int64(g.optimized), int64(g.actual)
	rep.BaselineUSD, rep.OptimizedUSD, rep.ActualUSD = g.baseline.USD(), g.optimized.USD(), g.actual.USD()
	rep.SavingsUSD = (g.baseline - g.optimized).USD()
	rep.SavingsPct = pct(g.baseline-g.optimized, g.baseline)
	if g.requests > 0 {
		rep.CacheHitRate = float64(g.hits) / float64(g.requests)
	}
	rep.CacheHits, rep.ExactHits, rep.SemanticHits = g.hits, g.exact, g.semantic
	for _, s := range []struct {
		name string
		n    money.Nanos
	}{{"cache", g.cache}, {"routing", g.routing}, {"compression", g.compression}} {
		rep.Strategies = append(rep.Strategies, Strategy{
			Name: s.name, SavingsUSD: s.n.USD(), SavingsNanos: int64(s.n),
			SharePct: pct(s.n, g.baseline-g.optimized), Requests: g.strategyRequests[s.name],
		})
	}
	for name, m := range g.models {
		n := g.modelNanos[name]
		m.BaselineUSD, m.OptimizedUSD = n[0].USD(), n[1].USD()
		m.BaselineNanos, m.OptimizedNanos = int64(n[0]), int64(n[1])
		rep.ByModel = append(rep.ByModel, *m)
	}
	sort.Slice(rep.ByModel, func(i, j int) bool {
		a, b := rep.ByModel[i], rep.ByModel[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		return a.Model < b.Model
	})
	for _, k := range g.failOrder {
		f := g.failures[k]
		rep.Failed += f.Count
		rep.Failures = append(rep.Failures, *f)
	}
	rep.PerMonth = project(g.baseline, g.optimized, g.requests, rpd)
	rep.ElapsedSeconds = elapsed.Seconds()
	if elapsed > 0 {
		rep.RequestsPerSecond = float64(done) / elapsed.Seconds()
	}
}

// project scales the per-request averages to a 30-day month at rpd
// requests per day, exactly (one rounding per figure).
func project(baseline, optimized money.Nanos, n int, rpd int64) Projection {
	p := Projection{RequestsPerDay: rpd, Days: cost.DaysPerMonth}
	if n == 0 {
		return p
	}
	avg := func(total money.Nanos) *big.Rat {
		return new(big.Rat).Quo(total.Rat(), new(big.Rat).SetInt64(int64(n)))
	}
	b, o := cost.PerMonth(avg(baseline), rpd), cost.PerMonth(avg(optimized), rpd)
	p.BaselineUSD, p.OptimizedUSD, p.SavingsUSD = b.USD(), o.USD(), (b - o).USD()
	p.BaselineNanos, p.OptimizedNanos = int64(b), int64(o)
	return p
}

func pct(part, whole money.Nanos) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
